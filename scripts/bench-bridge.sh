#!/usr/bin/env bash
# The bridge's cost over the broker itself: starts a broker of its own
# (tests/bridge/broker.sh, ports and data in a temporary folder), runs
# ringdrop-bridge-bench (bench/bridge_bench.cpp: plain rabbitmq-c vs
# ring -> bridge -> broker -> bridge -> ring, 64 B and 4 KiB, throughput and
# p50/p99) and stops the broker. Writes results/latest/bridge.md and .jsonl.
#
#   scripts/bench-bridge.sh [--count N]     (default 20000 per row)
set -euo pipefail
cd "$(dirname "$0")/.."
count=20000
[ "${1:-}" = "--count" ] && count=$2
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build build/release --target ringdrop-bridge ringdrop-bridge-bench >/dev/null
dir=$(mktemp -d)
trap 'bash tests/bridge/broker.sh stop "$dir/broker" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
bash tests/bridge/broker.sh start "$dir/broker" >/dev/null
port=$(awk -F= '$1 == "AMQP_PORT" { print $2 }' "$dir/broker/env")
mkdir -p results/latest
{
  echo "ringdrop-bridge-bench, $(date -u +%Y-%m-%d), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $count messages a row"
  echo
  build/release/tools/bridge/ringdrop-bridge-bench --broker "amqp://guest:guest@127.0.0.1:$port/" \
    --bridge build/release/tools/bridge/ringdrop-bridge --count "$count" --json results/latest/bridge.jsonl
} | tee results/latest/bridge.md
