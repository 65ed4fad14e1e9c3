      *================================================================*
      * RING-SENDER: a batch job that sends fixed-width (80-byte)      *
      * order records to a C++ consumer through a ringdrop SPSC ring,  *
      * calling the C ABI (bindings/c/include/ringdrop.h) directly.    *
      *                                                                *
      * Run:   ring_sender <ring-name>                                 *
      *        (the consumer usually creates the ring; if not, this    *
      *        job creates it: RINGDROP_OPEN_OR_CREATE)                *
      * Output: five detail records ('D'), then one trailer ('T') with *
      *        the record count and the amount total, as batch         *
      *        interfaces did on tape.                                 *
      * RETURN-CODE: 0 all sent; 8 a ringdrop call failed (the         *
      *        ringdrop_strerror text and the detail go to SYSERR);    *
      *        12 no ring name given.                                  *
      *                                                                *
      * Compile: cobc -x -fstatic-call ring_sender.cob -lringdrop      *
      *                                                                *
      * Calling C from GnuCOBOL (see README.md, "Pitfalls"):           *
      *  - strings are passed BY REFERENCE and must end in X"00";      *
      *  - handles (ringdrop_ring*) are USAGE POINTER, passed BY       *
      *    REFERENCE to the open call (it writes them) and BY VALUE    *
      *    to every other call;                                        *
      *  - C int is BINARY-LONG; C long long / unsigned long long are  *
      *    BINARY-DOUBLE, and GnuCOBOL passes BY VALUE items as 4-byte *
      *    ints unless told "SIZE IS 8" (or AUTO): every 64-bit        *
      *    argument below says so;                                     *
      *  - a void C function is called RETURNING OMITTED, otherwise    *
      *    RETURN-CODE catches whatever was left in a register.        *
      *================================================================*
       IDENTIFICATION DIVISION.
       PROGRAM-ID. RING-SENDER.

       DATA DIVISION.
       WORKING-STORAGE SECTION.
      *--- ringdrop.h constants, as C ints --------------------------*
       01  RD-CONSTANTS.
           05  RD-RING-SPSC          USAGE BINARY-LONG VALUE 1.
           05  RD-ROLE-PRODUCER      USAGE BINARY-LONG VALUE 1.
           05  RD-OPEN-OR-CREATE     USAGE BINARY-LONG VALUE 2.
      *--- arguments and results of the calls ----------------------*
       01  RD-RING                   USAGE POINTER VALUE NULL.
      *    NULL options: the library's defaults (a 1 MiB ring).
       01  RD-NO-OPTIONS             USAGE POINTER VALUE NULL.
       01  RD-REC-SIZE               USAGE BINARY-DOUBLE UNSIGNED
                                     VALUE 80.
      *    5 seconds in nanoseconds: how long a send waits for room.
       01  RD-SEND-TIMEOUT           USAGE BINARY-DOUBLE VALUE
                                     5000000000.
       01  RD-MAX-SIZE               USAGE BINARY-DOUBLE UNSIGNED
                                     VALUE 0.
      *--- the ring name: a C string (NUL-terminated, no padding) ---*
       01  WS-RING-ARG               PIC X(200) VALUE SPACES.
       01  WS-RING-NAME              PIC X(201) VALUE LOW-VALUES.
      *--- RD-OK, RD-RC and the error report (CHECK-RC) ------------*
           COPY "rdcheckw.cpy".
      *--- the order table and the 80-byte records (a copybook:
      *    drop_writer.cob uses the same layout) -------------------*
           COPY "orders.cpy".

       LINKAGE SECTION.
      *    A C string returned by the library (C-STRING-TO-TEXT).
           COPY "rdcheckl.cpy".

       PROCEDURE DIVISION.
       MAIN-PARA.
           ACCEPT WS-RING-ARG FROM ARGUMENT-VALUE
           IF WS-RING-ARG = SPACES
               DISPLAY "RING-SENDER: usage: ring_sender <ring-name>"
                   UPON SYSERR
               MOVE 12 TO RETURN-CODE
               STOP RUN
           END-IF
      *    COBOL pads with spaces; C wants the name, then a NUL.
      *    (TRIM TRAILING, not DELIMITED BY SPACE: a path may
      *    contain spaces.)
           STRING FUNCTION TRIM(WS-RING-ARG TRAILING)
                         DELIMITED BY SIZE
                  X"00"  DELIMITED BY SIZE
                  INTO WS-RING-NAME
           END-STRING

           PERFORM LOAD-ORDERS

           MOVE "ringdrop_ring_open" TO WS-STEP
           CALL "ringdrop_ring_open" USING
                BY REFERENCE WS-RING-NAME
                BY VALUE     RD-RING-SPSC
                BY VALUE     RD-ROLE-PRODUCER
                BY VALUE     RD-OPEN-OR-CREATE
                BY VALUE     RD-NO-OPTIONS
                BY REFERENCE RD-RING
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC

           MOVE "ringdrop_ring_max_message_size" TO WS-STEP
           CALL "ringdrop_ring_max_message_size" USING
                BY VALUE     RD-RING
                BY REFERENCE RD-MAX-SIZE
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC
           IF RD-MAX-SIZE < RD-REC-SIZE
               DISPLAY "RING-SENDER: the ring carries at most "
                       RD-MAX-SIZE " bytes" UPON SYSERR
               PERFORM CLOSE-RING
               MOVE 8 TO RETURN-CODE
               STOP RUN
           END-IF

           PERFORM SEND-ORDER VARYING OX FROM 1 BY 1 UNTIL OX > 5
           PERFORM SEND-TRAILER

      *    Closing tells the consumer we left: after our last record
      *    it sees RINGDROP_EPEERGONE instead of waiting.
           PERFORM CLOSE-RING
           DISPLAY "RING-SENDER: " WS-COUNT " records and a trailer"
                   " sent"
           MOVE 0 TO RETURN-CODE
           STOP RUN.

           COPY "ordload.cpy".

       SEND-ORDER.
           MOVE OT-ID(OX)            TO DR-ORDER-ID
           MOVE OT-CUSTOMER(OX)      TO DR-CUSTOMER
           MOVE OT-AMOUNT(OX)        TO DR-AMOUNT
           MOVE OT-QUANTITY(OX)      TO DR-QUANTITY
           MOVE OT-DATE(OX)          TO DR-ORDER-DATE
           MOVE OT-STATUS(OX)        TO DR-STATUS
           MOVE "ringdrop_ring_send (detail)" TO WS-STEP
      *    The data BY REFERENCE (a pointer to the record); its size
      *    and the timeout BY VALUE as 8-byte integers.
           CALL "ringdrop_ring_send" USING
                BY VALUE     RD-RING
                BY REFERENCE DETAIL-REC
                BY VALUE     SIZE IS 8 RD-REC-SIZE
                BY VALUE     SIZE IS 8 RD-SEND-TIMEOUT
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC
           ADD 1 TO WS-COUNT
           ADD OT-AMOUNT(OX) TO WS-TOTAL.

       SEND-TRAILER.
           MOVE WS-COUNT             TO TR-COUNT
           MOVE WS-TOTAL             TO TR-TOTAL
           MOVE "ringdrop_ring_send (trailer)" TO WS-STEP
           CALL "ringdrop_ring_send" USING
                BY VALUE     RD-RING
                BY REFERENCE TRAILER-REC
                BY VALUE     SIZE IS 8 RD-REC-SIZE
                BY VALUE     SIZE IS 8 RD-SEND-TIMEOUT
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC.

       CLOSE-RING.
           IF RD-RING NOT = NULL
               CALL "ringdrop_ring_close" USING BY VALUE RD-RING
                    RETURNING OMITTED
               END-CALL
               SET RD-RING TO NULL
           END-IF.

      *--- CHECK-RC and C-STRING-TO-TEXT ---------------------------*
           COPY "rdcheck.cpy" REPLACING
                ==:RD-PROG:==    BY =="RING-SENDER"==
                ==:RD-CLEANUP:== BY ==CLOSE-RING==.
