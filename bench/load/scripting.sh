#!/usr/bin/env bash
# Script execution overhead (issue 7): redis-benchmark runs one small
# EVALSHA, `return redis.call('INCR', KEYS[1])`, against understudy
# standalone and against redis-server in the same run, rounds alternating
# between the two, and prints each side's median and the ratio
# understudy / redis-server (goal: at least 1.0).
#
# usage: bench/load/scripting.sh [--n N] [--rounds R] [--clients C]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

requests=200000
rounds=5
clients=50
while (($#)); do
  case "$1" in
    --n) requests="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) die "unknown option: $1" ;;
  esac
done

lib_require_tools "$REDIS_SERVER_BIN" "$REDIS_CLI_BIN" "$REDIS_BENCHMARK_BIN" awk
lib_init
lib_build_server_commands
lib_start_server redis-server "" "${REDIS_CMD[@]}"
redis_port="$LIB_SERVER_PORT"
lib_start_server understudy "" "${UNDERSTUDY_CMD[@]}"
understudy_port="$LIB_SERVER_PORT"

script="return redis.call('INCR', KEYS[1])"
sha="$("$REDIS_CLI_BIN" -p "$redis_port" SCRIPT LOAD "$script")"
[[ "$("$REDIS_CLI_BIN" -p "$understudy_port" SCRIPT LOAD "$script")" == "$sha" ]] ||
  die "understudy's SCRIPT LOAD gave a different SHA1"

# One redis-benchmark run; prints requests per second.
run_once() {
  local port="$1"
  shift
  "$REDIS_BENCHMARK_BIN" -h 127.0.0.1 -p "$port" -n "$requests" -c "$clients" "$@" -q \
    EVALSHA "$sha" 1 "bench:counter" | tr '\r' '\n' |
    grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1
}

printf '%-10s %12s %12s %8s %8s\n' depth redis understudy ratio paired
for depth in 1 16; do
  redis_runs=() understudy_runs=()
  for ((round = 0; round < rounds; round++)); do
    redis_runs+=("$(run_once "$redis_port" -P "$depth")")
    understudy_runs+=("$(run_once "$understudy_port" -P "$depth")")
  done
  redis_median="$(lib_median "${redis_runs[@]}")"
  understudy_median="$(lib_median "${understudy_runs[@]}")"
  printf '%-10s %12s %12s %8s %8s\n' "-P $depth" "$redis_median" "$understudy_median" \
    "$(lib_ratio "$understudy_median" "$redis_median")" \
    "$(lib_paired_ratio "${understudy_runs[*]}" "${redis_runs[*]}")"
done
# Both servers ran the same script the same number of times.
redis_count="$("$REDIS_CLI_BIN" -p "$redis_port" GET bench:counter)"
understudy_count="$("$REDIS_CLI_BIN" -p "$understudy_port" GET bench:counter)"
[[ "$redis_count" == "$understudy_count" ]] ||
  die "counters differ after the run: redis ${redis_count}, understudy ${understudy_count}"
log "both counters at ${redis_count}"
