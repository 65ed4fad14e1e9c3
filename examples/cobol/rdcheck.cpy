      *================================================================*
      * rdcheck.cpy: CHECK-RC and C-STRING-TO-TEXT, the error handling *
      * of every ringdrop call (data: rdcheckw.cpy, rdcheckl.cpy).     *
      *                                                                *
      *   COPY "rdcheck.cpy" REPLACING ==:RD-PROG:== BY =="MY-JOB"==   *
      *                                ==:RD-CLEANUP:== BY ==CLOSE-X==.*
      *                                                                *
      *   :RD-PROG:    the program name (a literal) that starts each   *
      *                message on SYSERR;                              *
      *   :RD-CLEANUP: the program's paragraph that closes what is     *
      *                open (it must cope with handles still NULL).    *
      *                                                                *
      * Use: MOVE "<function>" TO WS-STEP, CALL "<function>" ...       *
      * RETURNING RD-RC, PERFORM CHECK-RC. On rc not RINGDROP_OK it    *
      * prints the step, the rc, ringdrop_strerror(rc) and             *
      * ringdrop_last_error_message() on SYSERR, performs the clean-up *
      * and ends the run with RETURN-CODE 8.                           *
      *================================================================*
      *--- every call's result goes through here -------------------*
       CHECK-RC.
           IF RD-RC NOT = RD-OK
      *        The detail first: it belongs to the last ringdrop call.
               CALL "ringdrop_last_error_message"
                    RETURNING WS-C-PTR
               END-CALL
               PERFORM C-STRING-TO-TEXT
               MOVE WS-C-TEXT TO WS-ERR-DETAIL
               CALL "ringdrop_strerror" USING BY VALUE RD-RC
                    RETURNING WS-C-PTR
               END-CALL
               PERFORM C-STRING-TO-TEXT
               MOVE WS-C-TEXT TO WS-ERR-TEXT
               MOVE RD-RC TO WS-RC-EDIT
               DISPLAY :RD-PROG: ": " FUNCTION TRIM(WS-STEP)
                       " failed, rc " FUNCTION TRIM(WS-RC-EDIT)
                       ": " FUNCTION TRIM(WS-ERR-TEXT)
                       UPON SYSERR
               IF WS-ERR-DETAIL NOT = SPACES
                   DISPLAY :RD-PROG: ":   "
                           FUNCTION TRIM(WS-ERR-DETAIL)
                           UPON SYSERR
               END-IF
               PERFORM :RD-CLEANUP:
               MOVE 8 TO RETURN-CODE
               STOP RUN
           END-IF.

      *--- a C string (WS-C-PTR) into WS-C-TEXT, space-padded ------*
      *    Reads up to the NUL and no further (at most 256 bytes).
       C-STRING-TO-TEXT.
           MOVE SPACES TO WS-C-TEXT
           IF WS-C-PTR NOT = NULL
               SET ADDRESS OF LK-C-STRING TO WS-C-PTR
               PERFORM VARYING WS-C-LEN FROM 1 BY 1
                       UNTIL WS-C-LEN > 256
                          OR LK-C-STRING(WS-C-LEN:1) = X"00"
                   MOVE LK-C-STRING(WS-C-LEN:1)
                     TO WS-C-TEXT(WS-C-LEN:1)
               END-PERFORM
           END-IF.
