/* ringdrop.h — the stable C ABI of ringdrop.
 *
 * C99, usable from C and C++, and through any foreign-function interface
 * (Python ctypes, COBOL CALL, Fortran iso_c_binding). It holds no C++ type.
 *
 * Conventions, for every function declared here:
 *   - Names are ringdrop_<noun>_<verb> (or ringdrop_<verb> for the library).
 *   - A function that can fail returns 0 on success or a negative
 *     RINGDROP_E* code; it never throws, never aborts, never exits. No C++
 *     exception crosses this boundary: each entry point catches and converts
 *     (out of memory is RINGDROP_ENOMEM).
 *   - After a failure, ringdrop_last_error_message() says what went wrong in a
 *     sentence (which name, which field, which system call), for this thread.
 *   - Handles are opaque pointers. Destroying a NULL handle is a harmless
 *     no-op.
 *
 * ABI policy (docs: bindings/README.md): within a major version, functions,
 * codes and struct layouts are only ever added, never changed or removed;
 * the SONAME (libringdrop.so.<major>) changes with the major version. Only
 * ringdrop_* symbols are exported from libringdrop.so.
 *
 * This first part is the library itself: versions and errors. Handles for
 * the rings, the file-drop channel and request/response follow. */
#ifndef RINGDROP_H
#define RINGDROP_H

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- versions */

#define RINGDROP_VERSION_MAJOR 0
#define RINGDROP_VERSION_MINOR 1
#define RINGDROP_VERSION_PATCH 0
/* One number, comparable: major * 10000 + minor * 100 + patch. */
#define RINGDROP_VERSION \
  (RINGDROP_VERSION_MAJOR * 10000 + RINGDROP_VERSION_MINOR * 100 + RINGDROP_VERSION_PATCH)

/* The version of the library loaded at run time, as RINGDROP_VERSION: a
 * program can check that it runs against the version it was built for (same
 * major, minor at least its own). */
int ringdrop_version(void);
/* The same as text, "0.1.0". */
const char* ringdrop_version_string(void);

/* --------------------------------------------------------------- errors */

/* Success. */
#define RINGDROP_OK 0
/* The codes of the C++ ringdrop::errc, negated; see ringdrop_strerror(). */
#define RINGDROP_EWOULDBLOCK (-1)         /* nothing to read or no room now */
#define RINGDROP_ETIMEDOUT (-2)           /* the wait's timeout passed; nothing lost */
#define RINGDROP_EDEADLINE (-3)           /* a message's own deadline passed */
#define RINGDROP_EPEERGONE (-4)           /* the peer process died or left */
#define RINGDROP_EROLETAKEN (-5)          /* another live process holds the role */
#define RINGDROP_EMESSAGELOST (-6)        /* a message is known to be lost */
#define RINGDROP_EBADMESSAGE (-7)         /* malformed, truncated or wrong type */
#define RINGDROP_EMSGSIZE (-8)            /* larger than the ring can ever hold */
#define RINGDROP_ECORRUPTED (-9)          /* the segment is damaged */
#define RINGDROP_EFOREIGN (-10)           /* not a ringdrop segment */
#define RINGDROP_EINCOMPATIBLE (-11)      /* another layout version */
#define RINGDROP_EWRONGKIND (-12)         /* another ring kind */
#define RINGDROP_ECAPACITY (-13)          /* not the capacity asked for */
#define RINGDROP_EPERM (-14)              /* permission denied */
#define RINGDROP_ENOTFOUND (-15)          /* no such ring, channel or message */
#define RINGDROP_EEXISTS (-16)            /* already exists */
#define RINGDROP_EINVAL (-17)             /* a bad argument, name or option */
#define RINGDROP_ENOSPACE (-18)           /* the disk or a quota is full */
#define RINGDROP_ELEASELOST (-19)         /* a drop-channel claim's lease expired */
#define RINGDROP_EUNSAFEFILE (-20)        /* a symlink, FIFO, hard link... refused */
/* Codes of the C ABI itself. */
#define RINGDROP_ESYSTEM (-100)           /* an operating-system error no code above names */
#define RINGDROP_ENOMEM (-101)            /* out of memory */
#define RINGDROP_EINTERNAL (-102)         /* a bug in ringdrop: please report it */

/* A short, static description of `code` (0 or a RINGDROP_E* code); never
 * NULL, also for codes this version does not know. */
const char* ringdrop_strerror(int code);

/* The detail of the last failure on this thread ("shm:orders has layout
 * version 7, this library speaks 1"); "" when there is none. The text stays
 * valid until the next ringdrop call on this thread. */
const char* ringdrop_last_error_message(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RINGDROP_H */
