#!/usr/bin/env bash
# Throughput comparison: redis-benchmark against redis-server 7.0 and against
# understudy, with identical parameters, interleaved round by round, median
# per side. A report, not a test: exits 0 whatever the ratios are, non-zero
# only when something failed to run. See bench/load/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
usage: compare.sh [options]
  -t TESTS           the main tests, measured with -n and --rounds (default:
                     set,get,incr). Comma-separated runs; "a+b" measures tests a
                     and b in one redis-benchmark run (-t a,b: b sees a's data);
                     "a+b@N" runs them with N requests (10 x N when pipelined).
  --extra TESTS      more tests in the same syntax, measured with --extra-n and
                     --extra-rounds (default: the collection commands,
                     lpush+rpush+lpop+rpop+sadd+hset+spop+zadd+zpopmin+mset,
                     lrange_100+lrange_600@4000); --extra '' or --no-extra: none
  -n N               requests per run at pipeline depth 1 (default: 60000)
  --n-pipelined N    requests per run at depth > 1 (default: 10 x N)
  --extra-n N        requests per run of an extra test at depth 1 (default: 20000)
  --extra-rounds R   runs per side of each extra test (default: 3)
  -P "D1 D2 ..."     pipeline depths (default: "1 16")
  -c CLIENTS         parallel connections (default: 50)
  --keyspace K       random key space, redis-benchmark -r (default: 100000)
  --rounds R         runs per side for each (test, depth); median is kept (default: 5)
  --timeout S        limit for one redis-benchmark run, seconds (default: 120)
  --pin, --no-pin    pin server and redis-benchmark to separate CPUs, or not
                     (default: pin only if the 1-minute load average is < 1)
  --nice N           run servers and redis-benchmark at niceness N (e.g. -10,
                     needs root) so unrelated work on the machine disturbs less
  --out FILE         also write the report to FILE
  --raw FILE         write every single run (side,test,depth,round,rps) as CSV
  -h, --help         this text
environment: UNDERSTUDY_BIN, UNDERSTUDY_ARGS, REDIS_SERVER_BIN,
             REDIS_BENCHMARK_BIN, REDIS_CLI_BIN (see lib.sh)
EOF
}

tests="set,get,incr"
# The other tests of redis-benchmark's default set (except ping and xadd),
# in redis-benchmark's own order; run as two groups so that LPOP/RPOP/SPOP/
# ZPOPMIN find what the pushes and adds of the same run stored, and LRANGE
# gets fewer requests (an LRANGE_600 reply is ~6 kB). LRANGE_* makes
# redis-benchmark first fill the list with "LPUSH (needed to benchmark
# LRANGE)", reported as its own row.
extra_tests="lpush+rpush+lpop+rpop+sadd+hset+spop+zadd+zpopmin+mset,lrange_100+lrange_600@4000"
extra_requests=20000
extra_rounds=3
requests=60000
requests_pipelined=""
pipelines="1 16"
clients=50
keyspace=100000
rounds=5
run_timeout=120
pin=auto
out_file=""
raw_file=""

while (($# > 0)); do
  case "$1" in
    -t) tests="$2"; shift 2 ;;
    --extra) extra_tests="$2"; shift 2 ;;
    --no-extra) extra_tests=""; shift ;;
    --extra-n) extra_requests="$2"; shift 2 ;;
    --extra-rounds) extra_rounds="$2"; shift 2 ;;
    -n) requests="$2"; shift 2 ;;
    --n-pipelined) requests_pipelined="$2"; shift 2 ;;
    -P) pipelines="$2"; shift 2 ;;
    -c) clients="$2"; shift 2 ;;
    --keyspace) keyspace="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --timeout) run_timeout="$2"; shift 2 ;;
    --pin) pin=yes; shift ;;
    --no-pin) pin=no; shift ;;
    --nice) LIB_NICE="$2"; shift 2 ;;
    --out) out_file="$2"; shift 2 ;;
    --raw) raw_file="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
requests_pipelined="${requests_pipelined:-$((requests * 10))}"
for number in "$requests" "$requests_pipelined" "$clients" "$keyspace" "$rounds" "$run_timeout" \
  "$extra_requests" "$extra_rounds"; do
  [[ "$number" =~ ^[1-9][0-9]*$ ]] || { log "not a positive integer: $number"; exit 2; }
done
read -r -a pipeline_list <<<"$pipelines"
for depth in "${pipeline_list[@]}"; do
  [[ "$depth" =~ ^[1-9][0-9]*$ ]] || { log "bad pipeline depth: $depth"; exit 2; }
done

# The runs to measure, as parallel arrays: redis-benchmark -t argument,
# requests at depth 1 and at depth > 1, rounds per side.
run_tests=()
run_n=()
run_n_pipelined=()
run_rounds=()
# add_runs SPEC N N_PIPELINED ROUNDS: appends the comma-separated items of
# SPEC ("a+b@N" syntax, see usage).
add_runs() {
  local spec="$1" n="$2" n_pipelined="$3" item_rounds="$4" item count
  local -a items
  IFS=',' read -r -a items <<<"$spec"
  for item in "${items[@]}"; do
    [[ -n "$item" ]] || continue
    if [[ "$item" == *@* ]]; then
      count="${item##*@}"
      [[ "$count" =~ ^[1-9][0-9]*$ ]] || { log "bad request count in '${item}'"; exit 2; }
      run_n+=("$count")
      run_n_pipelined+=($((count * 10)))
      item="${item%@*}"
    else
      run_n+=("$n")
      run_n_pipelined+=("$n_pipelined")
    fi
    [[ "$item" =~ ^[a-z0-9_]+(\+[a-z0-9_]+)*$ ]] || { log "bad test list '${item}'"; exit 2; }
    run_tests+=("${item//+/,}")
    run_rounds+=("$item_rounds")
  done
}
add_runs "$tests" "$requests" "$requests_pipelined" "$rounds"
add_runs "$extra_tests" "$extra_requests" $((extra_requests * 10)) "$extra_rounds"
((${#run_tests[@]} > 0)) || { log "no tests to run"; exit 2; }

lib_require_tools "$REDIS_SERVER_BIN" "$REDIS_CLI_BIN" "$REDIS_BENCHMARK_BIN" timeout awk sort
lib_build_server_commands
lib_init

# Pinning. The machine has 2 cores. Both servers run their request path on a
# single event-loop thread, and redis-benchmark is single-threaded. On an
# otherwise idle machine, leaving placement to the scheduler lets it put
# server and client on the same core for part of a run, or migrate them, which
# shows up as run-to-run noise. So the server under measurement gets the last
# allowed CPU and redis-benchmark the first one, identically for both sides.
# Both servers share that CPU, but only one is loaded at a time (runs are
# sequential) and an idle server costs next to nothing; background threads
# (redis' bio threads, understudy's fsync/free threads) sit there too, the
# same handicap for both.
# On a busy machine (other builds and tests running), pinning was measured to
# make things worse: a pinned process cannot escape to the other core when
# its own is taken, and the spread between rounds grew from ~15-50% to
# ~60-250%. Hence the default "auto": pin only when the 1-minute load average
# is below 1 before we start anything. The header says what was chosen.
server_cpu=""
bench_cpu=""
start_load="$(cut -d' ' -f1 /proc/loadavg)"
if [[ "$pin" == auto ]]; then
  pin=no
  if awk -v l="$start_load" 'BEGIN { exit !(l < 1.0) }'; then pin=yes; fi
fi
if [[ "$pin" == yes ]] && command -v taskset >/dev/null 2>&1; then
  allowed_cpus=()
  mapfile -t allowed_cpus < <(
    taskset -cp $$ | sed 's/.*: //' | tr ',' '\n' |
      awk -F- 'NF == 2 { for (c = $1; c <= $2; c++) print c; next } NF == 1 { print $1 }'
  )
  if ((${#allowed_cpus[@]} >= 2)); then
    bench_cpu="${allowed_cpus[0]}"
    server_cpu="${allowed_cpus[${#allowed_cpus[@]} - 1]}"
  fi
fi
bench_prefix=()
lib_launch_prefix bench_prefix "$bench_cpu"

lib_start_server redis-server "$server_cpu" "${REDIS_CMD[@]}"
redis_pid="$LIB_SERVER_PID"
redis_port="$LIB_SERVER_PORT"
lib_start_server understudy "$server_cpu" "${UNDERSTUDY_CMD[@]}"
understudy_pid="$LIB_SERVER_PID"
understudy_port="$LIB_SERVER_PORT"

report_lines=()
report() {
  report_lines+=("$*")
  printf '%s\n' "$*"
}

if [[ -n "$raw_file" ]]; then
  printf 'side,test,pipeline,round,rps\n' >"$raw_file"
fi

# run_benchmark SIDE PORT TEST DEPTH ROUND N: one redis-benchmark run; sets
# RUN_ROWS to its "label<TAB>rps" rows. One -t test can yield several rows
# (e.g. lrange -> LRANGE_100, LRANGE_300, ...). Returns 1 if the benchmark
# failed (e.g. the command is not supported); exits if the server died.
RUN_ROWS=()
run_benchmark() {
  local side="$1" port="$2" test="$3" depth="$4" round="$5" n="$6"
  local csv="${LIB_WORKDIR}/run.csv" errfile="${LIB_WORKDIR}/run.err"
  local server_name=understudy server_pid="$understudy_pid" bench_pid finished_pid="" status
  if [[ "$side" == redis ]]; then
    server_name=redis-server
    server_pid="$redis_pid"
  fi
  lib_require_alive "$server_name" "$server_pid"
  # In the background plus `wait`, so an INT/TERM trap fires at once and the
  # EXIT trap can kill the benchmark by PID too.
  timeout "$run_timeout" "${bench_prefix[@]}" "$REDIS_BENCHMARK_BIN" -h 127.0.0.1 -p "$port" \
    -t "$test" -n "$n" -c "$clients" -r "$keyspace" -P "$depth" --csv -q \
    >"$csv" 2>"$errfile" &
  bench_pid=$!
  LIB_STARTED_PIDS+=("$bench_pid")
  # Wait for whichever ends first: redis-benchmark does not notice a server
  # that died under it and would wait for replies until the timeout.
  status=0
  wait -n -p finished_pid "$bench_pid" "$server_pid" || status=$?
  if [[ "$finished_pid" == "$server_pid" ]]; then
    tail -n 20 "${LIB_WORKDIR}/${server_name}".*.log >&2 || true
    die "${server_name} (pid ${server_pid}) exited during test ${test}, -P ${depth}"
  fi
  lib_forget_pid "$bench_pid"
  if ((status != 0)); then
    ((status == 124)) && log "redis-benchmark timed out after ${run_timeout} s"
    cat "$errfile" >&2
    log "redis-benchmark failed (status ${status}) against ${side}: test ${test}, -P ${depth}"
    return 1
  fi
  # CSV rows look like: "SET","41407.87","0.666",...; the header row's rps
  # field is not a number and is skipped.
  mapfile -t RUN_ROWS < <(awk -F'","' '
    NF >= 2 {
      label = $1; sub(/^"/, "", label)
      rps = $2
      if (rps ~ /^[0-9]+(\.[0-9]+)?$/ && rps + 0 > 0) print label "\t" rps
    }' "$csv")
  if ((${#RUN_ROWS[@]} == 0)); then
    cat "$csv" "$errfile" >&2
    log "redis-benchmark printed no result against ${side}: test ${test}, -P ${depth}"
    return 1
  fi
  local row
  for row in "${RUN_ROWS[@]}"; do
    if [[ -n "$raw_file" ]]; then
      printf '%s,"%s",%s,%s,%s\n' "$side" "${row%%$'\t'*}" "$depth" "$round" "${row#*$'\t'}" >>"$raw_file"
    fi
  done
  return 0
}

declare -A samples=() # "label|depth|side" -> rps values in round order
result_keys=()        # "label|depth" in the order first seen
ratios=()             # "ratio paired" per printed line...
ratio_depths=()       # ...and its pipeline depth
failures=()           # "test -P depth" that could not be measured
record_rows() {
  local side="$1" depth="$2" row label rps key
  for row in "${RUN_ROWS[@]}"; do
    label="${row%%$'\t'*}"
    rps="${row#*$'\t'}"
    key="${label}|${depth}"
    if [[ -z "${samples["${key}|redis"]+set}" && -z "${samples["${key}|understudy"]+set}" ]]; then
      result_keys+=("$key")
    fi
    samples["${key}|${side}"]="${samples["${key}|${side}"]:-} ${rps}"
  done
}

# Display name of a redis-benchmark result label: drops the explanations
# redis-benchmark puts in parentheses, but keeps apart the LPUSH that the
# lrange test runs from the plain LPUSH test.
short_label() {
  case "$1" in
    "LPUSH (needed to benchmark LRANGE)") echo "LPUSH(for LRANGE)" ;;
    *" ("*) echo "${1%% (*}" ;;
    *) echo "$1" ;;
  esac
}

# Median over rounds of understudy/redis within the same round. Both runs of
# a round are back to back, so this cancels slow changes in machine load
# better than the ratio of the two medians; a large gap between the two
# ratios is a sign of noise.
paired_ratio() {
  local -a redis_values understudy_values
  read -r -a redis_values <<<"$1"
  read -r -a understudy_values <<<"$2"
  local i pair_ratios=()
  for i in "${!redis_values[@]}"; do
    [[ -n "${understudy_values[$i]:-}" ]] || continue
    pair_ratios+=("$(awk -v u="${understudy_values[$i]}" -v r="${redis_values[$i]}" 'BEGIN { printf "%.4f", u / r }')")
  done
  awk -v m="$(lib_median "${pair_ratios[@]}")" 'BEGIN { printf "%.3f", m }'
}

# Spread of the runs of one side, (max - min) / median, in percent: a direct
# look at how noisy that figure is.
spread_percent() {
  local median="$1"
  shift
  printf '%s\n' "$@" | awk -v m="$median" 'NR == 1 { lo = hi = $1 }
    { if ($1 < lo) lo = $1; if ($1 > hi) hi = $1 }
    END { if (m > 0) printf "%.1f\n", (hi - lo) * 100 / m; else print "nan" }'
}

start_seconds=$SECONDS
report "# understudy vs redis-server: redis-benchmark throughput (requests/s)"
report "# $(date -u '+%Y-%m-%dT%H:%M:%SZ') host $(uname -n), $(nproc) CPUs, git $(git -C "$LIB_REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
report "# redis-server: $(printf '%q ' "${REDIS_CMD[@]}")($("$REDIS_SERVER_BIN" --version | awk '{ print $3 }'))"
report "# understudy:   $(printf '%q ' "${UNDERSTUDY_CMD[@]}")"
report "# -c ${clients} -r ${keyspace}; main tests: -n ${requests} (-P 1) / ${requests_pipelined} (-P >1), ${rounds} rounds per side; extra tests: -n ${extra_requests} / $((extra_requests * 10)), ${extra_rounds} rounds (lrange: see 'n' column); interleaved, median"
report "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (anything well above 0 means other work competes for the CPUs)${LIB_NICE:+; niceness ${LIB_NICE}}"
if [[ -n "$server_cpu" ]]; then
  report "# pinning: servers on cpu ${server_cpu}, redis-benchmark on cpu ${bench_cpu}"
else
  report "# pinning: none (machine busy, --no-pin, or fewer than 2 CPUs)"
fi
report "$(printf '%-18s %4s %14s %14s %7s %7s %9s %9s %12s' test pipe redis understudy ratio paired spread_r spread_u n_x_rounds)"

for run_index in "${!run_tests[@]}"; do
  test="${run_tests[$run_index]}"
  test_rounds="${run_rounds[$run_index]}"
  for depth in "${pipeline_list[@]}"; do
    n="${run_n[$run_index]}"
    ((depth > 1)) && n="${run_n_pipelined[$run_index]}"
    first_new_key=${#result_keys[@]}
    failed_side=""
    for ((round = 1; round <= test_rounds; round++)); do
      # Alternate which side goes first (A B, B A, A B, ...): interleaving
      # spreads slow drifts of the machine (other load, thermal) over both
      # sides, and alternating the order cancels a linear drift inside a pair.
      if ((round % 2)); then order=(redis understudy); else order=(understudy redis); fi
      for side in "${order[@]}"; do
        if [[ "$side" == redis ]]; then port="$redis_port"; else port="$understudy_port"; fi
        if ! run_benchmark "$side" "$port" "$test" "$depth" "$round" "$n"; then
          failed_side="$side"
          break 2
        fi
        record_rows "$side" "$depth"
      done
    done
    if [[ -n "$failed_side" ]]; then
      # Go on with the other tests so the report is complete; the exit
      # status still says that something failed.
      failures+=("${test} -P ${depth}")
      report "$(printf '%-18s %4s   FAILED against %s (redis-benchmark error, see stderr)' "${test^^}" "$depth" "$failed_side")"
      continue
    fi
    for key in "${result_keys[@]:first_new_key}"; do
      read -r -a redis_values <<<"${samples["${key}|redis"]:-}"
      read -r -a understudy_values <<<"${samples["${key}|understudy"]:-}"
      ((${#redis_values[@]} > 0 && ${#understudy_values[@]} > 0)) ||
        die "missing results for ${key%|*} -P ${depth} on one side"
      redis_median="$(lib_median "${redis_values[@]}")"
      understudy_median="$(lib_median "${understudy_values[@]}")"
      ratio="$(awk -v u="$understudy_median" -v r="$redis_median" 'BEGIN { printf "%.3f", u / r }')"
      paired="$(paired_ratio "${redis_values[*]}" "${understudy_values[*]}")"
      ratios+=("${ratio} ${paired}")
      ratio_depths+=("$depth")
      report "$(printf '%-18s %4s %14s %14s %7s %7s %8s%% %8s%% %12s' "$(short_label "${key%|*}")" "$depth" \
        "$redis_median" "$understudy_median" "$ratio" "$paired" \
        "$(spread_percent "$redis_median" "${redis_values[@]}")" \
        "$(spread_percent "$understudy_median" "${understudy_values[@]}")" "${n}x${test_rounds}")"
    done
  done
done

# Summary: geometric mean of the ratios (the right average for ratios), per
# pipeline depth and overall, plus the extremes; the same for the paired ones.
# Arguments: a title, then "ratio paired" entries.
summary_line() {
  local title="$1"
  shift
  printf '%s\n' "$@" | awk -v title="$title" '
    {
      n++; s += log($1); sp += log($2)
      if (n == 1 || $1 < lo) lo = $1; if (n == 1 || $1 > hi) hi = $1
      if (n == 1 || $2 < plo) plo = $2; if (n == 1 || $2 > phi) phi = $2
    }
    END {
      if (n) printf "%-14s geomean %.3f (min %.3f, max %.3f)   paired: geomean %.3f (min %.3f, max %.3f)   %d results\n",
        title, exp(s / n), lo, hi, exp(sp / n), plo, phi, n
    }'
}
report ""
report "# summary: ratio = understudy rps / redis-server rps (>1: understudy faster)"
for depth in "${pipeline_list[@]}"; do
  depth_ratios=()
  for i in "${!ratios[@]}"; do
    if [[ "${ratio_depths[$i]}" == "$depth" ]]; then depth_ratios+=("${ratios[$i]}"); fi
  done
  if ((${#depth_ratios[@]} > 0)); then
    report "$(summary_line "pipeline ${depth}:" "${depth_ratios[@]}")"
  fi
done
if ((${#ratios[@]} > 0)); then report "$(summary_line "all:" "${ratios[@]}")"; fi
if ((${#failures[@]} > 0)); then
  report "# FAILED to measure: $(IFS=,; echo "${failures[*]}")"
fi
report "# elapsed $((SECONDS - start_seconds)) s"

if [[ -n "$out_file" ]]; then
  printf '%s\n' "${report_lines[@]}" >"$out_file"
  log "report written to ${out_file}"
fi
# Ratios below 1 are a finding, not an error; only runs that failed are.
((${#failures[@]} == 0)) || exit 1
exit 0
