      *================================================================*
      * BATCH-ORDERS: the nightly order batch of the demo. It hands   *
      * each order to the order service as one file in a ringdrop     *
      * drop channel (docs/file-drop.md), then a trailer file with    *
      * the control totals, as interface files always had.            *
      *                                                               *
      * Run:   batch_orders <channel-root-directory>                  *
      * Output: 24 files of one 80-byte detail record ('D', the       *
      *        DETAIL-REC layout of examples/cobol/orders.cpy), then  *
      *        one file with the trailer ('T': count and amount       *
      *        total of the 24). Three orders are wrong on purpose    *
      *        (quantity 0, a negative amount on a new order, the     *
      *        31st of February): the service must reject them.       *
      *        Headers: content-type, schema-id, record-type, an      *
      *        idempotency-key (batchord-<run date>-<order id>), so   *
      *        a rerun of the job publishes nothing new to process,   *
      *        and an original-name (ORDER-<order id>, TRAILER), so   *
      *        the channel keeps a receipt of what became of each     *
      *        file. Then the job waits for the 25 receipts           *
      *        (ringdrop_drop_receipt: by name and the id publish     *
      *        gave) and reports each dead-lettered order with its    *
      *        reason, as a batch job reports its rejects.            *
      *        Lines ringdrop-demo reads: "done (<n> files, <b>       *
      *        bytes)" and "receipts: <p> processed, <d>              *
      *        dead-lettered".                                        *
      * RETURN-CODE: 0 all published and settled (processed or dead-  *
      *        lettered); 8 a ringdrop call failed or a receipt did   *
      *        not come in time (ringdrop_strerror text and detail    *
      *        on SYSERR); 12 no root given.                          *
      *                                                               *
      * Compile: cobc -x -fstatic-call -I examples/cobol              *
      *          batch_orders.cob -lringdrop                          *
      *                                                               *
      * C arguments (examples/cobol/README.md, "Pitfalls"): strings   *
      * end in X"00"; header keys and values are C arrays of          *
      * pointers (USAGE POINTER OCCURS, SET TO ADDRESS OF each        *
      * NUL-terminated field); unsigned long and unsigned long long   *
      * go BY VALUE SIZE IS 8; void functions RETURNING OMITTED.      *
      *================================================================*
       IDENTIFICATION DIVISION.
       PROGRAM-ID. BATCH-ORDERS.

       DATA DIVISION.
       WORKING-STORAGE SECTION.
      *--- arguments and results of the calls ----------------------*
       01  RD-DROP                   USAGE POINTER VALUE NULL.
      *    NULL options: the defaults (create the tree, fsync each
      *    file before it is published).
       01  RD-NO-OPTIONS             USAGE POINTER VALUE NULL.
       01  RD-DATA-SIZE              USAGE BINARY-DOUBLE UNSIGNED
                                     VALUE 80.
       01  RD-HDR-COUNT              USAGE BINARY-C-LONG UNSIGNED
                                     VALUE 5.
       01  RD-ID                     PIC X(129).
       01  RD-ID-CAPACITY            USAGE BINARY-C-LONG UNSIGNED
                                     VALUE 129.
       01  WS-ID-LEN                 PIC 9(4) COMP-5.
      *    ringdrop_drop_receipt: wait up to 120 s (in nanoseconds)
      *    for each; the outcome (RINGDROP_RECEIPT_*) and the reason.
       01  RD-RECEIPT-WAIT           USAGE BINARY-DOUBLE SIGNED
                                     VALUE 120000000000.
       01  RD-OUTCOME                USAGE BINARY-LONG.
           88  RD-PROCESSED          VALUE 2.
           88  RD-DEAD-LETTERED      VALUE 3.
       01  RD-REASON                 PIC X(200).
       01  RD-REASON-CAPACITY        USAGE BINARY-C-LONG UNSIGNED
                                     VALUE 200.
      *--- the channel root: a C string ----------------------------*
       01  WS-ROOT-ARG               PIC X(1024) VALUE SPACES.
       01  WS-ROOT                   PIC X(1025) VALUE LOW-VALUES.
      *--- headers: NUL-terminated strings, and the two C arrays of
      *    pointers to them (const char* const* keys, values) ------*
       01  HDR-STRINGS.
           05  HK-CONTENT-TYPE       PIC X(13) VALUE Z"content-type".
           05  HK-SCHEMA-ID          PIC X(10) VALUE Z"schema-id".
           05  HK-RECORD-TYPE        PIC X(12) VALUE Z"record-type".
           05  HK-IDEMPOTENCY-KEY    PIC X(16)
                                     VALUE Z"idempotency-key".
           05  HK-ORIGINAL-NAME      PIC X(14) VALUE Z"original-name".
           05  HV-CONTENT-TYPE       PIC X(30)
                                     VALUE Z"application/x-fixed-80".
           05  HV-SCHEMA-ID          PIC X(10) VALUE Z"orders-v1".
           05  HV-RECORD-TYPE        PIC X(10).
           05  HV-IDEMPOTENCY-KEY    PIC X(40).
           05  HV-ORIGINAL-NAME      PIC X(20).
       01  HDR-KEYS.
           05  HDR-KEY-PTR           USAGE POINTER OCCURS 5 TIMES.
       01  HDR-VALUES.
           05  HDR-VALUE-PTR         USAGE POINTER OCCURS 5 TIMES.
      *--- each file's name and id, to ask for its receipt ----------*
       01  SENT-TABLE.
           05  SENT-FILE             OCCURS 25 TIMES.
               10  SENT-NAME         PIC X(20).
               10  SENT-ID           PIC X(129).
       01  WS-PROCESSED              PIC 9(4) VALUE 0.
       01  WS-DEAD                   PIC 9(4) VALUE 0.
      *--- the run ---------------------------------------------------*
       01  WS-ORDERS                 PIC 9(4) VALUE 24.
       01  WS-I                      PIC 9(4).
       01  WS-CX                     PIC 9(2).
       01  WS-AMOUNT                 PIC S9(7)V99.
       01  WS-RUN-DATE               PIC X(8).
       01  WS-KEY-SUFFIX             PIC X(8).
       01  WS-FILES                  PIC 9(4) VALUE 0.
       01  WS-BYTES                  PIC 9(8) VALUE 0.
       01  WS-FIRST-ID               PIC X(129) VALUE SPACES.
       01  WS-NUM-EDIT               PIC Z(7)9.
       01  WS-NUM-EDIT2              PIC Z(7)9.
       01  WS-TOTAL-EDIT             PIC -(10)9.99.
      *--- what a real job reads from its input file: the customers -*
       01  CUSTOMER-NAMES.
           05  FILLER PIC X(30) VALUE "ACME WIDGETS LTD".
           05  FILLER PIC X(30) VALUE "BLUE LAGOON TRADING".
           05  FILLER PIC X(30) VALUE "CARTWRIGHT & SONS".
           05  FILLER PIC X(30) VALUE "DELTA FREIGHT GMBH".
           05  FILLER PIC X(30) VALUE "EASTSIDE BAKERY CO".
           05  FILLER PIC X(30) VALUE "FJORD MARINE SUPPLY".
           05  FILLER PIC X(30) VALUE "GRANITE & MARBLE WORKS".
           05  FILLER PIC X(30)
                      VALUE "ZENITH OPTICAL INSTRUMENTS INC".
       01  CUSTOMER-TABLE REDEFINES CUSTOMER-NAMES.
           05  CUSTOMER-NAME         PIC X(30) OCCURS 8 TIMES.
      *--- RD-OK, RD-RC and the error report (CHECK-RC) ------------*
           COPY "rdcheckw.cpy".
      *--- the 80-byte records, the interface contract shared with
      *    examples/cobol (DETAIL-REC, TRAILER-REC, WS-COUNT,
      *    WS-TOTAL; its ORDER-TABLE is not used here) --------------*
           COPY "orders.cpy".

       LINKAGE SECTION.
      *    A C string returned by the library (C-STRING-TO-TEXT).
           COPY "rdcheckl.cpy".

       PROCEDURE DIVISION.
       MAIN-PARA.
           ACCEPT WS-ROOT-ARG FROM ARGUMENT-VALUE
           IF WS-ROOT-ARG = SPACES
               DISPLAY "BATCH-ORDERS: usage: batch_orders <root>"
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
           MOVE FUNCTION CURRENT-DATE(1:8) TO WS-RUN-DATE
           PERFORM SET-HEADER-POINTERS

           MOVE "ringdrop_drop_open" TO WS-STEP
           CALL "ringdrop_drop_open" USING
                BY REFERENCE WS-ROOT
                BY VALUE     RD-NO-OPTIONS
                BY REFERENCE RD-DROP
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC
           MOVE WS-ORDERS TO WS-NUM-EDIT
           DISPLAY "BATCH-ORDERS: run " WS-RUN-DATE ", dropping "
                   FUNCTION TRIM(WS-NUM-EDIT)
                   " orders and a trailer into "
                   FUNCTION TRIM(WS-ROOT-ARG TRAILING)

           MOVE 0 TO WS-COUNT WS-TOTAL
           PERFORM VARYING WS-I FROM 1 BY 1 UNTIL WS-I > WS-ORDERS
               PERFORM MAKE-ORDER
               PERFORM DROP-ORDER
           END-PERFORM
           PERFORM DROP-TRAILER
           PERFORM VARYING WS-I FROM 1 BY 1 UNTIL WS-I > WS-FILES
               PERFORM AWAIT-RECEIPT
           END-PERFORM

           PERFORM CLOSE-CHANNEL
           MOVE WS-FILES TO WS-NUM-EDIT
           MOVE WS-BYTES TO WS-NUM-EDIT2
           MOVE WS-TOTAL TO WS-TOTAL-EDIT
           DISPLAY "BATCH-ORDERS: first file "
                   FUNCTION TRIM(WS-FIRST-ID)
           DISPLAY "BATCH-ORDERS: done ("
                   FUNCTION TRIM(WS-NUM-EDIT) " files, "
                   FUNCTION TRIM(WS-NUM-EDIT2) " bytes), control"
                   " total " FUNCTION TRIM(WS-TOTAL-EDIT)
           MOVE WS-PROCESSED TO WS-NUM-EDIT
           MOVE WS-DEAD TO WS-NUM-EDIT2
           DISPLAY "BATCH-ORDERS: receipts: "
                   FUNCTION TRIM(WS-NUM-EDIT) " processed, "
                   FUNCTION TRIM(WS-NUM-EDIT2) " dead-lettered"
           MOVE 0 TO RETURN-CODE
           STOP RUN.

      *--- the C arrays point at the NUL-terminated fields ----------*
       SET-HEADER-POINTERS.
           SET HDR-KEY-PTR(1)   TO ADDRESS OF HK-CONTENT-TYPE
           SET HDR-KEY-PTR(2)   TO ADDRESS OF HK-SCHEMA-ID
           SET HDR-KEY-PTR(3)   TO ADDRESS OF HK-RECORD-TYPE
           SET HDR-KEY-PTR(4)   TO ADDRESS OF HK-IDEMPOTENCY-KEY
           SET HDR-KEY-PTR(5)   TO ADDRESS OF HK-ORIGINAL-NAME
           SET HDR-VALUE-PTR(1) TO ADDRESS OF HV-CONTENT-TYPE
           SET HDR-VALUE-PTR(2) TO ADDRESS OF HV-SCHEMA-ID
           SET HDR-VALUE-PTR(3) TO ADDRESS OF HV-RECORD-TYPE
           SET HDR-VALUE-PTR(4) TO ADDRESS OF HV-IDEMPOTENCY-KEY
           SET HDR-VALUE-PTR(5) TO ADDRESS OF HV-ORIGINAL-NAME.

      *--- order WS-I into DETAIL-REC (a real job: READ the input) --*
       MAKE-ORDER.
           COMPUTE WS-CX = FUNCTION MOD(WS-I - 1, 8) + 1
           COMPUTE DR-ORDER-ID = 10000 + WS-I
           MOVE CUSTOMER-NAME(WS-CX) TO DR-CUSTOMER
           COMPUTE WS-AMOUNT = WS-I * 17.25 + 3.49
           COMPUTE DR-QUANTITY = FUNCTION MOD(WS-I, 9) + 1
           COMPUTE DR-ORDER-DATE = 20240300 + WS-I
           MOVE "N" TO DR-STATUS
           EVALUATE WS-I
      *        A refund: status R, a negative amount (valid).
               WHEN 5
                   MOVE "R" TO DR-STATUS
                   MOVE -25.00 TO WS-AMOUNT
      *        Wrong on purpose: the service must reject these.
               WHEN 7
                   MOVE 0 TO DR-QUANTITY
               WHEN 13
                   MOVE -45.00 TO WS-AMOUNT
               WHEN 19
                   MOVE 20240231 TO DR-ORDER-DATE
           END-EVALUATE
           MOVE WS-AMOUNT TO DR-AMOUNT
           ADD 1 TO WS-COUNT
           ADD WS-AMOUNT TO WS-TOTAL.

       DROP-ORDER.
           MOVE DR-ORDER-ID TO WS-KEY-SUFFIX
           MOVE "detail" TO WS-C-TEXT
           PERFORM SET-RECORD-HEADERS
           MOVE "ringdrop_drop_publish" TO WS-STEP
           MOVE LOW-VALUES TO RD-ID
           CALL "ringdrop_drop_publish" USING
                BY VALUE     RD-DROP
                BY REFERENCE DETAIL-REC
                BY VALUE     SIZE IS 8 RD-DATA-SIZE
                BY REFERENCE HDR-KEYS
                BY REFERENCE HDR-VALUES
                BY VALUE     SIZE IS 8 RD-HDR-COUNT
                BY REFERENCE RD-ID
                BY VALUE     SIZE IS 8 RD-ID-CAPACITY
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC
           PERFORM COUNT-FILE.

       DROP-TRAILER.
           MOVE WS-COUNT TO TR-COUNT
           MOVE WS-TOTAL TO TR-TOTAL
           MOVE "total" TO WS-KEY-SUFFIX
           MOVE "trailer" TO WS-C-TEXT
           PERFORM SET-RECORD-HEADERS
           MOVE "ringdrop_drop_publish (trailer)" TO WS-STEP
           MOVE LOW-VALUES TO RD-ID
           CALL "ringdrop_drop_publish" USING
                BY VALUE     RD-DROP
                BY REFERENCE TRAILER-REC
                BY VALUE     SIZE IS 8 RD-DATA-SIZE
                BY REFERENCE HDR-KEYS
                BY REFERENCE HDR-VALUES
                BY VALUE     SIZE IS 8 RD-HDR-COUNT
                BY REFERENCE RD-ID
                BY VALUE     SIZE IS 8 RD-ID-CAPACITY
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC
           PERFORM COUNT-FILE.

      *--- record-type (from WS-C-TEXT), idempotency-key and
      *    original-name (ORDER-<id>, or TRAILER) headers -----------*
       SET-RECORD-HEADERS.
           MOVE LOW-VALUES TO HV-RECORD-TYPE HV-IDEMPOTENCY-KEY
                              HV-ORIGINAL-NAME
           IF WS-KEY-SUFFIX = "total"
               MOVE Z"TRAILER" TO HV-ORIGINAL-NAME
           ELSE
               STRING "ORDER-"                     DELIMITED BY SIZE
                      FUNCTION TRIM(WS-KEY-SUFFIX) DELIMITED BY SIZE
                      X"00"                        DELIMITED BY SIZE
                      INTO HV-ORIGINAL-NAME
               END-STRING
           END-IF
           STRING FUNCTION TRIM(WS-C-TEXT) DELIMITED BY SIZE
                  X"00"                    DELIMITED BY SIZE
                  INTO HV-RECORD-TYPE
           END-STRING
           STRING "batchord-"                   DELIMITED BY SIZE
                  WS-RUN-DATE                   DELIMITED BY SIZE
                  "-"                           DELIMITED BY SIZE
                  FUNCTION TRIM(WS-KEY-SUFFIX)  DELIMITED BY SIZE
                  X"00"                         DELIMITED BY SIZE
                  INTO HV-IDEMPOTENCY-KEY
           END-STRING.

       COUNT-FILE.
           ADD 1 TO WS-FILES
           ADD RD-DATA-SIZE TO WS-BYTES
           MOVE HV-ORIGINAL-NAME TO SENT-NAME(WS-FILES)
           MOVE RD-ID TO SENT-ID(WS-FILES)
           IF WS-FILES = 1
               MOVE 0 TO WS-ID-LEN
               INSPECT RD-ID TALLYING WS-ID-LEN
                       FOR CHARACTERS BEFORE INITIAL X"00"
               MOVE RD-ID(1:WS-ID-LEN) TO WS-FIRST-ID
           END-IF.

      *--- what became of file WS-I: wait until it is settled -------*
       AWAIT-RECEIPT.
           MOVE "ringdrop_drop_receipt" TO WS-STEP
           MOVE SPACES TO RD-REASON
           CALL "ringdrop_drop_receipt" USING
                BY VALUE     RD-DROP
                BY REFERENCE SENT-NAME(WS-I)
                BY REFERENCE SENT-ID(WS-I)
                BY VALUE     RD-RECEIPT-WAIT
                BY REFERENCE RD-OUTCOME
                BY REFERENCE RD-REASON
                BY VALUE     SIZE IS 8 RD-REASON-CAPACITY
                RETURNING    RD-RC
           END-CALL
           PERFORM CHECK-RC
           EVALUATE TRUE
               WHEN RD-PROCESSED
                   ADD 1 TO WS-PROCESSED
               WHEN RD-DEAD-LETTERED
                   ADD 1 TO WS-DEAD
                   INSPECT RD-REASON REPLACING ALL X"00" BY SPACE
                   MOVE 0 TO WS-ID-LEN
                   INSPECT SENT-NAME(WS-I) TALLYING WS-ID-LEN
                           FOR CHARACTERS BEFORE INITIAL X"00"
                   DISPLAY "BATCH-ORDERS: "
                           SENT-NAME(WS-I)(1:WS-ID-LEN)
                           " dead-lettered: "
                           FUNCTION TRIM(RD-REASON TRAILING)
           END-EVALUATE.

       CLOSE-CHANNEL.
           IF RD-DROP NOT = NULL
               CALL "ringdrop_drop_close" USING BY VALUE RD-DROP
                    RETURNING OMITTED
               END-CALL
               SET RD-DROP TO NULL
           END-IF.

      *--- CHECK-RC and C-STRING-TO-TEXT ---------------------------*
           COPY "rdcheck.cpy" REPLACING
                ==:RD-PROG:==    BY =="BATCH-ORDERS"==
                ==:RD-CLEANUP:== BY ==CLOSE-CHANNEL==.
