#!/usr/bin/env bash
# bench_smoke.sh BENCH BRIDGE — ringdrop-bridge-bench against the fixture's
# broker ($RINGDROP_TEST_BROKER/env), with few messages: it must run and
# print its four rows (figures come from scripts/bench-bridge.sh).
set -euo pipefail
port=$(awk -F= '$1 == "AMQP_PORT" { print $2 }' "$RINGDROP_TEST_BROKER/env")
out=$("$1" --broker "amqp://guest:guest@127.0.0.1:$port/" --bridge "$2" --count 300)
echo "$out"
[ "$(grep -c '^| .* B |' <<<"$out")" -eq 4 ] || { echo "bench_smoke: expected four rows" >&2; exit 1; }
