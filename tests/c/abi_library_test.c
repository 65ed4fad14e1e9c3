/* The library part of the C ABI, from C99 (compiled -std=c99 -pedantic
 * -Werror, linked against libringdrop.so): versions agree, every code has a
 * description, nothing returns NULL. Exit 0 when all checks pass. */
#include <stdio.h>
#include <string.h>

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
  static const int unknown[] = {-24, -99, -103, 1, 42, -2147483647 - 1};
  size_t i;
  for (i = 0; i < sizeof unknown / sizeof unknown[0]; ++i) {
    const char* text = ringdrop_strerror(unknown[i]);
    CHECK(text != NULL && strstr(text, "unknown") != NULL);
  }
}

static void last_error_message_is_never_null(void) {
  CHECK(ringdrop_last_error_message() != NULL);
}

int main(void) {
  versions_agree();
  every_code_has_its_own_text();
  unknown_codes_are_described_not_null();
  last_error_message_is_never_null();
  if (failures == 0) printf("abi_library_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
