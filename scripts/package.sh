#!/usr/bin/env bash
# Builds ringdrop's Debian packages (cmake/packaging.cmake says which) from a
# built tree: scripts/package.sh [build dir, default build/release]. The
# .deb files land in <build>/packages; their names are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
[ -f "$build/CPackConfig.cmake" ] || { echo "package.sh: $build is not a configured ringdrop build (cmake --preset release)" >&2; exit 1; }
cmake --build "$build"
rm -rf "$build/packages"
cpack --config "$build/CPackConfig.cmake" -G DEB >/dev/null
ls "$build"/packages/*.deb
