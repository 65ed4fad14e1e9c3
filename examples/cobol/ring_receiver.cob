      *================================================================*
      * RING-RECEIVER: a batch job that takes 80-byte order records   *
      * (orders.cpy) from a C++ producer through a ringdrop SPSC ring, *
      * reconciles them against the trailer, and lists them.           *
      *                                                                *
      * Run:   ring_receiver <ring-name>                               *
      *        (the producer creates the ring: RINGDROP_OPEN)          *
      * Input: detail records ('D'), then one trailer ('T') with the   *
      *        count and the amount total. Each receive waits at most  *
      *        5 s; the trailer ends the input.                        *
      * Output (stdout, one line per record, fixed columns, each field *
      *        as COBOL read it: numbers through numeric items):       *
      *   D|00000003|CARTWRIGHT & SONS             |-0000012.50|00001|20231107|R
      *   T|00000005|+00010001223.04|OK
      *        The trailer line says OK, or COUNT or TOTAL when it     *
      *        disagrees with the details.                             *
      * RETURN-CODE: 0 received and reconciled; 4 the trailer does not *
      *        match; 8 a ringdrop call failed (timeout, producer gone *
      *        before the trailer...) or a record is malformed; 12 no  *
      *        ring name given.                                        *
      *                                                                *
      * Compile: cobc -x -fstatic-call ring_receiver.cob -lringdrop    *
      *                                                                *
      * The receive call (README.md, "Pitfalls"): the buffer BY        *
      * REFERENCE, its capacity and the timeout BY VALUE SIZE IS 8,    *
      * the received size into a BINARY-DOUBLE BY REFERENCE.           *
      *================================================================*
       IDENTIFICATION DIVISION.
       PROGRAM-ID. RING-RECEIVER.

       DATA DIVISION.
       WORKING-STORAGE SECTION.
      *--- ringdrop.h constants, as C ints --------------------------*
       01  RD-CONSTANTS.
           05  RD-RING-SPSC          USAGE BINARY-LONG VALUE 1.
           05  RD-ROLE-CONSUMER      USAGE BINARY-LONG VALUE 2.
           05  RD-OPEN               USAGE BINARY-LONG VALUE 0.
      *--- arguments and results of the calls ----------------------*
       01  RD-RING                   USAGE POINTER VALUE NULL.
       01  RD-NO-OPTIONS             USAGE POINTER VALUE NULL.
       01  RD-CAPACITY               USAGE BINARY-DOUBLE UNSIGNED
                                     VALUE 80.
       01  RD-SIZE                   USAGE BINARY-DOUBLE UNSIGNED
                                     VALUE 0.
      *    5 seconds in nanoseconds: how long a receive waits.
       01  RD-RECV-TIMEOUT           USAGE BINARY-DOUBLE VALUE
                                     5000000000.
      *--- the ring name: a C string ------------------------------*
       01  WS-RING-ARG               PIC X(200) VALUE SPACES.
       01  WS-RING-NAME              PIC X(201) VALUE LOW-VALUES.
      *--- one received record ------------------------------------*
       01  REC-BUFFER                PIC X(80).
       01  WS-SIZE-EDIT              PIC Z(8)9.
       01  WS-DONE                   PIC X VALUE "N".
      *--- the listing: numbers as COBOL understood them ----------*
       01  OUT-DETAIL.
           05  FILLER                PIC XX VALUE "D|".
           05  OD-ORDER-ID           PIC 9(8).
           05  FILLER                PIC X VALUE "|".
           05  OD-CUSTOMER           PIC X(30).
           05  FILLER                PIC X VALUE "|".
           05  OD-AMOUNT             PIC +9(7).99.
           05  FILLER                PIC X VALUE "|".
           05  OD-QUANTITY           PIC 9(5).
           05  FILLER                PIC X VALUE "|".
           05  OD-ORDER-DATE         PIC 9(8).
           05  FILLER                PIC X VALUE "|".
           05  OD-STATUS             PIC X.
       01  OUT-TRAILER.
           05  FILLER                PIC XX VALUE "T|".
           05  OT-COUNT              PIC 9(8).
           05  FILLER                PIC X VALUE "|".
           05  OT-TOTAL              PIC +9(11).99.
           05  FILLER                PIC X VALUE "|".
           05  OT-VERDICT            PIC X(5).
      *--- RD-OK, RD-RC and the error report (CHECK-RC) ------------*
           COPY "rdcheckw.cpy".
      *--- the 80-byte records (and the unused order table) --------*
           COPY "orders.cpy".

       LINKAGE SECTION.
           COPY "rdcheckl.cpy".

       PROCEDURE DIVISION.
       MAIN-PARA.
           ACCEPT WS-RING-ARG FROM ARGUMENT-VALUE
           IF WS-RING-ARG = SPACES
               DISPLAY "RING-RECEIVER: usage: ring_receiver <ring-name>"
                   UPON SYSERR
               MOVE 12 TO RETURN-CODE
               STOP RUN
           END-IF
           STRING FUNCTION TRIM(WS-RING-ARG TRAILING)
                         DELIMITED BY SIZE
                  X"00"  DELIMITED BY SIZE
                  INTO WS-RING-NAME
           END-STRING

           MOVE "ringdrop_ring_open" TO WS-STEP
           CALL "ringdrop_ring_open" USING
                BY REFERENCE WS-RING-NAME
                BY VALUE     RD-RING-SPSC
                BY VALUE     RD-ROLE-CONSUMER
                BY VALUE     RD-OPEN
                BY VALUE     RD-NO-OPTIONS
                BY REFERENCE RD-RING
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC

           MOVE 0 TO WS-COUNT WS-TOTAL
           PERFORM RECEIVE-RECORD UNTIL WS-DONE = "Y"

           PERFORM CLOSE-RING
           MOVE WS-COUNT TO OT-COUNT
           IF TR-COUNT NOT = WS-COUNT
               MOVE "COUNT" TO OT-VERDICT
               MOVE 4 TO RETURN-CODE
           ELSE
               IF TR-TOTAL NOT = WS-TOTAL
                   MOVE "TOTAL" TO OT-VERDICT
                   MOVE 4 TO RETURN-CODE
               ELSE
                   MOVE "OK" TO OT-VERDICT
                   MOVE 0 TO RETURN-CODE
               END-IF
           END-IF
      *    The trailer line shows what the trailer said; the verdict
      *    whether the details agree.
           MOVE TR-COUNT TO OT-COUNT
           MOVE TR-TOTAL TO OT-TOTAL
           DISPLAY OUT-TRAILER
           STOP RUN.

       RECEIVE-RECORD.
           MOVE SPACES TO REC-BUFFER
           MOVE "ringdrop_ring_receive" TO WS-STEP
           CALL "ringdrop_ring_receive" USING
                BY VALUE     RD-RING
                BY REFERENCE REC-BUFFER
                BY VALUE     SIZE IS 8 RD-CAPACITY
                BY REFERENCE RD-SIZE
                BY VALUE     SIZE IS 8 RD-RECV-TIMEOUT
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC
           IF RD-SIZE NOT = 80
               MOVE RD-SIZE TO WS-SIZE-EDIT
               DISPLAY "RING-RECEIVER: a record of "
                       FUNCTION TRIM(WS-SIZE-EDIT)
                       " bytes, expected 80" UPON SYSERR
               PERFORM FAIL-RECORD
           END-IF
           EVALUATE REC-BUFFER(1:1)
               WHEN "D"
                   MOVE REC-BUFFER TO DETAIL-REC
                   IF DR-ORDER-ID NOT NUMERIC
                      OR DR-AMOUNT NOT NUMERIC
                      OR DR-QUANTITY NOT NUMERIC
                      OR DR-ORDER-DATE NOT NUMERIC
                       DISPLAY "RING-RECEIVER: detail "
                               REC-BUFFER(2:8)
                               " has a field that is not numeric"
                               UPON SYSERR
                       PERFORM FAIL-RECORD
                   END-IF
                   ADD 1 TO WS-COUNT
                   ADD DR-AMOUNT TO WS-TOTAL
                   MOVE DR-ORDER-ID   TO OD-ORDER-ID
                   MOVE DR-CUSTOMER   TO OD-CUSTOMER
                   MOVE DR-AMOUNT     TO OD-AMOUNT
                   MOVE DR-QUANTITY   TO OD-QUANTITY
                   MOVE DR-ORDER-DATE TO OD-ORDER-DATE
                   MOVE DR-STATUS     TO OD-STATUS
                   DISPLAY OUT-DETAIL
               WHEN "T"
                   MOVE REC-BUFFER TO TRAILER-REC
                   IF TR-COUNT NOT NUMERIC OR TR-TOTAL NOT NUMERIC
                       DISPLAY "RING-RECEIVER: the trailer has a field"
                               " that is not numeric" UPON SYSERR
                       PERFORM FAIL-RECORD
                   END-IF
                   MOVE "Y" TO WS-DONE
               WHEN OTHER
                   DISPLAY "RING-RECEIVER: a record of type '"
                           REC-BUFFER(1:1) "'" UPON SYSERR
                   PERFORM FAIL-RECORD
           END-EVALUATE.

      *--- a malformed record: the input cannot be trusted ---------*
       FAIL-RECORD.
           PERFORM CLOSE-RING
           MOVE 8 TO RETURN-CODE
           STOP RUN.

       CLOSE-RING.
           IF RD-RING NOT = NULL
               CALL "ringdrop_ring_close" USING BY VALUE RD-RING
                    RETURNING OMITTED
               END-CALL
               SET RD-RING TO NULL
           END-IF.

      *--- CHECK-RC and C-STRING-TO-TEXT ---------------------------*
           COPY "rdcheck.cpy" REPLACING
                ==:RD-PROG:==    BY =="RING-RECEIVER"==
                ==:RD-CLEANUP:== BY ==CLOSE-RING==.
