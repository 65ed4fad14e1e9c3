#!/usr/bin/env bash
# Installs what is missing, builds ringdrop (release) and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target ringdrop-demo
exec build/release/examples/ringdrop-demo
