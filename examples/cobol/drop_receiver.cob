      *================================================================*
      * DROP-RECEIVER: a batch job that takes batch files of 80-byte   *
      * order records (orders.cpy, as drop_writer.cob writes them) out *
      * of a ringdrop file-drop channel (docs/file-drop.md), checks    *
      * each batch against its trailer, acknowledges the good ones and *
      * rejects a bad one with the reason (it goes to failed/, with    *
      * the reason beside it, for an operator to look at).             *
      *                                                                *
      * Run:   drop_receiver <channel-root-directory>                  *
      * Input: claims messages until none comes within 2 s. A batch is *
      *        its details ('D') and one trailer ('T'), no newlines.   *
      * Output (stdout, fixed columns):                                *
      *   MSG|<id>|<batch-no header, or NONE>                          *
      *   D|00000003|CARTWRIGHT & SONS             |-0000012.50|00001|20231107|R
      *   ACK|<id>|00000003|+00000001223.05                            *
      *   REJECT|<id>|<reason>                                         *
      *   END|<acked>|<rejected>                                       *
      *        The reasons: "trailer count NNNNNNNN, details          *
      *        NNNNNNNN", "trailer total ..., details ...", "record   *
      *        NNN: type X", "record NNN: not numeric", "NNNNNNNNN     *
      *        bytes: not 2 to 100 whole 80-byte records".             *
      * RETURN-CODE: 0 every batch acked; 4 one or more rejected; 8 a  *
      *        ringdrop call failed; 12 no root given.                 *
      *                                                                *
      * Compile: cobc -x -fstatic-call drop_receiver.cob -lringdrop    *
      *                                                                *
      * C arguments (README.md, "Pitfalls"): the claim's content comes *
      * back as a pointer and a size (ringdrop_drop_claim_data maps    *
      * the file): a LINKAGE item is laid over it with SET ADDRESS OF, *
      * and only its first <size> bytes are looked at. The id and the  *
      * header value are C strings (C-STRING-TO-TEXT). The reason is   *
      * a NUL-terminated field.                                        *
      *================================================================*
       IDENTIFICATION DIVISION.
       PROGRAM-ID. DROP-RECEIVER.

       DATA DIVISION.
       WORKING-STORAGE SECTION.
      *--- ringdrop.h constants ------------------------------------*
       01  RD-ETIMEDOUT              USAGE BINARY-LONG VALUE -2.
       01  RD-ENOTFOUND              USAGE BINARY-LONG VALUE -15.
      *--- handles, arguments and results --------------------------*
       01  RD-DROP                   USAGE POINTER VALUE NULL.
       01  RD-CONSUMER               USAGE POINTER VALUE NULL.
       01  RD-CLAIM                  USAGE POINTER VALUE NULL.
       01  RD-NO-OPTIONS             USAGE POINTER VALUE NULL.
      *    2 seconds in nanoseconds: no message within it ends the job.
       01  RD-CLAIM-TIMEOUT          USAGE BINARY-DOUBLE VALUE
                                     2000000000.
       01  RD-DATA-PTR               USAGE POINTER VALUE NULL.
       01  RD-DATA-SIZE              USAGE BINARY-DOUBLE UNSIGNED.
       01  HK-BATCH-NO               PIC X(9) VALUE Z"batch-no".
      *--- the channel root: a C string ----------------------------*
       01  WS-ROOT-ARG               PIC X(1024) VALUE SPACES.
       01  WS-ROOT                   PIC X(1025) VALUE LOW-VALUES.
      *--- the message in hand --------------------------------------*
       01  WS-ID                     PIC X(129).
       01  WS-BATCH-NO               PIC X(20).
       01  WS-LINES                  PIC 9(3).
       01  WS-LX                     PIC 9(3).
       01  WS-REASON                 PIC X(200).
       01  WS-REASON-C               PIC X(201).
       01  WS-SIZE-EDIT              PIC 9(9).
       01  WS-LX-EDIT                PIC 9(3).
       01  WS-NUM-EDIT-1             PIC 9(8).
       01  WS-NUM-EDIT-2             PIC 9(8).
       01  WS-TOT-EDIT-1             PIC +9(11).99.
       01  WS-TOT-EDIT-2             PIC +9(11).99.
       01  WS-DONE                   PIC X VALUE "N".
       01  WS-ACKED                  PIC 9(4) VALUE 0.
       01  WS-REJECTED               PIC 9(4) VALUE 0.
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
      *--- RD-OK, RD-RC and the error report (CHECK-RC) ------------*
           COPY "rdcheckw.cpy".
      *--- the 80-byte records (orders.cpy) -------------------------*
           COPY "orders.cpy".

       LINKAGE SECTION.
           COPY "rdcheckl.cpy".
      *    The claimed file, mapped by the library: only the first
      *    RD-DATA-SIZE bytes exist (at most 100 records are looked
      *    at; a larger batch is rejected first).
       01  LK-BATCH.
           05  LK-LINE               PIC X(80) OCCURS 100 TIMES.

       PROCEDURE DIVISION.
       MAIN-PARA.
           ACCEPT WS-ROOT-ARG FROM ARGUMENT-VALUE
           IF WS-ROOT-ARG = SPACES
               DISPLAY "DROP-RECEIVER: usage: drop_receiver <root>"
                   UPON SYSERR
               MOVE 12 TO RETURN-CODE
               STOP RUN
           END-IF
           STRING FUNCTION TRIM(WS-ROOT-ARG TRAILING)
                         DELIMITED BY SIZE
                  X"00"  DELIMITED BY SIZE
                  INTO WS-ROOT
           END-STRING

           MOVE "ringdrop_drop_open" TO WS-STEP
           CALL "ringdrop_drop_open" USING
                BY REFERENCE WS-ROOT
                BY VALUE     RD-NO-OPTIONS
                BY REFERENCE RD-DROP
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC
           MOVE "ringdrop_drop_consumer_open" TO WS-STEP
           CALL "ringdrop_drop_consumer_open" USING
                BY VALUE     RD-DROP
                BY REFERENCE RD-CONSUMER
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC

           PERFORM TAKE-MESSAGE UNTIL WS-DONE = "Y"

           PERFORM CLOSE-ALL
           DISPLAY "END|" WS-ACKED "|" WS-REJECTED
           IF WS-REJECTED > 0
               MOVE 4 TO RETURN-CODE
           ELSE
               MOVE 0 TO RETURN-CODE
           END-IF
           STOP RUN.

      *--- one message: claim, look, settle, let go -----------------*
       TAKE-MESSAGE.
           MOVE "ringdrop_drop_consumer_claim" TO WS-STEP
           CALL "ringdrop_drop_consumer_claim" USING
                BY VALUE     RD-CONSUMER
                BY VALUE     SIZE IS 8 RD-CLAIM-TIMEOUT
                BY REFERENCE RD-CLAIM
                RETURNING    RD-RC
           END-CALL
      *    Nothing more within the timeout: the input is done.
           IF RD-RC = RD-ETIMEDOUT
               MOVE "Y" TO WS-DONE
           ELSE
               PERFORM CHECK-RC
               PERFORM READ-CLAIM
               PERFORM CHECK-BATCH
               IF WS-REASON = SPACES
                   PERFORM ACK-BATCH
               ELSE
                   PERFORM REJECT-BATCH
               END-IF
               PERFORM CLOSE-CLAIM
           END-IF.

       READ-CLAIM.
           MOVE "ringdrop_drop_claim_id" TO WS-STEP
           CALL "ringdrop_drop_claim_id" USING
                BY VALUE     RD-CLAIM
                BY REFERENCE WS-C-PTR
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC
           PERFORM C-STRING-TO-TEXT
           MOVE WS-C-TEXT TO WS-ID
      *    A missing header is no failure: the batch is still read.
           MOVE "ringdrop_drop_claim_header" TO WS-STEP
           CALL "ringdrop_drop_claim_header" USING
                BY VALUE     RD-CLAIM
                BY REFERENCE HK-BATCH-NO
                BY REFERENCE WS-C-PTR
                RETURNING    RD-RC
           END-CALL
           IF RD-RC = RD-ENOTFOUND
               MOVE "NONE" TO WS-BATCH-NO
           ELSE
               PERFORM CHECK-RC
               PERFORM C-STRING-TO-TEXT
               MOVE WS-C-TEXT TO WS-BATCH-NO
           END-IF
           DISPLAY "MSG|" FUNCTION TRIM(WS-ID) "|"
                   FUNCTION TRIM(WS-BATCH-NO)
           MOVE "ringdrop_drop_claim_data" TO WS-STEP
           CALL "ringdrop_drop_claim_data" USING
                BY VALUE     RD-CLAIM
                BY REFERENCE RD-DATA-PTR
                BY REFERENCE RD-DATA-SIZE
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC.

      *--- the batch against its trailer: WS-REASON, or SPACES ------*
       CHECK-BATCH.
           MOVE SPACES TO WS-REASON
           MOVE 0 TO WS-COUNT WS-TOTAL
           IF FUNCTION MOD(RD-DATA-SIZE, 80) NOT = 0
              OR RD-DATA-SIZE < 160 OR RD-DATA-SIZE > 8000
               MOVE RD-DATA-SIZE TO WS-SIZE-EDIT
               STRING WS-SIZE-EDIT DELIMITED BY SIZE
                      " bytes: not 2 to 100 whole 80-byte records"
                      DELIMITED BY SIZE
                      INTO WS-REASON
               END-STRING
           ELSE
               SET ADDRESS OF LK-BATCH TO RD-DATA-PTR
               COMPUTE WS-LINES = RD-DATA-SIZE / 80
               PERFORM CHECK-DETAIL VARYING WS-LX FROM 1 BY 1
                       UNTIL WS-LX >= WS-LINES
                          OR WS-REASON NOT = SPACES
               IF WS-REASON = SPACES
                   PERFORM CHECK-TRAILER
               END-IF
           END-IF.

       CHECK-DETAIL.
           MOVE LK-LINE(WS-LX) TO DETAIL-REC
           MOVE WS-LX TO WS-LX-EDIT
           IF DR-TYPE NOT = "D"
               STRING "record " WS-LX-EDIT ": type " DR-TYPE
                      DELIMITED BY SIZE INTO WS-REASON
               END-STRING
           ELSE
               IF DR-ORDER-ID NOT NUMERIC
                  OR DR-AMOUNT NOT NUMERIC
                  OR DR-QUANTITY NOT NUMERIC
                  OR DR-ORDER-DATE NOT NUMERIC
                   STRING "record " WS-LX-EDIT ": not numeric"
                          DELIMITED BY SIZE INTO WS-REASON
                   END-STRING
               ELSE
                   ADD 1 TO WS-COUNT
                   ADD DR-AMOUNT TO WS-TOTAL
               END-IF
           END-IF.

       CHECK-TRAILER.
           MOVE LK-LINE(WS-LINES) TO TRAILER-REC
           MOVE WS-LINES TO WS-LX-EDIT
           IF TR-TYPE NOT = "T"
               STRING "record " WS-LX-EDIT ": type " TR-TYPE
                      DELIMITED BY SIZE INTO WS-REASON
               END-STRING
           ELSE
               IF TR-COUNT NOT NUMERIC OR TR-TOTAL NOT NUMERIC
                   STRING "record " WS-LX-EDIT ": not numeric"
                          DELIMITED BY SIZE INTO WS-REASON
                   END-STRING
               ELSE
                   IF TR-COUNT NOT = WS-COUNT
                       MOVE TR-COUNT TO WS-NUM-EDIT-1
                       MOVE WS-COUNT TO WS-NUM-EDIT-2
                       STRING "trailer count " WS-NUM-EDIT-1
                              ", details " WS-NUM-EDIT-2
                              DELIMITED BY SIZE INTO WS-REASON
                       END-STRING
                   ELSE
                       IF TR-TOTAL NOT = WS-TOTAL
                           MOVE TR-TOTAL TO WS-TOT-EDIT-1
                           MOVE WS-TOTAL TO WS-TOT-EDIT-2
                           STRING "trailer total " WS-TOT-EDIT-1
                                  ", details " WS-TOT-EDIT-2
                                  DELIMITED BY SIZE INTO WS-REASON
                           END-STRING
                       END-IF
                   END-IF
               END-IF
           END-IF.

      *--- a good batch: list it, then acknowledge it ---------------*
       ACK-BATCH.
           PERFORM LIST-DETAIL VARYING WS-LX FROM 1 BY 1
                   UNTIL WS-LX >= WS-LINES
           MOVE "ringdrop_drop_claim_ack" TO WS-STEP
           CALL "ringdrop_drop_claim_ack" USING
                BY VALUE     RD-CLAIM
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC
           ADD 1 TO WS-ACKED
           MOVE WS-COUNT TO WS-NUM-EDIT-1
           MOVE WS-TOTAL TO WS-TOT-EDIT-1
           DISPLAY "ACK|" FUNCTION TRIM(WS-ID) "|" WS-NUM-EDIT-1 "|"
                   WS-TOT-EDIT-1.

       LIST-DETAIL.
           MOVE LK-LINE(WS-LX)  TO DETAIL-REC
           MOVE DR-ORDER-ID     TO OD-ORDER-ID
           MOVE DR-CUSTOMER     TO OD-CUSTOMER
           MOVE DR-AMOUNT       TO OD-AMOUNT
           MOVE DR-QUANTITY     TO OD-QUANTITY
           MOVE DR-ORDER-DATE   TO OD-ORDER-DATE
           MOVE DR-STATUS       TO OD-STATUS
           DISPLAY OUT-DETAIL.

      *--- a bad batch: a dead letter now, with the reason ----------*
       REJECT-BATCH.
           MOVE LOW-VALUES TO WS-REASON-C
           STRING FUNCTION TRIM(WS-REASON TRAILING) DELIMITED BY SIZE
                  X"00" DELIMITED BY SIZE
                  INTO WS-REASON-C
           END-STRING
           MOVE "ringdrop_drop_claim_reject" TO WS-STEP
           CALL "ringdrop_drop_claim_reject" USING
                BY VALUE     RD-CLAIM
                BY REFERENCE WS-REASON-C
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC
           ADD 1 TO WS-REJECTED
           DISPLAY "REJECT|" FUNCTION TRIM(WS-ID) "|"
                   FUNCTION TRIM(WS-REASON TRAILING).

       CLOSE-CLAIM.
           IF RD-CLAIM NOT = NULL
               CALL "ringdrop_drop_claim_close" USING BY VALUE RD-CLAIM
                    RETURNING OMITTED
               END-CALL
               SET RD-CLAIM TO NULL
           END-IF.

      *--- everything still open (handles may still be NULL) --------*
       CLOSE-ALL.
           PERFORM CLOSE-CLAIM
           IF RD-CONSUMER NOT = NULL
               CALL "ringdrop_drop_consumer_close" USING
                    BY VALUE RD-CONSUMER
                    RETURNING OMITTED
               END-CALL
               SET RD-CONSUMER TO NULL
           END-IF
           IF RD-DROP NOT = NULL
               CALL "ringdrop_drop_close" USING BY VALUE RD-DROP
                    RETURNING OMITTED
               END-CALL
               SET RD-DROP TO NULL
           END-IF.

      *--- CHECK-RC and C-STRING-TO-TEXT ---------------------------*
           COPY "rdcheck.cpy" REPLACING
                ==:RD-PROG:==    BY =="DROP-RECEIVER"==
                ==:RD-CLEANUP:== BY ==CLOSE-ALL==.
