#!/bin/sh
# deb_test.sh SOURCE BUILD OUT SERVICE VERSION LIBDIR
#
# LIBDIR: the build's CMAKE_INSTALL_LIBDIR (lib, or lib/x86_64-linux-gnu for
# a build configured for /usr), where the packages put the libraries.
#
# The Debian packages as a user meets them (cmake/packaging.cmake):
#   1. cpack builds the five packages from BUILD into OUT/packages;
#   2. lintian reports no error on any of them;
#   3. each package's dependencies are satisfied by the Debian packages
#      installed on this machine, or are one of the five (so they are real
#      package names and versions); ringdrop-bridge depends on librabbitmq4
#      and only suggests rabbitmq-server;
#   4. dpkg -i installs all five into OUT/root, an empty dpkg root (its own
#      status database: the machine's own is not touched);
#   5. from that root: examples/c/legacy_client.c is built with pkg-config
#      and run against SERVICE (examples/c/run_pair.sh); tests/install/
#      consumer (a C program and a C++ program, find_package(ringdrop)) is
#      configured, built and run; so is tests/install/typed (a schema of its
#      own through the packaged ringdrop_capnp_library() and capnp); the
#      Python package is imported and sends a message through a ring; the
#      command and ringdrop-bridge print VERSION, and ringdrop-bridge its
#      help.
set -eu
source=$1 build=$2 out=$3 service=$4 version=$5 libdir_rel=$6
major=${version%%.*}
runtime=libringdrop$major  # named after the SONAME's major version
soname=libringdrop.so.$major
packages="$runtime libringdrop-dev ringdrop-tools ringdrop-bridge python3-ringdrop"
fail() { echo "deb_test: $*" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"

echo "--- 1. cpack"
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out/packages" >/dev/null
debs=""
for p in $packages; do
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
[ "$rc" = 0 ] || fail "lintian reports errors (status $rc)"

echo "--- 3. dependencies"
# Each comma-separated entry needs one of its alternatives (a | b) installed
# here at a version that satisfies it, or to be one of the five packages.
python3 - "$version" "$packages" $debs <<'PY'
import re, subprocess, sys
version, ours, debs = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
OPS = {"=": "eq", ">=": "ge", "<=": "le", ">>": "gt", "<<": "lt"}
def installed(name):
    """The versions of `name` installed here (one per architecture)."""
    if name in ours:
        return [version]  # the package beside it, of this build
    run = subprocess.run(["dpkg-query", "-W", "--showformat=${Status}\t${Version}\n", name],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = [line.split("\t") for line in run.stdout.splitlines() if "\t" in line]
    return [v for status, v in lines if status == "install ok installed"]
def satisfied(alternative):
    m = re.fullmatch(r"\s*([a-z0-9.+-]+)(?::any)?\s*(?:\(\s*(=|>=|<=|>>|<<)\s*(\S+)\s*\))?\s*", alternative)
    if not m:
        sys.exit("deb_test: cannot read the dependency %r" % alternative)
    name, op, want = m.groups()
    return any(op is None or subprocess.run(["dpkg", "--compare-versions", have, OPS[op], want]).returncode == 0
               for have in installed(name))
for deb in debs:
    fields = subprocess.run(["dpkg-deb", "-f", deb, "Package", "Depends"], stdout=subprocess.PIPE,
                            text=True, check=True).stdout
    package = re.search(r"^Package: (.*)$", fields, re.M).group(1)
    depends = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
    print("%s: %s" % (package, depends))
    for entry in depends.split(","):
        if not any(satisfied(a) for a in entry.split("|")):
            sys.exit("deb_test: %s depends on '%s', which nothing installed here satisfies" % (package, entry.strip()))
PY
dpkg-deb -f "$out/packages/${runtime}_${version}_"*.deb Depends | grep -q libcapnp ||
  fail "$runtime does not depend on Cap'n Proto's library"
# The bridge links rabbitmq-c; the broker it talks to usually runs elsewhere.
bridge_deb=$(ls "$out/packages/ringdrop-bridge_${version}_"*.deb)
dpkg-deb -f "$bridge_deb" Depends | grep -q 'librabbitmq4' ||
  fail "ringdrop-bridge does not depend on librabbitmq4"
if dpkg-deb -f "$bridge_deb" Depends Recommends | grep -q 'rabbitmq-server'; then
  fail "ringdrop-bridge depends on (or recommends) rabbitmq-server"
fi
[ "$(dpkg-deb -f "$bridge_deb" Suggests)" = "rabbitmq-server" ] ||
  fail "ringdrop-bridge does not suggest rabbitmq-server alone"

echo "--- 4. dpkg -i into $out/root"
root=$out/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: > "$root/var/lib/dpkg/status"
# --force-depends: the root's database has none of the dependencies (step 3
# checked them on this machine). --force-script-chrootless: the maintainer
# scripts run without a chroot into a root that has no shell.
dpkg --root="$root" --force-not-root --force-depends --force-script-chrootless -i $debs >"$out/dpkg.log" 2>&1 ||
  { cat "$out/dpkg.log"; fail "dpkg -i failed"; }
for p in $packages; do
  dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Package} ${Version} ${Status}\n' "$p" |
    grep -q "^$p $version install ok installed$" || fail "$p is not installed"
done
libdir=$root/usr/$libdir_rel
[ -f "$libdir/$soname" ] || fail "no $libdir/$soname"
[ -f "$root/usr/include/ringdrop.h" ] || fail "no $root/usr/include/ringdrop.h"
[ -x "$root/usr/bin/ringdrop" ] || fail "no $root/usr/bin/ringdrop"
[ -x "$root/usr/bin/ringdrop-bridge" ] || fail "no $root/usr/bin/ringdrop-bridge"
[ -s "$root/usr/share/doc/ringdrop/bridge.md" ] || fail "no $root/usr/share/doc/ringdrop/bridge.md"
[ -s "$root/usr/share/doc/ringdrop/console.md" ] || fail "no $root/usr/share/doc/ringdrop/console.md"
# Stripped of debug information, the static library too (strip_static.cmake).
# (objdump first, on its own: sh has no pipefail, and a failing objdump must
# not read as "no debug sections".)
objdump -h "$libdir/libringdrop.a" "$libdir/$soname" >"$out/sections.txt" || fail "objdump failed"
if grep -q '\.debug_' "$out/sections.txt"; then
  fail "the packaged libraries carry debug information"
fi

echo "--- 5a. C, with pkg-config"
PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$libdir/pkgconfig
export PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
flags=$(pkg-config --cflags --libs ringdrop)
echo "pkg-config --cflags --libs ringdrop: $flags"
[ "$(pkg-config --modversion ringdrop)" = "$version" ] || fail "ringdrop.pc is not version $version"
mkdir -p "$out/c"
cc -std=c99 -pedantic -Wall -Werror -o "$out/c/legacy_client" "$source/examples/c/legacy_client.c" $flags
LD_LIBRARY_PATH=$libdir
export LD_LIBRARY_PATH
case "$(ldd "$out/c/legacy_client" | grep 'libringdrop\.so')" in
  *"=> $libdir/$soname "*) ;;
  *) fail "legacy_client does not load the packaged $soname" ;;
esac
sh "$source/examples/c/run_pair.sh" "$out/c/legacy_client" "$service"

echo "--- 5b. C and C++, with find_package(ringdrop)"
# Cap'n Proto's CMake package asks pkg-config for the machine's own capnp.
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
# consumer/: a C program (ringdrop::ringdrop) and a C++ one (ringdrop::static);
# typed/: a schema of its own compiled with the packaged
# ringdrop_capnp_library() and capnp, a typed Server and Client.
for project in consumer typed; do
  ctest --build-and-test "$source/tests/install/$project" "$out/$project" \
    --build-generator Ninja \
    --build-options -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
    --test-command ctest --output-on-failure >"$out/$project.log" 2>&1 ||
    { cat "$out/$project.log"; fail "tests/install/$project did not build or run against the packages"; }
  grep -q "ringdrop_DIR:PATH=$libdir/cmake/ringdrop" "$out/$project/CMakeCache.txt" ||
    fail "tests/install/$project did not find the packaged ringdrop"
  echo "$project: built and ran against the packages"
done

echo "--- 5c. Python"
# The package records the library where libringdrop0 puts it (/usr/...): not
# this machine's, so the loader finds the root's copy (LD_LIBRARY_PATH, 5a).
PYTHONPATH=$root/usr/lib/python3/dist-packages PYTHONDONTWRITEBYTECODE=1 \
  python3 - "$version" "$root" "/usr/$libdir_rel/$soname" <<'PY'
import importlib.metadata, os, sys
import ringdrop
from ringdrop import _config
want, root, recorded = sys.argv[1], os.path.realpath(sys.argv[2]), sys.argv[3]
def check(ok, what):
    if not ok:
        sys.exit("deb_test: python3-ringdrop: " + what)
check(os.path.realpath(ringdrop.__file__).startswith(root + os.sep), "imported from %s" % ringdrop.__file__)
check(ringdrop.__version__ == want, "__version__ is %s" % ringdrop.__version__)
check(ringdrop.version_string() == want, "the library is %s" % ringdrop.version_string())
check(importlib.metadata.version("ringdrop") == want, "its metadata says %s" % importlib.metadata.version("ringdrop"))
check(_config.LIBRARY == recorded, "it recorded %s, not %s" % (_config.LIBRARY, recorded))
with open("/proc/self/maps") as maps:
    loaded = {line.split()[-1] for line in maps if "libringdrop.so" in line}
check(loaded and all(os.path.realpath(p).startswith(root + os.sep) for p in loaded), "it loaded %s" % loaded)
name = "ringdrop-test-deb-%d" % os.getpid()
with ringdrop.Producer(name, "spsc", capacity=4096) as tx, ringdrop.Consumer(name, "spsc", "open") as rx:
    tx.send(b"from the package", timeout=1.0)
    got = rx.receive(timeout=1.0)
ringdrop.remove(name)
check(got == b"from the package", "the ring gave %r" % got)
print("python3-ringdrop %s: imported from the root, its library from the root, a ring round trip" % want)
PY

echo "--- 5d. the commands"
"$root/usr/bin/ringdrop" --version | grep -q "$version" ||
  { "$root/usr/bin/ringdrop" --version; fail "ringdrop --version does not say $version"; }
"$root/usr/bin/ringdrop" --version
# ringdrop-bridge loads this machine's librabbitmq4 (step 3 checked it is
# installed). Its output first, on its own: sh has no pipefail.
bridge=$root/usr/bin/ringdrop-bridge
"$bridge" --version >"$out/bridge-version.txt" 2>&1 ||
  { cat "$out/bridge-version.txt"; fail "ringdrop-bridge --version failed"; }
grep -qF "$version" "$out/bridge-version.txt" ||
  { cat "$out/bridge-version.txt"; fail "ringdrop-bridge --version does not say $version"; }
echo "ringdrop-bridge --version: $(cat "$out/bridge-version.txt")"
"$bridge" --help >"$out/bridge-help.txt" 2>&1 ||
  { cat "$out/bridge-help.txt"; fail "ringdrop-bridge --help failed"; }
for word in --broker --route --state-dir status; do
  grep -qe "$word" "$out/bridge-help.txt" ||
    { cat "$out/bridge-help.txt"; fail "ringdrop-bridge --help does not mention $word"; }
done
echo "ringdrop-bridge --help: $(wc -l <"$out/bridge-help.txt") lines"
echo "deb_test: all five packages install and work"
