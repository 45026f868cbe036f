#!/usr/bin/env bash
# Throughput comparison: redis-benchmark against redis-server 7.0 and against
# understudy, with identical parameters, interleaved round by round, median
# per side. With --proxy: understudy proxying to a redis-server, against
# twemproxy in front of the same redis-server and against that redis-server
# directly. With --metrics: understudy with the admin port on and scraped
# every second, against understudy without it. A report, not a test: exits 0 whatever the ratios are, non-zero
# only when something failed to run. See bench/load/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
usage: compare.sh [--proxy | --outage | --metrics] [options]
  --proxy            proxy mode: one redis-server, with twemproxy and understudy
                     (--primary) each in front of it; measures the three
                     endpoints (direct, twemproxy, understudy) interleaved.
                     Defaults there: no --extra tests, no pinning
  --outage           outage mode: understudy with a primary that never answers
                     (every command served locally and every write journaled,
                     journal-fsync everysec) against redis-server with
                     appendonly yes, appendfsync everysec: the journal's cost
                     against Redis's own append-only file
  --metrics          metrics mode: two understudy processes (standalone), one
                     with the admin port on (admin-port, per-command figures)
                     and /metrics scraped every second during the whole run,
                     one without; ratio = on / off (goal >= 0.98, issue 8)
  --twemproxy-connections N
                     server_connections of the twemproxy pool (default: 1,
                     twemproxy's default and the only value that keeps each
                     client's requests in order; see README)
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
                     (default: pin only if the 1-minute load average is < 1;
                     with --proxy, only if --pin is given)
  --nice N           run servers and redis-benchmark at niceness N (e.g. -10,
                     needs root) so unrelated work on the machine disturbs less
  --out FILE         also write the report to FILE
  --raw FILE         write every single run (side,test,depth,round,rps) as CSV
  -h, --help         this text
environment: UNDERSTUDY_BIN, UNDERSTUDY_ARGS, REDIS_SERVER_BIN,
             REDIS_BENCHMARK_BIN, REDIS_CLI_BIN, NUTCRACKER_BIN (see lib.sh)
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
proxy_mode=no
outage_mode=no
metrics_mode=no
twemproxy_connections=1
extra_given=no
out_file=""
raw_file=""

while (($# > 0)); do
  case "$1" in
    --proxy) proxy_mode=yes; shift ;;
    --outage) outage_mode=yes; shift ;;
    --metrics) metrics_mode=yes; shift ;;
    --twemproxy-connections) twemproxy_connections="$2"; shift 2 ;;
    -t) tests="$2"; shift 2 ;;
    --extra) extra_tests="$2"; extra_given=yes; shift 2 ;;
    --no-extra) extra_tests=""; extra_given=yes; shift ;;
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
# Proxy mode measures the issue's three tests only, unless asked for more.
if [[ "$proxy_mode" == yes && "$extra_given" == no ]]; then extra_tests=""; fi
for number in "$requests" "$requests_pipelined" "$clients" "$keyspace" "$rounds" "$run_timeout" \
  "$extra_requests" "$extra_rounds" "$twemproxy_connections"; do
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
if [[ "$proxy_mode" == yes ]]; then
  lib_require_tools "$NUTCRACKER_BIN"
  [[ "$(basename "$UNDERSTUDY_BIN")" != redis-server ]] ||
    die "--proxy needs understudy itself (a redis-server stand-in cannot proxy)"
fi
if [[ "$outage_mode" == yes ]]; then
  [[ "$proxy_mode" == no ]] || die "--outage and --proxy exclude each other"
  # Nothing listens on that port: the primary is down for the whole run.
  dead_port="$(lib_pick_port)"
  UNDERSTUDY_CMD+=(--primary 127.0.0.1 "$dead_port" --primary-probe-max-interval 1000
    --journal-fsync everysec --journal-max-bytes 0)
  REDIS_CMD+=(--appendonly yes --appendfsync everysec)
fi
if [[ "$metrics_mode" == yes ]]; then
  [[ "$proxy_mode" == no && "$outage_mode" == no ]] || die "--metrics excludes --proxy and --outage"
  [[ "$(basename "$UNDERSTUDY_BIN")" != redis-server ]] ||
    die "--metrics needs understudy itself (redis-server has no admin port)"
  lib_require_tools curl
fi
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
# Proxy mode does not pin by default: a proxied request keeps three processes
# busy (redis-benchmark, the proxy, redis-server) on two cores, and pinning
# the proxy next to redis-server would halve what either proxy can do while
# the direct side keeps a core to itself.
server_cpu=""
bench_cpu=""
start_load="$(cut -d' ' -f1 /proc/loadavg)"
if [[ "$pin" == auto ]]; then
  pin=no
  if [[ "$proxy_mode" == no ]] && awk -v l="$start_load" 'BEGIN { exit !(l < 1.0) }'; then pin=yes; fi
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

# The endpoints ("sides") measured, in the order of the first round; each
# later round rotates that order by one. side_port: where redis-benchmark
# connects; side_watch: the PIDs whose death invalidates a run there.
declare -A side_port=()
declare -A side_watch=()
# The two sides of the standalone table: the reference and the one measured
# against it (ratio = test / base).
base_side=redis
test_side=understudy
if [[ "$metrics_mode" == yes ]]; then
  base_side=off
  test_side=on
  lib_start_server understudy-metrics-off "$server_cpu" "${UNDERSTUDY_CMD[@]}"
  side_port[off]="$LIB_SERVER_PORT"
  side_watch[off]="$LIB_SERVER_PID"
  admin_port="$(lib_pick_port)"
  lib_start_server understudy-metrics-on "$server_cpu" "${UNDERSTUDY_CMD[@]}" --admin-port "$admin_port"
  side_port[on]="$LIB_SERVER_PORT"
  side_watch[on]="$LIB_SERVER_PID"
  metrics_on_pid="$LIB_SERVER_PID"
  curl -sf "http://127.0.0.1:${admin_port}/metrics" >"${LIB_WORKDIR}/first-scrape.txt" ||
    die "no /metrics on the admin port ${admin_port}"
  # As Prometheus would: one scrape a second for the whole run (also while
  # the other side is measured; it then costs the machine a little, the same
  # for both sides). Stopped by PID with everything else.
  (
    while kill -0 "$metrics_on_pid" 2>/dev/null; do
      curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:${admin_port}/metrics" ||
        echo "scrape failed at $(date -u +%T)" >>"${LIB_WORKDIR}/scrape-failures.txt"
      sleep 1
    done
  ) &
  LIB_STARTED_PIDS+=("$!")
  sides=(off on)
fi
if [[ "$metrics_mode" == no ]]; then
  lib_start_server redis-server "$server_cpu" "${REDIS_CMD[@]}"
  redis_pid="$LIB_SERVER_PID"
  redis_port="$LIB_SERVER_PORT"
fi
if [[ "$metrics_mode" == yes ]]; then
  :
elif [[ "$proxy_mode" == no ]]; then
  lib_start_server understudy "$server_cpu" "${UNDERSTUDY_CMD[@]}"
  understudy_pid="$LIB_SERVER_PID"
  understudy_port="$LIB_SERVER_PORT"
  sides=(redis understudy)
  side_port[redis]="$redis_port"
  side_watch[redis]="$redis_pid"
  side_port[understudy]="$understudy_port"
  side_watch[understudy]="$understudy_pid"
else
  lib_start_twemproxy twemproxy "$server_cpu" "$redis_port" "$twemproxy_connections"
  twemproxy_pid="$LIB_SERVER_PID"
  twemproxy_port="$LIB_SERVER_PORT"
  UNDERSTUDY_CMD+=(--primary 127.0.0.1 "$redis_port")
  lib_start_server understudy "$server_cpu" "${UNDERSTUDY_CMD[@]}"
  understudy_pid="$LIB_SERVER_PID"
  understudy_port="$LIB_SERVER_PORT"
  # Both proxies answer PING themselves; a key written through each must
  # reach the redis-server behind it.
  lib_check_roundtrip twemproxy "$twemproxy_port" "$redis_port"
  lib_check_roundtrip understudy "$understudy_port" "$redis_port"
  sides=(direct twemproxy understudy)
  side_port[direct]="$redis_port"
  side_watch[direct]="$redis_pid"
  side_port[twemproxy]="$twemproxy_port"
  side_watch[twemproxy]="$twemproxy_pid $redis_pid"
  side_port[understudy]="$understudy_port"
  side_watch[understudy]="$understudy_pid $redis_pid"
fi

report_lines=()
report() {
  report_lines+=("$*")
  printf '%s\n' "$*"
}

if [[ -n "$raw_file" ]]; then
  printf 'side,test,pipeline,round,rps\n' >"$raw_file"
fi

# run_benchmark SIDE TEST DEPTH ROUND N: one redis-benchmark run against
# SIDE's port; sets RUN_ROWS to its "label<TAB>rps" rows. One -t test can
# yield several rows (e.g. lrange -> LRANGE_100, LRANGE_300, ...). Returns 1
# if the benchmark failed (e.g. the command is not supported); exits if a
# process behind that side died.
RUN_ROWS=()
run_benchmark() {
  local side="$1" test="$2" depth="$3" round="$4" n="$5"
  local port="${side_port[$side]}"
  local csv="${LIB_WORKDIR}/run.csv" errfile="${LIB_WORKDIR}/run.err"
  local bench_pid finished_pid="" status pid finished_name
  local -a watch_pids
  read -r -a watch_pids <<<"${side_watch[$side]}"
  for pid in "${watch_pids[@]}"; do
    lib_require_alive "${LIB_PID_NAMES[$pid]}" "$pid"
  done
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
  wait -n -p finished_pid "$bench_pid" "${watch_pids[@]}" || status=$?
  if [[ "$finished_pid" != "$bench_pid" ]]; then
    finished_name="${LIB_PID_NAMES[$finished_pid]:-process}"
    tail -n 20 "${LIB_PID_LOGS[$finished_pid]:-/dev/null}" >&2 || true
    die "${finished_name} (pid ${finished_pid}) exited during test ${test}, -P ${depth}"
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
  # Anything else redis-benchmark said goes to our stderr, once per kind:
  # against twemproxy it warns that it could not read CONFIG (twemproxy
  # does not implement it), which does not affect the run.
  if [[ -s "$errfile" ]]; then
    local line
    while IFS= read -r line; do
      [[ -n "$line" && -z "${bench_warnings_seen["${side}|${line}"]+set}" ]] || continue
      bench_warnings_seen["${side}|${line}"]=1
      log "redis-benchmark against ${side} said: ${line}"
    done <"$errfile"
  fi
  local row
  for row in "${RUN_ROWS[@]}"; do
    if [[ -n "$raw_file" ]]; then
      printf '%s,"%s",%s,%s,%s\n' "$side" "${row%%$'\t'*}" "$depth" "$round" "${row#*$'\t'}" >>"$raw_file"
    fi
  done
  return 0
}
declare -A bench_warnings_seen=()

declare -A samples=() # "label|depth|side" -> rps values in round order
declare -A seen_keys=()
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
    if [[ -z "${seen_keys["$key"]+set}" ]]; then
      seen_keys["$key"]=1
      result_keys+=("$key")
    fi
    samples["${key}|${side}"]="${samples["${key}|${side}"]:-} ${rps}"
  done
}

# side_values KEY SIDE: sets SIDE_VALUES to the rps values of one side for
# one "label|depth", in round order; dies if that side has none.
SIDE_VALUES=()
side_values() {
  read -r -a SIDE_VALUES <<<"${samples["${1}|${2}"]:-}"
  ((${#SIDE_VALUES[@]} > 0)) || die "missing results for ${1%|*} -P ${1##*|} on ${2}"
}

# Standalone mode: one table row for a "label|depth" key.
report_standalone_row() {
  local key="$1" depth="$2" n="$3" test_rounds="$4"
  local -a redis_values understudy_values
  local redis_median understudy_median ratio paired
  side_values "$key" "$base_side"
  redis_values=("${SIDE_VALUES[@]}")
  side_values "$key" "$test_side"
  understudy_values=("${SIDE_VALUES[@]}")
  redis_median="$(lib_median "${redis_values[@]}")"
  understudy_median="$(lib_median "${understudy_values[@]}")"
  ratio="$(lib_ratio "$understudy_median" "$redis_median")"
  paired="$(lib_paired_ratio "${understudy_values[*]}" "${redis_values[*]}")"
  ratios+=("${ratio} ${paired}")
  ratio_depths+=("$depth")
  report "$(printf '%-18s %4s %14s %14s %7s %7s %8s%% %8s%% %12s' "$(lib_short_label "${key%|*}")" "$depth" \
    "$redis_median" "$understudy_median" "$ratio" "$paired" \
    "$(lib_spread_percent "$redis_median" "${redis_values[@]}")" \
    "$(lib_spread_percent "$understudy_median" "${understudy_values[@]}")" "${n}x${test_rounds}")"
}

# Proxy mode: one table row for a "label|depth" key; keeps the medians and
# ratios in `proxy_figures` ("label|depth|name" -> value) for the goals and
# summary lines.
declare -A proxy_figures=()
proxy_labels=() # result labels in the order first reported
report_proxy_row() {
  local key="$1" depth="$2" n="$3" test_rounds="$4" side label="${1%|*}"
  local -A values=() medians=()
  for side in "${sides[@]}"; do
    side_values "$key" "$side"
    values[$side]="${SIDE_VALUES[*]}"
    medians[$side]="$(lib_median "${SIDE_VALUES[@]}")"
    proxy_figures["${key}|${side}"]="${medians[$side]}"
    proxy_figures["${key}|spread_${side}"]="$(lib_spread_percent "${medians[$side]}" "${SIDE_VALUES[@]}")"
  done
  proxy_figures["${key}|vs_direct"]="$(lib_ratio "${medians[understudy]}" "${medians[direct]}")"
  proxy_figures["${key}|vs_direct_paired"]="$(lib_paired_ratio "${values[understudy]}" "${values[direct]}")"
  proxy_figures["${key}|vs_twemproxy"]="$(lib_ratio "${medians[understudy]}" "${medians[twemproxy]}")"
  proxy_figures["${key}|vs_twemproxy_paired"]="$(lib_paired_ratio "${values[understudy]}" "${values[twemproxy]}")"
  [[ " ${proxy_labels[*]} " == *" ${label} "* ]] || proxy_labels+=("$label")
  report "$(printf '%-10s %4s %11s %11s %11s %9s %7s %9s %7s %8s%% %8s%% %8s%% %10s' \
    "$(lib_short_label "$label")" "$depth" \
    "${medians[direct]}" "${medians[twemproxy]}" "${medians[understudy]}" \
    "${proxy_figures["${key}|vs_direct"]}" "${proxy_figures["${key}|vs_direct_paired"]}" \
    "${proxy_figures["${key}|vs_twemproxy"]}" "${proxy_figures["${key}|vs_twemproxy_paired"]}" \
    "${proxy_figures["${key}|spread_direct"]}" "${proxy_figures["${key}|spread_twemproxy"]}" \
    "${proxy_figures["${key}|spread_understudy"]}" "${n}x${test_rounds}")"
}

start_seconds=$SECONDS
git_version="$(git -C "$LIB_REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
redis_version="$("$REDIS_SERVER_BIN" --version | awk '{ print $3 }')"
if [[ "$metrics_mode" == yes ]]; then
  report "# understudy with metrics (admin port on, /metrics scraped every second) vs without: redis-benchmark throughput (requests/s)"
  report "# $(date -u '+%Y-%m-%dT%H:%M:%SZ') host $(uname -n), $(nproc) CPUs, git ${git_version}"
  report "# off: $(printf '%q ' "${UNDERSTUDY_CMD[@]}")"
  report "# on:  $(printf '%q ' "${UNDERSTUDY_CMD[@]}")--admin-port ${admin_port}"
  report "# -c ${clients} -r ${keyspace}; main tests: -n ${requests} (-P 1) / ${requests_pipelined} (-P >1), ${rounds} rounds per side; extra tests: -n ${extra_requests} / $((extra_requests * 10)), ${extra_rounds} rounds; interleaved, median"
elif [[ "$proxy_mode" == no ]]; then
  report "# understudy vs redis-server: redis-benchmark throughput (requests/s)"
  report "# $(date -u '+%Y-%m-%dT%H:%M:%SZ') host $(uname -n), $(nproc) CPUs, git ${git_version}"
  report "# redis-server: $(printf '%q ' "${REDIS_CMD[@]}")(${redis_version})"
  report "# understudy:   $(printf '%q ' "${UNDERSTUDY_CMD[@]}")"
  report "# -c ${clients} -r ${keyspace}; main tests: -n ${requests} (-P 1) / ${requests_pipelined} (-P >1), ${rounds} rounds per side; extra tests: -n ${extra_requests} / $((extra_requests * 10)), ${extra_rounds} rounds (lrange: see 'n' column); interleaved, median"
else
  report "# understudy (proxy) vs twemproxy vs redis-server direct: redis-benchmark throughput (requests/s)"
  report "# $(date -u '+%Y-%m-%dT%H:%M:%SZ') host $(uname -n), $(nproc) CPUs, git ${git_version}"
  report "# redis-server (behind both proxies): $(printf '%q ' "${REDIS_CMD[@]}")(${redis_version}), port ${redis_port}"
  report "# twemproxy: $("$NUTCRACKER_BIN" -V 2>&1 | grep -o 'nutcracker-[0-9.]*' | head -n 1), one redis pool, server_connections ${twemproxy_connections}, preconnect, port ${twemproxy_port}"
  report "# understudy:   $(printf '%q ' "${UNDERSTUDY_CMD[@]}")(port ${understudy_port})"
  report "# -c ${clients} -r ${keyspace}; -n ${requests} (-P 1) / ${requests_pipelined} (-P >1), ${rounds} rounds per endpoint${extra_tests:+; extra tests: -n ${extra_requests} / $((extra_requests * 10)), ${extra_rounds} rounds}; interleaved (order rotated each round), median"
fi
report "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (anything well above 0 means other work competes for the CPUs)${LIB_NICE:+; niceness ${LIB_NICE}}"
if [[ -n "$server_cpu" ]]; then
  report "# pinning: servers on cpu ${server_cpu}, redis-benchmark on cpu ${bench_cpu}"
elif [[ "$proxy_mode" == yes ]]; then
  report "# pinning: none (redis-benchmark, the proxy and redis-server share the CPUs)"
else
  report "# pinning: none (machine busy, --no-pin, or fewer than 2 CPUs)"
fi
if [[ "$metrics_mode" == yes ]]; then
  report "$(printf '%-18s %4s %14s %14s %7s %7s %9s %9s %12s' test pipe off on ratio paired spread_of spread_on n_x_rounds)"
elif [[ "$proxy_mode" == no ]]; then
  report "$(printf '%-18s %4s %14s %14s %7s %7s %9s %9s %12s' test pipe redis understudy ratio paired spread_r spread_u n_x_rounds)"
else
  report "$(printf '%-10s %4s %11s %11s %11s %9s %7s %9s %7s %9s %9s %9s %10s' test pipe direct twemproxy understudy \
    us/direct paired us/twemp paired spread_d spread_t spread_u n_x_rounds)"
fi

for run_index in "${!run_tests[@]}"; do
  test="${run_tests[$run_index]}"
  test_rounds="${run_rounds[$run_index]}"
  for depth in "${pipeline_list[@]}"; do
    n="${run_n[$run_index]}"
    ((depth > 1)) && n="${run_n_pipelined[$run_index]}"
    first_new_key=${#result_keys[@]}
    failed_side=""
    for ((round = 1; round <= test_rounds; round++)); do
      # Rotate which side goes first (two sides: A B, B A, A B, ...; three:
      # A B C, B C A, C A B, ...): interleaving spreads slow drifts of the
      # machine (other load, thermal) over all sides, and rotating the order
      # cancels a linear drift inside a round.
      shift_by=$(((round - 1) % ${#sides[@]}))
      order=("${sides[@]:shift_by}" "${sides[@]:0:shift_by}")
      for side in "${order[@]}"; do
        if ! run_benchmark "$side" "$test" "$depth" "$round" "$n"; then
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
      if [[ "$proxy_mode" == no ]]; then
        report_standalone_row "$key" "$depth" "$n" "$test_rounds"
      else
        report_proxy_row "$key" "$depth" "$n" "$test_rounds"
      fi
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

# Proxy mode: the issue's two goals per test, then one machine-readable
# line per test with every median and ratio.
# goal_verdict KEY FIGURE THRESHOLD: "met", "missed" or "n/a".
goal_verdict() {
  local value="${proxy_figures["${1}|${2}"]:-}"
  if [[ -z "$value" ]]; then
    echo "n/a"
  elif awk -v v="$value" -v t="$3" 'BEGIN { exit !(v >= t) }'; then
    echo "met"
  else
    echo "missed"
  fi
}
report_proxy_summary() {
  local label key depth side line verdict
  report ""
  report "# goals (issue 4): understudy >= 2.0 x twemproxy at -P 16, >= 0.9 x direct at -P 1"
  report "# (median ratio, paired ratio in parentheses; the other two ratios are for information)"
  for label in "${proxy_labels[@]}"; do
    key="${label}|16"
    verdict="$(goal_verdict "$key" vs_twemproxy 2.0)"
    [[ "$verdict" == n/a ]] || report "$(printf '# %-10s understudy/twemproxy -P 16: %6s (%s)  goal >= 2.0: %-6s   understudy/direct -P 16: %6s (%s)' \
      "$(lib_short_label "$label")" "${proxy_figures["${key}|vs_twemproxy"]:-n/a}" \
      "${proxy_figures["${key}|vs_twemproxy_paired"]:-n/a}" "$verdict" \
      "${proxy_figures["${key}|vs_direct"]:-n/a}" "${proxy_figures["${key}|vs_direct_paired"]:-n/a}")"
    key="${label}|1"
    verdict="$(goal_verdict "$key" vs_direct 0.9)"
    [[ "$verdict" == n/a ]] || report "$(printf '# %-10s understudy/direct    -P 1:  %6s (%s)  goal >= 0.9: %-6s   understudy/twemproxy -P 1: %6s (%s)' \
      "$(lib_short_label "$label")" "${proxy_figures["${key}|vs_direct"]:-n/a}" \
      "${proxy_figures["${key}|vs_direct_paired"]:-n/a}" "$verdict" \
      "${proxy_figures["${key}|vs_twemproxy"]:-n/a}" "${proxy_figures["${key}|vs_twemproxy_paired"]:-n/a}")"
  done
  report ""
  report "# machine-readable: one RESULT line per test (rps medians and ratios per pipeline depth)"
  for label in "${proxy_labels[@]}"; do
    line="RESULT mode=proxy test=$(lib_short_label "$label" | tr ' ' '_')"
    for depth in "${pipeline_list[@]}"; do
      key="${label}|${depth}"
      [[ -n "${proxy_figures["${key}|direct"]:-}" ]] || continue
      for side in "${sides[@]}"; do
        line+=" p${depth}_${side}=${proxy_figures["${key}|${side}"]}"
      done
      line+=" p${depth}_understudy_vs_twemproxy=${proxy_figures["${key}|vs_twemproxy"]}"
      line+=" p${depth}_understudy_vs_direct=${proxy_figures["${key}|vs_direct"]}"
    done
    line+=" goal_p16_vs_twemproxy=$(goal_verdict "${label}|16" vs_twemproxy 2.0)"
    line+=" goal_p1_vs_direct=$(goal_verdict "${label}|1" vs_direct 0.9)"
    line+=" load_start=${start_load} load_end=$(cut -d' ' -f1 /proc/loadavg)"
    report "$line"
  done
}

if [[ "$proxy_mode" == no ]]; then
  report ""
  if [[ "$metrics_mode" == yes ]]; then
    report "# summary: ratio = rps with metrics on / rps with metrics off (goal, issue 8: >= 0.98)"
  else
    report "# summary: ratio = understudy rps / redis-server rps (>1: understudy faster)"
  fi
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
  if [[ "$metrics_mode" == yes ]]; then
    scrapes_failed=0
    [[ -f "${LIB_WORKDIR}/scrape-failures.txt" ]] &&
      scrapes_failed="$(wc -l <"${LIB_WORKDIR}/scrape-failures.txt")"
    report "# scrapes that failed during the run: ${scrapes_failed}"
    report "RESULT mode=metrics $(printf '%s\n' "${ratios[@]}" | awk '{ n++; s += log($1); sp += log($2) } END { if (n) printf "geomean_ratio=%.3f geomean_paired=%.3f results=%d", exp(s / n), exp(sp / n), n }') load_start=${start_load} load_end=$(cut -d' ' -f1 /proc/loadavg)"
  fi
else
  report_proxy_summary
  report "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
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
