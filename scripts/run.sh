#!/usr/bin/env bash
# Installs what is missing, builds the daemon and runs it in the foreground on
# its embedded default (standalone, 127.0.0.1:6380). Extra arguments are passed
# on: scripts/run.sh deploy/understudy.conf --port 6390
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
UNDERSTUDY_BUILD_TESTS=OFF UNDERSTUDY_BUILD_BENCH=OFF BUILD_DIR=build-run scripts/build.sh understudy
exec build-run/understudy "$@"
