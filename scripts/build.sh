#!/usr/bin/env bash
# Configures and builds understudy (and, unless UNDERSTUDY_BUILD_TESTS=OFF,
# its tests and micro benchmarks) into build/ with two jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  -DUNDERSTUDY_BUILD_TESTS="${UNDERSTUDY_BUILD_TESTS:-ON}" \
  -DUNDERSTUDY_BUILD_BENCH="${UNDERSTUDY_BUILD_BENCH:-ON}" >/dev/null
ninja -C "$build_dir" -j "${JOBS:-2}" "$@"
