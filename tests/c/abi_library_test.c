/* The library part of the C ABI, from C99 (compiled -std=c99 -pedantic
 * -Werror, linked against libringdrop.so): versions agree, every code has a
 * description, nothing returns NULL, a failed system call's errno reaches
 * ringdrop_last_error_errno(). Exit 0 when all checks pass. */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi_check.h"
#include "ringdrop.h"

static void versions_agree(void) {
  char expected[32];
  CHECK(ringdrop_version() == RINGDROP_VERSION);
  sprintf(expected, "%d.%d.%d", RINGDROP_VERSION_MAJOR, RINGDROP_VERSION_MINOR,
          RINGDROP_VERSION_PATCH);
  CHECK(strcmp(ringdrop_version_string(), expected) == 0);
  CHECK(RINGDROP_VERSION == RINGDROP_VERSION_MAJOR * 10000 + RINGDROP_VERSION_MINOR * 100 +
                                RINGDROP_VERSION_PATCH);
}

static void every_code_has_its_own_text(void) {
  static const int codes[] = {
      RINGDROP_OK,          RINGDROP_EWOULDBLOCK,   RINGDROP_ETIMEDOUT,  RINGDROP_EDEADLINE,
      RINGDROP_EPEERGONE,   RINGDROP_EROLETAKEN,    RINGDROP_EMESSAGELOST, RINGDROP_EBADMESSAGE,
      RINGDROP_EMSGSIZE,    RINGDROP_ECORRUPTED,    RINGDROP_EFOREIGN,   RINGDROP_EINCOMPATIBLE,
      RINGDROP_EWRONGKIND,  RINGDROP_ECAPACITY,     RINGDROP_EPERM,      RINGDROP_ENOTFOUND,
      RINGDROP_EEXISTS,     RINGDROP_EINVAL,        RINGDROP_ENOSPACE,   RINGDROP_ELEASELOST,
      RINGDROP_EUNSAFEFILE, RINGDROP_EREMOTE,       RINGDROP_ECIRCUITOPEN, RINGDROP_EUNKNOWNTYPE,
      RINGDROP_EDEADLETTERED,
      RINGDROP_ESYSTEM,     RINGDROP_ENOMEM,        RINGDROP_EINTERNAL};
  const size_t n = sizeof codes / sizeof codes[0];
  size_t i, j;
  for (i = 0; i < n; ++i) {
    const char* text = ringdrop_strerror(codes[i]);
    CHECK(text != NULL && text[0] != '\0');
    CHECK(strstr(text, "unknown") == NULL);
    for (j = 0; j < i; ++j) CHECK(strcmp(text, ringdrop_strerror(codes[j])) != 0);
  }
  CHECK(strcmp(ringdrop_strerror(RINGDROP_ETIMEDOUT), ringdrop_strerror(RINGDROP_ETIMEDOUT)) == 0);
}

static void unknown_codes_are_described_not_null(void) {
  static const int unknown[] = {-25, -99, -103, 1, 42, -2147483647 - 1};
  size_t i;
  for (i = 0; i < sizeof unknown / sizeof unknown[0]; ++i) {
    const char* text = ringdrop_strerror(unknown[i]);
    CHECK(text != NULL && strstr(text, "unknown") != NULL);
  }
}

static void last_error_message_is_never_null(void) {
  CHECK(ringdrop_last_error_message() != NULL);
}

/* Creates file-backed ring `path`: 0 or the failure's code. */
static int create_file_ring(const char* path) {
  ringdrop_ring_options o;
  ringdrop_ring* ring = NULL;
  int rc;
  ringdrop_ring_options_init(&o);
  o.file_backed = 1;
  o.capacity = 1 << 16;
  rc = ringdrop_ring_open(path, RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, &o,
                          &ring);
  ringdrop_ring_close(ring);
  return rc;
}

static void system_errors_carry_their_errno(void) {
  char dir[] = "/tmp/rd-abi-errno-XXXXXX";
  char path[512];
  char plain[256];
  FILE* f;
  context = "errno";
  if (mkdtemp(dir) == NULL) {
    CHECK(!"mkdtemp");
    return;
  }

  /* A directory that does not exist: open(2) says ENOENT, a code names it. */
  snprintf(path, sizeof path, "%s/missing/ring", dir);
  CHECK_FAILS(create_file_ring(path), RINGDROP_ENOTFOUND);
  CHECK(ringdrop_last_error_errno() == ENOENT);

  /* A plain file used as a directory: ENOTDIR, which no code names. */
  snprintf(plain, sizeof plain, "%s/plain", dir);
  f = fopen(plain, "w");
  CHECK(f != NULL);
  if (f != NULL) fclose(f);
  snprintf(path, sizeof path, "%s/ring", plain);
  CHECK_FAILS(create_file_ring(path), RINGDROP_ESYSTEM);
  CHECK(ringdrop_last_error_errno() == ENOTDIR);
  CHECK(strstr(ringdrop_last_error_message(), strerror(ENOTDIR)) != NULL);
  /* Reading the error changes nothing. */
  (void)ringdrop_strerror(RINGDROP_ESYSTEM);
  (void)ringdrop_last_error_message();
  CHECK(ringdrop_last_error_errno() == ENOTDIR);

  /* A failure of no system call has no errno; the next call clears it. */
  CHECK_FAILS(ringdrop_ring_open(NULL, RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE,
                                 NULL, NULL),
              RINGDROP_EINVAL);
  CHECK(ringdrop_last_error_errno() == 0);
  CHECK_FAILS(create_file_ring(path), RINGDROP_ESYSTEM);
  snprintf(path, sizeof path, "%s/ring", dir);
  CHECK_OK(create_file_ring(path));
  CHECK(ringdrop_last_error_errno() == 0);
  CHECK(ringdrop_last_error_message()[0] == '\0');

  CHECK_OK(ringdrop_ring_remove(path, 1));
  CHECK(unlink(plain) == 0);
  CHECK(rmdir(dir) == 0);
  context = "";
}

int main(void) {
  versions_agree();
  every_code_has_its_own_text();
  unknown_codes_are_described_not_null();
  last_error_message_is_never_null();
  system_errors_carry_their_errno();
  if (failures == 0) printf("abi_library_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
