#!/bin/sh
# python_pip.sh PYTHON SOURCE LIBRARY VERSION OUT
#
# `pip install` of bindings/python, offline, into a fresh virtual
# environment, as a user would from a checkout: PYTHON (Debian's python3,
# with python3-venv, -setuptools and -wheel: scripts/install-deps.sh) makes
# the environment, pip builds the package with --no-build-isolation
# --no-index (setuptools from the system, nothing from the network), and the
# installed package is imported from the environment with the C library
# LIBRARY (pip installs none): its version must be VERSION, the project's
# one version, which setup.py read from SOURCE/CMakeLists.txt.
#
# The checkout is copied first (bindings/python and the top-level
# CMakeLists.txt, as they sit): pip's in-tree build leaves build/ and
# *.egg-info next to pyproject.toml, and a test leaves the source tree alone.
set -eu
python=$1 source=$2 library=$3 version=$4 out=$5

rm -rf "$out"
mkdir -p "$out/checkout/bindings"
cp -R "$source/bindings/python" "$out/checkout/bindings/python"
cp "$source/CMakeLists.txt" "$out/checkout/CMakeLists.txt"
rm -rf "$out/checkout/bindings/python/build" "$out/checkout/bindings/python/"*.egg-info

# --system-site-packages: the build backend (setuptools, wheel) comes from
# the system, as --no-build-isolation means.
"$python" -m venv --system-site-packages "$out/venv"
"$out/venv/bin/python" -m pip install --quiet --no-build-isolation --no-index "$out/checkout/bindings/python"

cd "$out"  # not the checkout: the import must find the installed copy
RINGDROP_LIBRARY=$library PYTHONDONTWRITEBYTECODE=1 "$out/venv/bin/python" - "$version" "$out/venv" <<'PY'
import importlib.metadata, os, sys
import ringdrop
want, venv = sys.argv[1], os.path.realpath(sys.argv[2])
where = os.path.realpath(ringdrop.__file__)
assert where.startswith(venv + os.sep), "imported from %s, not the environment" % where
assert importlib.metadata.version("ringdrop") == want, importlib.metadata.version("ringdrop")
assert ringdrop.__version__ == want, ringdrop.__version__
assert os.path.isfile(os.path.join(os.path.dirname(where), "py.typed")), "no py.typed"
# The binding works: a ring round trip.
name = "ringdrop-test-pip-%d" % os.getpid()
with ringdrop.Producer(name, "spsc", capacity=4096) as tx, \
     ringdrop.Consumer(name, "spsc", "open") as rx:
    tx.send(b"installed by pip", timeout=1.0)
    got = rx.receive(timeout=1.0)
ringdrop.remove(name)
assert got == b"installed by pip", got
print("pip install: ringdrop %s from %s" % (want, where))
PY
