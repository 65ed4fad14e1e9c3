      *================================================================*
      * ordload.cpy: LOAD-ORDERS fills ORDER-TABLE (orders.cpy) with  *
      * the test orders (what a real job reads from its input file).  *
      *================================================================*
       LOAD-ORDERS.
           MOVE 00000001             TO OT-ID(1)
           MOVE "ACME WIDGETS LTD"   TO OT-CUSTOMER(1)
           MOVE 1234.56              TO OT-AMOUNT(1)
           MOVE 10                   TO OT-QUANTITY(1)
           MOVE 20231105             TO OT-DATE(1)
           MOVE "N"                  TO OT-STATUS(1)
           MOVE 00000002             TO OT-ID(2)
           MOVE "BLUE LAGOON TRADING" TO OT-CUSTOMER(2)
           MOVE 0.99                 TO OT-AMOUNT(2)
           MOVE 1                    TO OT-QUANTITY(2)
           MOVE 20231106             TO OT-DATE(2)
           MOVE "N"                  TO OT-STATUS(2)
      *    A refund: a negative amount.
           MOVE 00000003             TO OT-ID(3)
           MOVE "CARTWRIGHT & SONS"  TO OT-CUSTOMER(3)
           MOVE -12.50               TO OT-AMOUNT(3)
           MOVE 1                    TO OT-QUANTITY(3)
           MOVE 20231107             TO OT-DATE(3)
           MOVE "R"                  TO OT-STATUS(3)
      *    The largest values the fields hold.
           MOVE 99999999             TO OT-ID(4)
           MOVE "DELTA FREIGHT GMBH" TO OT-CUSTOMER(4)
           MOVE 9999999.99           TO OT-AMOUNT(4)
           MOVE 99999                TO OT-QUANTITY(4)
           MOVE 20231231             TO OT-DATE(4)
           MOVE "H"                  TO OT-STATUS(4)
      *    A customer name that fills all 30 characters.
           MOVE 00000005             TO OT-ID(5)
           MOVE "ZENITH OPTICAL INSTRUMENTS INC"
                                     TO OT-CUSTOMER(5)
           MOVE 0                    TO OT-AMOUNT(5)
           MOVE 0                    TO OT-QUANTITY(5)
           MOVE 20240101             TO OT-DATE(5)
           MOVE "C"                  TO OT-STATUS(5).

