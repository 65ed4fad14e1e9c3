#!/bin/sh
# pkg_config_client.sh PKG_CONFIG CC PREFIX LIBDIR OUT EXAMPLES_C SERVICE
#
# Builds examples/c/legacy_client.c the way a legacy C build would, with
# nothing but the C compiler and pkg-config against the installed ringdrop in
# PREFIX, checks that the program loads libringdrop.so from there, and runs it
# with its C++ partner SERVICE (examples/c/run_pair.sh).
set -eu
pkg_config=$1 cc=$2 prefix=$3 libdir=$4 out=$5 examples=$6 service=$7

PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
export PKG_CONFIG_PATH
flags=$("$pkg_config" --cflags --libs ringdrop)
echo "pkg-config --cflags --libs ringdrop: $flags"

mkdir -p "$out"
# $flags unquoted: it is a list of options. After the source, for the linker.
"$cc" -std=c99 -pedantic -Wall -Werror -o "$out/legacy_client" "$examples/legacy_client.c" $flags

# No rpath: at run time the library is found like any other installed one.
LD_LIBRARY_PATH="$prefix/$libdir"
export LD_LIBRARY_PATH
loaded=$(ldd "$out/legacy_client" | grep 'libringdrop\.so' || true)
echo "loads: $loaded"
case "$loaded" in
  *"=> $prefix/$libdir/libringdrop.so."*) ;;
  *) echo "pkg_config_client: legacy_client does not load the installed libringdrop.so" >&2; exit 1 ;;
esac

exec sh "$examples/run_pair.sh" "$out/legacy_client" "$service"
