#!/usr/bin/env bash
# Runs the benchmarks and writes a report into results/latest/: results.md
# (tables), latency.png and throughput.png (plots), results.csv, and the raw
# output of the programs. `--quick` runs ringdrop-pingpong --quick and
# shorter micro-benchmarks (a smoke run, under a minute once built).
#
#   scripts/bench.sh [--quick]
#
# Installs the Debian packages that are missing, builds the release preset
# (only the benchmark programs), runs ringdrop-pingpong, ringdrop-micro and
# ringdrop-micro-c (the C ABI rows), then tools/bench_report.py. Each run
# replaces results/latest/.
set -euo pipefail
cd "$(dirname "$0")/.."

pingpong_args=()
micro_args=()
case "${1:-}" in
  "") ;;
  --quick) pingpong_args=(--quick); micro_args=(--benchmark_min_time=0.05) ;;
  *) echo "usage: scripts/bench.sh [--quick]" >&2; exit 2 ;;
esac

# Dependencies: the build's (install-deps.sh), then the benchmark's own:
# ZeroMQ for the alternative transports, matplotlib for the plots. Only
# missing packages are installed, as in install-deps.sh.
scripts/install-deps.sh
missing=()
for p in libzmq3-dev python3-matplotlib; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bench: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Release build of the benchmark programs (not the tests: a benchmark run
# should not wait for, or fail on, the test suite).
cmake --preset release >/dev/null
cmake --build --preset release --target ringdrop-pingpong ringdrop-micro ringdrop-micro-c

out=results/latest
rm -rf "$out"
mkdir -p "$out"

echo "=== ringdrop-pingpong ${pingpong_args[*]}"
build/release/bench/ringdrop-pingpong "${pingpong_args[@]}" --json "$out/pingpong.jsonl" |
  tee "$out/pingpong.txt"

echo "=== ringdrop-micro ${micro_args[*]}"
build/release/bench/micro/ringdrop-micro "${micro_args[@]}" \
  --benchmark_out="$out/micro.json" --benchmark_out_format=json | tee "$out/micro.txt"

# The C ABI's rows (not in the report's tables: its own JSON and text).
echo "=== ringdrop-micro-c ${micro_args[*]}"
build/release/bench/micro/ringdrop-micro-c "${micro_args[@]}" \
  --benchmark_out="$out/micro_c.json" --benchmark_out_format=json | tee "$out/micro_c.txt"

# The Debian interpreter: python3-matplotlib is installed for it, which a
# python3 earlier on PATH (a virtualenv, pyenv) may not see.
python=python3
[ -x /usr/bin/python3 ] && python=/usr/bin/python3
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit with local changes"
"$python" tools/bench_report.py "$out/pingpong.jsonl" --micro "$out/micro.json" --out "$out" \
  --label "ringdrop-pingpong ${pingpong_args[*]:-(full run)}, ringdrop-micro ${micro_args[*]:-(default)}; commit $commit"

echo
echo "Table: $out/results.md"
echo "Plots: $out/latency.png, $out/throughput.png"
