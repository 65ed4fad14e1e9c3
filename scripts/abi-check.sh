#!/usr/bin/env bash
# The ABI check: libringdrop.so of a build against the baseline of the last
# release, abi/libringdrop.abi, with abigail's abidiff (abigail-tools).
#
#   scripts/abi-check.sh [build dir]            check (default build/release)
#   scripts/abi-check.sh --renew [build dir]    write the baseline: at a release
#   scripts/abi-check.sh --baseline F [build]   check against F instead
#
# Passes when functions, codes and macros were only added and the
# *_options/*_stats structs (which carry their size) only grew at their end;
# fails on any function removed or changed (a parameter, the return type, a
# struct it reaches laid out anew) and on an error code or macro of
# ringdrop.h removed or given another value. Only the C ABI counts: the types
# of ringdrop.h (--headers-dir), reached from the exported ringdrop_*
# functions, read from debug information (bindings/c/CMakeLists.txt: -g), so
# the build must not be stripped; and the constants, listed by constants()
# below. abidiff does the functions; tools/abi_compare.py what abidiff cannot
# (it says what). The baseline is abi/libringdrop.abi and
# abi/libringdrop.constants. bindings/README.md has the release procedure.
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=abi/libringdrop.abi
constants_baseline=abi/libringdrop.constants
renew=0
case "${1:-}" in
  --renew) renew=1; shift ;;
  --baseline) baseline=$2; shift 2 ;;  # F, and F with .constants for .abi
esac
[ "$baseline" = abi/libringdrop.abi ] || constants_baseline=${baseline%.abi}.constants
build=${1:-build/release}
lib="$build/lib/libringdrop.so"
[ -f "$lib" ] || { echo "abi-check: no $lib (build first)" >&2; exit 2; }
command -v abidiff >/dev/null || { echo "abi-check: abidiff missing (scripts/install-deps.sh installs abigail-tools)" >&2; exit 2; }
cc=${CC:-cc}  # lists the constants; ctest passes the build's C compiler
command -v "$cc" >/dev/null || { echo "abi-check: no C compiler '$cc' (set CC)" >&2; exit 2; }
if [ "$renew" = 0 ] && [ ! -f "${baseline%.abi}.constants" ] && [ "$baseline" != abi/libringdrop.abi ]; then
  echo "abi-check: --baseline $baseline needs ${baseline%.abi}.constants beside it" >&2; exit 2
fi

work=$(mktemp -d)
exe=$build/abi_constants.$$  # a program run: in the build folder, since a temporary folder may be noexec
trap 'rm -rf "$work" "$exe"' EXIT

describe() {  # the functions and types: abigail's XML of $lib into $1
  abidw --no-corpus-path --no-comp-dir-path --short-locs --exported-interfaces-only \
        --headers-dir bindings/c/include --drop-private-types --out-file "$1" "$lib"
}

constants() {  # the error codes and the macros of ringdrop.h, "NAME VALUE" sorted, into $1
  local includes="-Ibindings/c/include -Ilib/include -I$build/lib/include"
  "$cc" -std=c99 $includes -o "$exe" tools/abi_constants.c
  {
    "$exe"
    # Object-like and function-like macros, but not the version (it changes
    # at every release), the include guards, nor the error tables (their text
    # grows with each code; the codes themselves are listed above).
    "$cc" -std=c99 $includes -E -dM bindings/c/include/ringdrop.h |
      sed -n 's/^#define \(\(RINGDROP_\|ringdrop_\)[A-Za-z0-9_]*\(([^)]*)\)\{0,1\}\) *\(.*\)$/\1 \4/p' |
      grep -Ev '^(RINGDROP_VERSION|RINGDROP_([A-Z_]*_)?H |RINGDROP_(C_)?ERROR_TABLE)'
  } | LC_ALL=C sort >"$1"
}

if [ "$renew" = 1 ]; then
  describe "$baseline"
  constants "$constants_baseline"
  echo "abi-check: wrote $baseline and $constants_baseline from $lib"
  exit 0
fi

report=$work/report
rc=0
abidiff --suppressions abi/libringdrop.abignore --headers-dir2 bindings/c/include \
        "$baseline" "$lib" >"$report" || rc=$?
cat "$report"
# abidiff's status is a bit mask: 1 error, 2 usage error, 4 a change, 8 an
# incompatible change. A change (4) may be an addition, which the policy
# allows: the summary lines tell additions from removals and changes.
if [ $((rc & 3)) -ne 0 ]; then
  echo "abi-check: abidiff failed (status $rc)" >&2
  exit 2
fi
broken=$(grep -E '^(Functions|Variables) changes summary:' "$report" |
         grep -Ev ': 0 Removed, 0 Changed' || true)
if [ $((rc & 8)) -ne 0 ] || [ -n "$broken" ]; then
  echo "abi-check: FAILED: $lib breaks the ABI of $baseline (removed or changed, above)." >&2
  echo "  Within a major version the C ABI only grows (bindings/README.md)." >&2
  exit 1
fi
# What abidiff cannot say: the sized structs (which it was told to leave
# alone), the signatures that reach them, the constants.
describe "$work/current.abi"
constants "$work/current.constants"
compare_rc=0
python3 tools/abi_compare.py "$baseline" "$work/current.abi" "$constants_baseline" "$work/current.constants" ||
  compare_rc=$?
if [ "$compare_rc" -ne 0 ]; then
  echo "abi-check: FAILED: $lib changes a struct, a signature or a constant of $baseline (above)." >&2
  echo "  Within a major version the C ABI only grows (bindings/README.md)." >&2
  exit 1
fi
echo "abi-check: $lib keeps the ABI of $baseline (status $rc: $( [ "$rc" = 0 ] && echo no change || echo additions only ))"
