      *================================================================*
      * orders.cpy: the order table and the 80-byte interface records *
      * shared by ring_sender.cob and drop_writer.cob (and mirrored,  *
      * field by field, by cobol_consumer.cpp).                       *
      *================================================================*
      *--- the order table (what a batch job would read from its
      *    input file or a database) --------------------------------*
       01  ORDER-TABLE.
           05  ORDER-ENTRY OCCURS 5 TIMES INDEXED BY OX.
               10  OT-ID             PIC 9(8).
               10  OT-CUSTOMER       PIC X(30).
               10  OT-AMOUNT         PIC S9(7)V99.
               10  OT-QUANTITY       PIC 9(5).
               10  OT-DATE           PIC 9(8).
               10  OT-STATUS         PIC X.
       01  WS-TOTAL                  PIC S9(11)V99 VALUE 0.
       01  WS-COUNT                  PIC 9(8) VALUE 0.
      *--- the 80-byte interface record ----------------------------*
      *    Detail: type 'D', then the order; trailer: type 'T', the
      *    count and the total. Every field is DISPLAY (text), signs
      *    are LEADING SEPARATE ('+'/'-'), so the C++ side reads plain
      *    ASCII; the record is padded with spaces to 80 bytes.
       01  DETAIL-REC.
           05  DR-TYPE               PIC X VALUE "D".
           05  DR-ORDER-ID           PIC 9(8).
           05  DR-CUSTOMER           PIC X(30).
           05  DR-AMOUNT             PIC S9(7)V99
                                     SIGN IS LEADING SEPARATE.
           05  DR-QUANTITY           PIC 9(5).
           05  DR-ORDER-DATE         PIC 9(8).
           05  DR-STATUS             PIC X.
           05  FILLER                PIC X(17) VALUE SPACES.
       01  TRAILER-REC.
           05  TR-TYPE               PIC X VALUE "T".
           05  TR-COUNT              PIC 9(8).
           05  TR-TOTAL              PIC S9(11)V99
                                     SIGN IS LEADING SEPARATE.
           05  FILLER                PIC X(57) VALUE SPACES.

