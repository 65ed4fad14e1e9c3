      *================================================================*
      * DROP-WRITER: a batch job that hands its output to a service   *
      * through a ringdrop file-drop channel (docs/file-drop.md): one *
      * message (one file) per batch of fixed-width 80-byte records,  *
      * published with ringdrop_drop_publish, which writes the file,  *
      * fsyncs it and renames it into new/ (a consumer never sees     *
      * half a batch).                                                *
      *                                                               *
      * Run:   drop_writer <channel-root-directory>                   *
      *        (the tree is created if missing)                       *
      * Output: batch 001 = orders 1-3, batch 002 = orders 4-5; each  *
      *        file is its detail records ('D') and a trailer ('T')   *
      *        with the batch's count and amount total, no newlines.  *
      *        Headers: content-type, schema-id, batch-no and an      *
      *        idempotency-key (a rerun of the job is not processed   *
      *        twice once the first run's messages were acked).       *
      * RETURN-CODE: 0 all published; 8 a ringdrop call failed        *
      *        (ringdrop_strerror text and detail on SYSERR); 12 no   *
      *        root given.                                            *
      *                                                               *
      * Compile: cobc -x -fstatic-call drop_writer.cob -lringdrop     *
      *                                                               *
      * C arguments (README.md, "Pitfalls"): strings end in X"00";    *
      * the header keys and values are C arrays of pointers (a table  *
      * of USAGE POINTER, each SET TO ADDRESS OF a NUL-terminated     *
      * field); unsigned long and unsigned long long go BY VALUE      *
      * SIZE IS 8; the message id comes back NUL-terminated in a      *
      * buffer of RINGDROP_DROP_ID_MAX (129) bytes.                   *
      *================================================================*
       IDENTIFICATION DIVISION.
       PROGRAM-ID. DROP-WRITER.

       DATA DIVISION.
       WORKING-STORAGE SECTION.
      *--- arguments and results of the calls ----------------------*
       01  RD-DROP                   USAGE POINTER VALUE NULL.
      *    NULL options: the defaults (create the tree, fsync).
       01  RD-NO-OPTIONS             USAGE POINTER VALUE NULL.
       01  RD-DATA-SIZE              USAGE BINARY-DOUBLE UNSIGNED.
       01  RD-HDR-COUNT              USAGE BINARY-C-LONG UNSIGNED
                                     VALUE 4.
       01  RD-ID                     PIC X(129).
       01  RD-ID-CAPACITY            USAGE BINARY-C-LONG UNSIGNED
                                     VALUE 129.
       01  WS-ID-LEN                 PIC 9(4) COMP-5.
      *--- the channel root: a C string ----------------------------*
       01  WS-ROOT-ARG               PIC X(1024) VALUE SPACES.
       01  WS-ROOT                   PIC X(1025) VALUE LOW-VALUES.
      *--- headers: NUL-terminated strings, and the two C arrays of
      *    pointers to them (const char* const* keys, values) ------*
       01  HDR-STRINGS.
           05  HK-CONTENT-TYPE       PIC X(13) VALUE Z"content-type".
           05  HK-SCHEMA-ID          PIC X(10) VALUE Z"schema-id".
           05  HK-BATCH-NO           PIC X(9)  VALUE Z"batch-no".
           05  HK-IDEMPOTENCY-KEY    PIC X(16)
                                     VALUE Z"idempotency-key".
           05  HV-CONTENT-TYPE       PIC X(30)
                                     VALUE Z"application/x-fixed-80".
           05  HV-SCHEMA-ID          PIC X(10) VALUE Z"orders-v1".
           05  HV-BATCH-NO.
               10  HV-BATCH-DIGITS   PIC 9(3).
               10  FILLER            PIC X VALUE X"00".
           05  HV-IDEMPOTENCY-KEY.
               10  FILLER            PIC X(16)
                                     VALUE "ordjob-20231105-".
               10  HV-IDEM-BATCH     PIC 9(3).
               10  FILLER            PIC X VALUE X"00".
       01  HDR-KEYS.
           05  HDR-KEY-PTR           USAGE POINTER OCCURS 4 TIMES.
       01  HDR-VALUES.
           05  HDR-VALUE-PTR         USAGE POINTER OCCURS 4 TIMES.
      *--- one batch: up to 5 details and the trailer, back to back -*
       01  BATCH-BUFFER.
           05  BATCH-LINE            PIC X(80) OCCURS 6 TIMES.
       01  WS-BATCH-NO               PIC 9(3) VALUE 0.
       01  WS-FIRST                  PIC 9(2).
       01  WS-LAST                   PIC 9(2).
       01  WS-LINES                  PIC 9(2).
      *--- RD-OK, RD-RC and the error report (CHECK-RC) ------------*
           COPY "rdcheckw.cpy".
      *--- the order table and the 80-byte records (orders.cpy) ----*
           COPY "orders.cpy".

       LINKAGE SECTION.
      *    A C string returned by the library (C-STRING-TO-TEXT).
           COPY "rdcheckl.cpy".

       PROCEDURE DIVISION.
       MAIN-PARA.
           ACCEPT WS-ROOT-ARG FROM ARGUMENT-VALUE
           IF WS-ROOT-ARG = SPACES
               DISPLAY "DROP-WRITER: usage: drop_writer <root>"
                   UPON SYSERR
               MOVE 12 TO RETURN-CODE
               STOP RUN
           END-IF
      *    (TRIM TRAILING, not DELIMITED BY SPACE: a path may
      *    contain spaces.)
           STRING FUNCTION TRIM(WS-ROOT-ARG TRAILING)
                         DELIMITED BY SIZE
                  X"00"  DELIMITED BY SIZE
                  INTO WS-ROOT
           END-STRING

           PERFORM LOAD-ORDERS
           PERFORM SET-HEADER-POINTERS

           MOVE "ringdrop_drop_open" TO WS-STEP
           CALL "ringdrop_drop_open" USING
                BY REFERENCE WS-ROOT
                BY VALUE     RD-NO-OPTIONS
                BY REFERENCE RD-DROP
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC

           MOVE 1 TO WS-FIRST
           MOVE 3 TO WS-LAST
           PERFORM PUBLISH-BATCH
           MOVE 4 TO WS-FIRST
           MOVE 5 TO WS-LAST
           PERFORM PUBLISH-BATCH

           PERFORM CLOSE-CHANNEL
           DISPLAY "DROP-WRITER: " WS-BATCH-NO " batches published"
           MOVE 0 TO RETURN-CODE
           STOP RUN.

           COPY "ordload.cpy".

      *--- the C arrays point at the NUL-terminated fields ----------*
       SET-HEADER-POINTERS.
           SET HDR-KEY-PTR(1)   TO ADDRESS OF HK-CONTENT-TYPE
           SET HDR-KEY-PTR(2)   TO ADDRESS OF HK-SCHEMA-ID
           SET HDR-KEY-PTR(3)   TO ADDRESS OF HK-BATCH-NO
           SET HDR-KEY-PTR(4)   TO ADDRESS OF HK-IDEMPOTENCY-KEY
           SET HDR-VALUE-PTR(1) TO ADDRESS OF HV-CONTENT-TYPE
           SET HDR-VALUE-PTR(2) TO ADDRESS OF HV-SCHEMA-ID
           SET HDR-VALUE-PTR(3) TO ADDRESS OF HV-BATCH-NO
           SET HDR-VALUE-PTR(4) TO ADDRESS OF HV-IDEMPOTENCY-KEY.

      *--- orders WS-FIRST..WS-LAST and a trailer as one message ----*
       PUBLISH-BATCH.
           ADD 1 TO WS-BATCH-NO
           MOVE WS-BATCH-NO TO HV-BATCH-DIGITS HV-IDEM-BATCH
           MOVE SPACES TO BATCH-BUFFER
           MOVE 0 TO WS-LINES WS-COUNT WS-TOTAL
           PERFORM VARYING OX FROM WS-FIRST BY 1 UNTIL OX > WS-LAST
               MOVE OT-ID(OX)        TO DR-ORDER-ID
               MOVE OT-CUSTOMER(OX)  TO DR-CUSTOMER
               MOVE OT-AMOUNT(OX)    TO DR-AMOUNT
               MOVE OT-QUANTITY(OX)  TO DR-QUANTITY
               MOVE OT-DATE(OX)      TO DR-ORDER-DATE
               MOVE OT-STATUS(OX)    TO DR-STATUS
               ADD 1 TO WS-LINES
               MOVE DETAIL-REC TO BATCH-LINE(WS-LINES)
               ADD 1 TO WS-COUNT
               ADD OT-AMOUNT(OX) TO WS-TOTAL
           END-PERFORM
           MOVE WS-COUNT TO TR-COUNT
           MOVE WS-TOTAL TO TR-TOTAL
           ADD 1 TO WS-LINES
           MOVE TRAILER-REC TO BATCH-LINE(WS-LINES)
      *    Only the lines used: the message is exactly the batch.
           COMPUTE RD-DATA-SIZE = WS-LINES * 80

           MOVE "ringdrop_drop_publish" TO WS-STEP
           MOVE LOW-VALUES TO RD-ID
           CALL "ringdrop_drop_publish" USING
                BY VALUE     RD-DROP
                BY REFERENCE BATCH-BUFFER
                BY VALUE     SIZE IS 8 RD-DATA-SIZE
                BY REFERENCE HDR-KEYS
                BY REFERENCE HDR-VALUES
                BY VALUE     SIZE IS 8 RD-HDR-COUNT
                BY REFERENCE RD-ID
                BY VALUE     SIZE IS 8 RD-ID-CAPACITY
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC
           MOVE 0 TO WS-ID-LEN
           INSPECT RD-ID TALLYING WS-ID-LEN
                   FOR CHARACTERS BEFORE INITIAL X"00"
           DISPLAY "DROP-WRITER: batch " WS-BATCH-NO " ("
                   WS-COUNT " orders) published as "
                   RD-ID(1:WS-ID-LEN).

       CLOSE-CHANNEL.
           IF RD-DROP NOT = NULL
               CALL "ringdrop_drop_close" USING BY VALUE RD-DROP
                    RETURNING OMITTED
               END-CALL
               SET RD-DROP TO NULL
           END-IF.

      *--- CHECK-RC and C-STRING-TO-TEXT ---------------------------*
           COPY "rdcheck.cpy" REPLACING
                ==:RD-PROG:==    BY =="DROP-WRITER"==
                ==:RD-CLEANUP:== BY ==CLOSE-CHANNEL==.
