#!/usr/bin/env bash
# Installs, from Debian packages only, whatever this machine lacks to build,
# run, test and benchmark understudy. Safe to run repeatedly: it asks apt only
# for packages that are not installed yet.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config
  libboost-dev libxxhash-dev libssl-dev libspdlog-dev libfmt-dev libjemalloc-dev
  liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
  libsystemd-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools redis-sentinel nutcracker
  python3 python3-pytest python3-redis
  procps
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts these services on install; the tests start their own.
if command -v systemctl >/dev/null 2>&1; then
  for unit in redis-server redis-sentinel nutcracker; do
    "${sudo_cmd[@]}" systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi
