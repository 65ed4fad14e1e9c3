      *================================================================*
      * rdcheckw.cpy: the WORKING-STORAGE items of rdcheck.cpy (every *
      * ringdrop call's result, checked by CHECK-RC, and the error    *
      * report). COPY it in WORKING-STORAGE, rdcheckl.cpy in the      *
      * LINKAGE SECTION and rdcheck.cpy in the PROCEDURE DIVISION.    *
      *================================================================*
      *--- RINGDROP_OK, and each call's result: CALL ... RETURNING
      *    RD-RC, then PERFORM CHECK-RC ----------------------------*
       01  RD-OK                     USAGE BINARY-LONG VALUE 0.
       01  RD-RC                     USAGE BINARY-LONG VALUE 0.
      *--- error reporting: WS-STEP names the call being checked ---*
       01  WS-STEP                   PIC X(40) VALUE SPACES.
       01  WS-RC-EDIT                PIC -(5)9.
       01  WS-C-PTR                  USAGE POINTER.
       01  WS-C-TEXT                 PIC X(256).
       01  WS-C-LEN                  PIC 9(4) COMP-5.
       01  WS-ERR-TEXT               PIC X(256).
       01  WS-ERR-DETAIL             PIC X(256).
