      *================================================================*
      * rdcheckl.cpy: the LINKAGE SECTION item of rdcheck.cpy: a C    *
      * string returned by the library, looked at in place            *
      * (C-STRING-TO-TEXT sets its address; no storage of its own).   *
      *================================================================*
       01  LK-C-STRING               PIC X(256).
