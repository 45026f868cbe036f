#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test: the unit
# tests (GoogleTest) and the integration tests (real redis-server, redis-cli,
# redis-benchmark and redis-py against the daemon), all through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure -j "${JOBS:-2}" --timeout 900
