#!/usr/bin/env bash
# Installs the Debian 12 packages Herald needs to build, test and run, and the npm package of
# the console's browser test (playwright-core, into tests/browser/node_modules; it drives
# Debian's chromium). npm is used for that alone.
# Idempotent: when everything is present it only checks and returns (well under a second).
# Usage: scripts/install-deps.sh            (as root, or with sudo available)
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config g++ clang libclang-rt-14-dev llvm-14 ccache
  # libraries (see docs/architecture.md for who uses which)
  libasio-dev libssl-dev libc-ares-dev libsqlite3-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libexpected-dev libxml2-dev
  libcpp-httplib-dev libhttp-parser-dev libjemalloc-dev libabsl-dev libidn2-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev libosip2-dev
  openssl procps sip-tester python3
  # the DNS server of src/dns's tests: the binary alone (dnsmasq-base), not the `dnsmasq`
  # package, whose service would answer on port 53 of every interface
  dnsmasq-base
  # the console's browser test
  chromium fonts-dejavu-core
)
# Node.js (>= 18) for the browser test: Debian's, unless one is installed already.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

# --bench: also what bench/sip-relay.sh runs against (Kamailio, its TLS and SQLite modules), and
# tcpdump for bench/wire_latency.py.
if [[ ${1:-} == --bench ]]; then
  packages+=(kamailio kamailio-tls-modules kamailio-sqlite-modules sqlite3 iproute2 tcpdump)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
browser_tools() {
  [[ -d "$ROOT/tests/browser/node_modules/playwright-core" ]] && return 0
  echo "install-deps: npm install (tests/browser: playwright-core)"
  (cd "$ROOT/tests/browser" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
}

if ((${#missing[@]} == 0)); then
  browser_tools
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (or install sudo)" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [[ ${1:-} == --bench ]] && command -v systemctl >/dev/null; then
  # The package may enable Kamailio as a service on all interfaces: the benchmark starts its own.
  "${sudo[@]}" systemctl disable --now kamailio >/dev/null 2>&1 || true
fi
browser_tools
echo "install-deps: done"
