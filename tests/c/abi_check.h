/* abi_check.h — the checks the C ABI tests share: each failed check prints
 * where (file, line, the `context` the test sets) and what, and counts into
 * `failures`; main() exits non-zero when there were any. Include it once, in
 * the test's only translation unit. */
#ifndef RINGDROP_ABI_CHECK_H
#define RINGDROP_ABI_CHECK_H

#include <stdio.h>
#include <string.h>

#include "ringdrop.h"

static int failures = 0;
/* The case a check runs in, shown in its failure message. */
static const char* context = "";

#define CHECK(cond)                                                                      \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      fprintf(stderr, "%s:%d [%s]: check failed: %s\n", __FILE__, __LINE__, context, #cond); \
      ++failures;                                                                        \
    }                                                                                    \
  } while (0)

/* `call` returns `code`. */
#define CHECK_RC(call, code)                                                              \
  do {                                                                                    \
    const int rc_ = (call);                                                               \
    if (rc_ != (code)) {                                                                  \
      fprintf(stderr, "%s:%d [%s]: %s returned %d (%s; \"%s\"), expected %d (%s)\n",      \
              __FILE__, __LINE__, context, #call, rc_, ringdrop_strerror(rc_),            \
              ringdrop_last_error_message(), (code), ringdrop_strerror(code));            \
      ++failures;                                                                         \
    }                                                                                     \
  } while (0)

#define CHECK_OK(call) CHECK_RC(call, RINGDROP_OK)

/* `call` fails with `code` and says why: ringdrop_last_error_message() is
 * neither empty nor the text an earlier failure left. */
#define CHECK_FAILS(call, code)                     \
  do {                                              \
    leave_marker_message();                         \
    CHECK_RC(call, code);                           \
    check_fresh_message(__LINE__, #call);           \
  } while (0)

#define MARKER "stale/marker"

static inline void leave_marker_message(void) { (void)ringdrop_ring_remove(MARKER, 0); }

static inline void check_fresh_message(int line, const char* call) {
  const char* text = ringdrop_last_error_message();
  if (text == NULL || text[0] == '\0' || strstr(text, MARKER) != NULL) {
    fprintf(stderr, "%s:%d [%s]: after %s, ringdrop_last_error_message() is \"%s\"\n", __FILE__,
            line, context, call, text ? text : "(null)");
    ++failures;
  }
}

#define MS 1000000LL
/* An upper bound for waits that must end well before it. */
#define LONG_WAIT (30000LL * MS)

#endif /* RINGDROP_ABI_CHECK_H */
