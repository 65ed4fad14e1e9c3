#!/usr/bin/env bash
# The ABI check: libringdrop.so of a build against the baseline of the last
# release, abi/libringdrop.abi, with abigail's abidiff (abigail-tools).
#
#   scripts/abi-check.sh [build dir]            check (default build/release)
#   scripts/abi-check.sh --renew [build dir]    write the baseline: at a release
#   scripts/abi-check.sh --baseline F [build]   check against F instead
#
# Passes when functions were only added and the *_options/*_stats structs
# (which carry their size) only grew at their end (tools/abi_structs.py);
# fails on any function removed or changed, which includes a public struct
# whose layout changed. Only the C ABI counts: the types of ringdrop.h
# (--headers-dir), reached from the exported ringdrop_* functions. Reads the
# types from debug information (bindings/c/CMakeLists.txt: -g), so the build
# must not be stripped. bindings/README.md has the release procedure.
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=abi/libringdrop.abi
renew=0
case "${1:-}" in
  --renew) renew=1; shift ;;
  --baseline) baseline=$2; shift 2 ;;
esac
build=${1:-build/release}
lib="$build/lib/libringdrop.so"
[ -f "$lib" ] || { echo "abi-check: no $lib (build first)" >&2; exit 2; }
command -v abidiff >/dev/null || { echo "abi-check: abidiff missing (scripts/install-deps.sh installs abigail-tools)" >&2; exit 2; }

if [ "$renew" = 1 ]; then
  abidw --no-corpus-path --no-comp-dir-path --short-locs --exported-interfaces-only \
        --headers-dir bindings/c/include --drop-private-types --out-file "$baseline" "$lib"
  echo "abi-check: wrote $baseline from $lib"
  exit 0
fi

report=$(mktemp)
trap 'rm -f "$report" "$report.abi"' EXIT
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
# The sized structs, which abidiff was told to leave alone: grown at the
# end at most (tools/abi_structs.py says why it is not abidiff's job).
abidw --no-corpus-path --no-comp-dir-path --short-locs --exported-interfaces-only \
      --headers-dir bindings/c/include --drop-private-types --out-file "$report.abi" "$lib"
structs_rc=0
python3 tools/abi_structs.py "$baseline" "$report.abi" || structs_rc=$?
rm -f "$report.abi"
if [ "$structs_rc" -ne 0 ]; then
  echo "abi-check: FAILED: $lib changes a sized struct of $baseline (above)." >&2
  echo "  Within a major version the C ABI only grows (bindings/README.md)." >&2
  exit 1
fi
echo "abi-check: $lib keeps the ABI of $baseline (status $rc: $( [ "$rc" = 0 ] && echo no change || echo additions only ))"
