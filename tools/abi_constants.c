/* tools/abi_constants.c — prints the values of ringdrop.h's error codes,
 * one "RINGDROP_<NAME> <value>" line each, for the ABI check
 * (scripts/abi-check.sh compiles and runs it; tools/abi_compare.py compares
 * the list with the last release's). They are enumerators, which neither the
 * preprocessor (#define) nor the debug information abidiff reads shows. */
#include <stdio.h>

#include "ringdrop.h"

int main(void) {
#define RINGDROP_PRINT_(cpp_name, c_suffix, number, message) \
  printf("RINGDROP_%s %d\n", #c_suffix, (int)RINGDROP_##c_suffix);
  RINGDROP_ERROR_TABLE(RINGDROP_PRINT_)
#undef RINGDROP_PRINT_
#define RINGDROP_C_PRINT_(c_suffix, number, message) \
  printf("RINGDROP_%s %d\n", #c_suffix, (int)RINGDROP_##c_suffix);
  RINGDROP_C_ERROR_TABLE(RINGDROP_C_PRINT_)
#undef RINGDROP_C_PRINT_
  return 0;
}
