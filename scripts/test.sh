#!/usr/bin/env bash
# Runs every test: the suite built as release, under ASan+UBSan and under
# TSan (one CMake preset each). Pass preset names to run only those, e.g.
# `scripts/test.sh release`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(release asan tsan)

for preset in "${presets[@]}"; do
  echo "=== $preset: build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  echo "=== $preset: test"
  ctest --preset "$preset"
done
