#!/usr/bin/env bash
# Installs what is missing, builds ringdrop (release) and runs the demo:
# a COBOL batch job drops order files, a C++ service consumes them and
# publishes events on a broadcast ring, a Python and a C subscriber print
# them, and ringdrop-demo checks and sums up what crossed each boundary
# (examples/demo/README.md). Exit status 0 only when every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
# ringdrop-demo depends on every piece: the service, the C subscriber, the
# COBOL job (cobc) and libringdrop.so for the Python subscriber.
cmake --build --preset release --target ringdrop-demo
exec build/release/examples/demo/ringdrop-demo "$@"
