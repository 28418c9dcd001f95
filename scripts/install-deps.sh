#!/usr/bin/env bash
# Every Debian 12 package GridPact needs to build, test, benchmark and run its examples.
# The README and .ci/run both call this script; it is the one list of dependencies.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config git curl jq python3 ca-certificates openssl \
  clang libclang-rt-14-dev llvm clang-format \
  libsodium-dev librocksdb-dev libssl-dev \
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev \
  libcpp-httplib-dev libboost1.81-dev \
  libgtest-dev libgmock-dev libbenchmark-dev \
  libtss2-dev swtpm swtpm-tools tpm2-tools \
  mosquitto mosquitto-clients libmosquitto-dev \
  liblemon-dev libsqlite3-dev sqlite3 libpq-dev postgresql \
  etcd-server etcd-client \
  python3-nacl \
  >/dev/null
# The JavaScript client kit: Node (Debian's, only if none is installed) and the kit's two
# npm packages, exactly as clients/js/package-lock.json pins them.
if ! command -v node >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
npm ci --prefix "$(cd "$(dirname "$0")/.." && pwd)/clients/js" --no-audit --no-fund >/dev/null
echo "install-deps: done"
