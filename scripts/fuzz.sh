#!/usr/bin/env bash
# Builds the libFuzzer fuzzers (the `fuzz` preset: clang, ASan + UBSan, in
# build/fuzz) and runs each for the given seconds (default 60) over a copy
# of its seed corpus (fuzz/corpus/<name>/) and of the inputs that once broke
# it (fuzz/regressions/<name>/), with its dictionary (fuzz/dict/<name>.dict)
# if it has one. Nothing is written into the repository. Prints the
# executions per fuzzer; fails if any fuzzer crashed, hung (an input ran
# longer than 10 s) or leaked, and keeps what broke it in
# build/fuzz/artifacts/<name>/.
#
#   scripts/fuzz.sh [seconds] [fuzzer...]   e.g. scripts/fuzz.sh 20, scripts/fuzz.sh 300 ring_ops
#   scripts/fuzz.sh --seeds                 rewrites fuzz/corpus/ with ringdrop-fuzz-seeds
#
# RINGDROP_FUZZ_STRICT=1 also fails on what fuzz/README.md names as not a
# defect (a span past max_message_size() but inside the ring).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

all=(segment_open ring_ops drop_names drop_tree message)

build() {
  echo "=== fuzz: build"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz
}

if [ "${1:-}" = "--seeds" ]; then
  build
  rm -rf fuzz/corpus
  build/fuzz/fuzz/ringdrop-fuzz-seeds fuzz/corpus
  find fuzz/corpus -type f | sort
  exit 0
fi

seconds=${1:-60}
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [seconds] [fuzzer...] | --seeds" >&2; exit 2 ;;
esac
shift || true
fuzzers=("$@")
[ ${#fuzzers[@]} -gt 0 ] || fuzzers=("${all[@]}")

build

# Scratch space for corpora, segment files and drop channels: tmpfs when
# there is one (the drop channel fuzzer makes a directory tree per input).
work=$(mktemp -d /dev/shm/ringdrop-fuzz-XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=()
echo "=== fuzz: ${seconds}s each"
for f in "${fuzzers[@]}"; do
  bin="build/fuzz/fuzz/ringdrop-fuzz-$f"
  [ -x "$bin" ] || { echo "no fuzzer $f (have: ${all[*]})" >&2; exit 2; }
  dir="$work/$f"
  mkdir -p "$dir/corpus" "$dir/tmp"
  cp fuzz/corpus/"$f"/* "$dir/corpus/"
  if [ -d "fuzz/regressions/$f" ]; then cp fuzz/regressions/"$f"/* "$dir/corpus/"; fi
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$dir/")
  if [ -f "fuzz/dict/$f.dict" ]; then args+=(-dict="fuzz/dict/$f.dict"); fi
  rc=0
  TMPDIR="$dir/tmp" "$bin" "${args[@]}" "$dir/corpus" >"$dir/log" 2>&1 &
  pid=$!
  wait "$pid" || rc=$?
  rm -f /dev/shm/rdfz-"$pid"-*  # shm segments of an input that crashed
  execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$dir/log")
  corpus=$(find "$dir/corpus" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    printf '%-14s %10s executions  %5s inputs in its corpus\n' "$f" "${execs:-?}" "$corpus"
  else
    printf '%-14s FAILED (exit %s) after %s executions\n' "$f" "$rc" "${execs:-?}"
    grep -E 'ERROR|FUZZ CHECK|runtime error|SUMMARY|^    #[0-9]+ ' "$dir/log" | head -40 || true
    mkdir -p "build/fuzz/artifacts/$f"
    cp "$dir/log" "build/fuzz/artifacts/$f/log"
    find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'leak-*' -o -name 'oom-*' \) \
      -exec cp {} "build/fuzz/artifacts/$f/" \;
    echo "  input and log kept in build/fuzz/artifacts/$f/ (replay: $bin <file>)"
    failed+=("$f")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${failed[*]} failed"
  exit 1
fi
echo "fuzz: no crash, hang or leak"
