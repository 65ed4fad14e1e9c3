#!/usr/bin/env bash
# The layer check passes on the tree as it is, and fails, naming the file and
# the layers, when a lower layer includes a higher one or a sibling.
set -euo pipefail
src=$1
check="$src/tools/check_layers.py"
python3 "$check" --root "$src"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lib" "$tmp/bindings"
cp -r "$src/lib/src" "$src/lib/include" "$tmp/lib/"
cp -r "$src/bindings/c" "$tmp/bindings/"

expect_refused() {  # file, include line, words the report must hold
  local file=$1 line=$2 words=$3
  cp "$src/$file" "$tmp/$file.orig"
  sed -i "1i $line" "$tmp/$file"
  if out=$(python3 "$check" --root "$tmp" 2>&1); then
    echo "FAIL: '$line' in $file passed the layer check"; exit 1
  fi
  grep -qF "$words" <<<"$out" || { echo "FAIL: report lacks '$words':"; echo "$out"; exit 1; }
  mv "$tmp/$file.orig" "$tmp/$file"
}
expect_refused lib/src/ring/spsc_consumer.cpp '#include "ringdrop/rpc_client.hpp"' "ring includes ringdrop/rpc_client.hpp, a higher layer (rpc)"
expect_refused lib/src/drop/drop_tree.cpp '#include "segment/role.hpp"' "drop includes segment/role.hpp, a sibling (segment)"
expect_refused lib/src/drop/drop_tree.cpp '#include "ringdrop/mpmc_ring.hpp"' "drop includes ringdrop/mpmc_ring.hpp, a higher layer (ring)"
expect_refused lib/src/core/error.cpp '#include "segment/role.hpp"' "core includes segment/role.hpp, a higher layer (segment)"
expect_refused lib/include/ringdrop/segment.hpp '#include "ringdrop/message.hpp"' "segment includes ringdrop/message.hpp, a higher layer (message)"
touch "$tmp/lib/include/ringdrop/newcomer.hpp"
python3 "$check" --root "$tmp" >/dev/null 2>&1 && { echo "FAIL: a public header with no layer passed"; exit 1; }
echo "layer check: passes on the tree, refuses 5 wrong includes and an unplaced header"
