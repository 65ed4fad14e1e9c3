#!/bin/sh
# deb_test.sh SOURCE BUILD OUT SERVICE VERSION
#
# The Debian packages as a user meets them (cmake/packaging.cmake):
#   1. cpack builds the four packages from BUILD into OUT/packages;
#   2. lintian reports no error on any of them;
#   3. each package's dependencies name Debian packages installed on this
#      machine, or one of the four (so they are real package names);
#   4. dpkg -i installs all four into OUT/root, an empty dpkg root (its own
#      status database: the machine's own is not touched);
#   5. from that root: examples/c/legacy_client.c is built with pkg-config
#      and run against SERVICE (examples/c/run_pair.sh); tests/install/
#      consumer (a C program and a C++ program, find_package(ringdrop)) is
#      configured, built and run; the Python package is imported and sends a
#      message through a ring; the command prints VERSION.
set -eu
source=$1 build=$2 out=$3 service=$4 version=$5

rm -rf "$out"
mkdir -p "$out"

echo "--- 1. cpack"
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out/packages" >/dev/null
debs=""
for p in libringdrop0 libringdrop-dev ringdrop-tools python3-ringdrop; do
  f=$(ls "$out/packages/${p}_${version}_"*.deb)
  debs="$debs $f"
  echo "$f"
done

echo "--- 2. lintian"
# --fail-on error: warnings are printed, errors fail. Running as root only
# earns a note.
rc=0
lintian --fail-on error $debs >"$out/lintian.log" 2>&1 || rc=$?
grep -v 'running with root privileges' "$out/lintian.log" || true
[ "$rc" = 0 ] || { echo "deb_test: lintian reports errors (status $rc)" >&2; exit 1; }

echo "--- 3. dependencies"
for f in $debs; do
  deps=$(dpkg-deb -f "$f" Depends)
  echo "$(dpkg-deb -f "$f" Package): $deps"
  # "a (>= 1), b:any, c" -> a b c
  for d in $(echo "$deps" | sed -e 's/([^)]*)//g' -e 's/:any//g' -e 's/,/ /g'); do
    case " libringdrop0 libringdrop-dev ringdrop-tools python3-ringdrop " in
      *" $d "*) continue ;;
    esac
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" ||
      { echo "deb_test: $f depends on $d, which is no package installed here" >&2; exit 1; }
  done
done
dpkg-deb -f "$out/packages/libringdrop0_${version}_"*.deb Depends | grep -q libcapnp ||
  { echo "deb_test: libringdrop0 does not depend on Cap'n Proto's library" >&2; exit 1; }

echo "--- 4. dpkg -i into $out/root"
root=$out/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: > "$root/var/lib/dpkg/status"
# --force-depends: the root's database has none of the dependencies (step 3
# checked them on this machine). --force-script-chrootless: the maintainer
# scripts run without a chroot into a root that has no shell.
dpkg --root="$root" --force-not-root --force-depends --force-script-chrootless -i $debs >/dev/null 2>&1 ||
  { dpkg --root="$root" --force-not-root --force-depends --force-script-chrootless -i $debs; exit 1; }
for p in libringdrop0 libringdrop-dev ringdrop-tools python3-ringdrop; do
  dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Package} ${Version} ${Status}\n' "$p" |
    grep -q "^$p $version install ok installed$" || { echo "deb_test: $p is not installed" >&2; exit 1; }
done
libdir=$root/usr/lib
[ -f "$libdir/libringdrop.so.0" ] && [ -f "$root/usr/include/ringdrop.h" ] && [ -x "$root/usr/bin/ringdrop" ]
# Stripped of debug information, the static library too (strip_static.cmake).
if objdump -h "$libdir/libringdrop.a" "$libdir/libringdrop.so.0" | grep -q '\.debug_'; then
  echo "deb_test: the packaged libraries carry debug information" >&2; exit 1
fi

echo "--- 5a. C, with pkg-config"
PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$libdir/pkgconfig
export PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
flags=$(pkg-config --cflags --libs ringdrop)
echo "pkg-config --cflags --libs ringdrop: $flags"
[ "$(pkg-config --modversion ringdrop)" = "$version" ]
mkdir -p "$out/c"
cc -std=c99 -pedantic -Wall -Werror -o "$out/c/legacy_client" "$source/examples/c/legacy_client.c" $flags
LD_LIBRARY_PATH=$libdir
export LD_LIBRARY_PATH
case "$(ldd "$out/c/legacy_client" | grep 'libringdrop\.so')" in
  *"=> $libdir/libringdrop.so.0 "*) ;;
  *) echo "deb_test: legacy_client does not load the packaged libringdrop.so.0" >&2; exit 1 ;;
esac
sh "$source/examples/c/run_pair.sh" "$out/c/legacy_client" "$service"

echo "--- 5b. C and C++, with find_package(ringdrop)"
# Cap'n Proto's CMake package asks pkg-config for the machine's own capnp.
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
ctest --build-and-test "$source/tests/install/consumer" "$out/consumer" \
  --build-generator Ninja \
  --build-options -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
  --test-command ctest --output-on-failure >"$out/consumer.log" 2>&1 ||
  { cat "$out/consumer.log"; exit 1; }
grep -q "ringdrop_DIR:PATH=$root/usr/lib/cmake/ringdrop" "$out/consumer/CMakeCache.txt" ||
  { echo "deb_test: the consumer did not find the packaged ringdrop" >&2; exit 1; }
echo "consumer: built and ran c_user and cpp_user"

echo "--- 5c. Python"
PYTHONPATH=$root/usr/lib/python3/dist-packages PYTHONDONTWRITEBYTECODE=1 python3 - "$version" "$root" <<'PY'
import os, sys
import ringdrop
from ringdrop import _config
want, root = sys.argv[1], os.path.realpath(sys.argv[2])
assert os.path.realpath(ringdrop.__file__).startswith(root + os.sep), ringdrop.__file__
assert ringdrop.__version__ == want and ringdrop.version_string() == want, ringdrop.__version__
# The package records the library where the package system puts it.
assert _config.LIBRARY == "/usr/lib/libringdrop.so.0", _config.LIBRARY
name = "ringdrop-test-deb-%d" % os.getpid()
with ringdrop.Producer(name, "spsc", capacity=4096) as tx, ringdrop.Consumer(name, "spsc", "open") as rx:
    tx.send(b"from the package", timeout=1.0)
    assert rx.receive(timeout=1.0) == b"from the package"
ringdrop.remove(name)
print("python3-ringdrop %s: imported from the root, a ring round trip" % want)
PY

echo "--- 5d. the command"
"$root/usr/bin/ringdrop" --version | grep -q "$version" ||
  { "$root/usr/bin/ringdrop" --version; echo "deb_test: ringdrop --version does not say $version" >&2; exit 1; }
"$root/usr/bin/ringdrop" --version
echo "deb_test: all four packages install and work"
