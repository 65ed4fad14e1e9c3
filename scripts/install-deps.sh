#!/usr/bin/env bash
# Installs the Debian packages ringdrop builds with — only those missing, so
# running it again costs nothing. Needs no network beyond the package
# registry; uses sudo when not run as root.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config binutils
  libboost-dev                # Boost.Interprocess: segments and mappings
  capnproto libcapnp-dev      # typed messages
  libgtest-dev                # tests
  libbenchmark-dev            # micro-benchmarks
  libzmq3-dev                 # ZeroMQ rows of ringdrop-pingpong (bench only)
  gnucobol3                   # examples/cobol: cobc (GnuCOBOL 3)
  gfortran                    # examples/fortran
  python3                     # the Python binding's tests and the demo's subscriber
  clang libclang-rt-14-dev    # scripts/fuzz.sh: clang 14 (Debian 12) and its libFuzzer/ASan runtimes
  libcli11-dev                # tools/cli: the ringdrop command's arguments (header-only)
  nlohmann-json3-dev          # tools/cli: --json output, and JSON in send/call (header-only)
  abigail-tools               # scripts/abi-check.sh: abidw/abidiff against abi/libringdrop.abi
  dpkg-dev lintian            # scripts/package.sh (CPack DEB: dpkg-shlibdeps) and tests/package
  python3-venv python3-setuptools python3-wheel  # tests/install: pip install of bindings/python
  mypy                        # bindings/python: the type hints, checked (python_typing)
  librabbitmq-dev             # tools/bridge: rabbitmq-c, the AMQP 0-9-1 client of ringdrop-bridge
  rabbitmq-server             # tools/bridge: the broker its tests start (tests/bridge/broker.sh), not as a service
  libcpp-httplib-dev          # tools/console: the HTTP server of `ringdrop console` (header-only)
  chromium chromium-driver python3-selenium  # tests/console: the console driven in a real, headless browser
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
# rabbitmq-server's postinst starts the system's broker (invoke-rc.d) and
# fails the install if that fails. Under systemd that is harmless (rabbit@host
# on 5672; the tests run a broker of their own). Without systemd (a container),
# unless a policy-rc.d already decides (Docker's images have one refusing),
# one refusing every service start is put in place for this install only.
policy=/usr/sbin/policy-rc.d
if [ ! -d /run/systemd/system ] && [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# install-deps.sh (ringdrop), for the time of its install only\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
