# shellcheck shell=bash
# shellcheck disable=SC2034  # globals here are read by the sourcing scripts
# Shared helpers for the load-benchmark scripts in bench/load/.
# Sourced, not executed. Callers must `set -euo pipefail` and call
# `lib_init` before starting anything, so the EXIT trap can clean up.
#
# Environment overrides (all optional):
#   REDIS_SERVER_BIN     baseline server binary          (default: redis-server)
#   REDIS_CLI_BIN        redis-cli binary                 (default: redis-cli)
#   REDIS_BENCHMARK_BIN  redis-benchmark binary           (default: redis-benchmark)
#   NUTCRACKER_BIN       twemproxy, for compare.sh --proxy (default: /usr/sbin/nutcracker)
#   UNDERSTUDY_BIN       server under test                (default: <repo>/build/understudy)
#   UNDERSTUDY_ARGS      extra arguments for it, shell-quoted, e.g.
#                        "--hz 10". If UNDERSTUDY_BIN is a redis-server (used as
#                        a stand-in) and this is unset, the baseline's
#                        persistence-off flags are used.

LIB_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REDIS_SERVER_BIN="${REDIS_SERVER_BIN:-redis-server}"
REDIS_CLI_BIN="${REDIS_CLI_BIN:-redis-cli}"
REDIS_BENCHMARK_BIN="${REDIS_BENCHMARK_BIN:-redis-benchmark}"
NUTCRACKER_BIN="${NUTCRACKER_BIN:-/usr/sbin/nutcracker}"
UNDERSTUDY_BIN="${UNDERSTUDY_BIN:-${LIB_REPO_ROOT}/build/understudy}"

# Persistence off so a benchmark never triggers a background save or AOF
# rewrite on the baseline (understudy has no RDB/AOF, so this keeps the
# comparison about the request path only).
REDIS_BASELINE_ARGS=(--bind 127.0.0.1 --save '' --appendonly no)

LIB_WORKDIR=""
LIB_STARTED_PIDS=()
UNDERSTUDY_CMD=()
REDIS_CMD=()
# Set by lib_start_server / lib_start_listener for its caller.
LIB_SERVER_PID=""
LIB_SERVER_PORT=""
# Name and log file of every server started, by PID (for error messages).
declare -A LIB_PID_NAMES=()
declare -A LIB_PID_LOGS=()
# Scratch variables of lib_start_listener and its command builders.
LIB_LAUNCH_CMD=()
LIB_BASE_CMD=()
LIB_TWEMPROXY_BACKEND_PORT=""
LIB_TWEMPROXY_CONNECTIONS=""
LIB_TWEMPROXY_CONF=""
# Niceness for everything started here (empty: inherit). Negative values need
# root; they make the measured processes win the CPU over unrelated work.
LIB_NICE=""

log() { printf '%s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Creates the scratch directory (server cwd, logs, generated data) and
# installs the traps that kill every process started through this library.
lib_init() {
  LIB_WORKDIR="$(mktemp -d "${TMPDIR:-/tmp}/understudy-bench.XXXXXX")"
  trap lib_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Kills (by PID only) everything recorded in LIB_STARTED_PIDS: TERM first,
# KILL after ~3 s for anything still alive, then removes the scratch dir.
lib_cleanup() {
  local pid waited
  for pid in "${LIB_STARTED_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${LIB_STARTED_PIDS[@]}"; do
    waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 30)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  LIB_STARTED_PIDS=()
  if [[ -n "$LIB_WORKDIR" && -d "$LIB_WORKDIR" ]]; then
    rm -rf "$LIB_WORKDIR"
  fi
}

lib_forget_pid() {
  local gone="$1" pid kept=()
  for pid in "${LIB_STARTED_PIDS[@]}"; do
    [[ "$pid" == "$gone" ]] || kept+=("$pid")
  done
  LIB_STARTED_PIDS=("${kept[@]}")
}

# Stops one server we started and forgets it.
lib_stop_pid() {
  local pid="$1" waited=0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((waited < 30)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  lib_forget_pid "$pid"
}

lib_require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "required tool not found: $tool"
  done
}

# Sets the global arrays UNDERSTUDY_CMD and REDIS_CMD: each server's command
# line minus `--port P`, which lib_start_server appends.
lib_build_server_commands() {
  [[ -x "$UNDERSTUDY_BIN" ]] || command -v "$UNDERSTUDY_BIN" >/dev/null 2>&1 ||
    die "understudy binary not found: $UNDERSTUDY_BIN (build it with 'ninja -C build understudy' or set UNDERSTUDY_BIN)"
  local extra=()
  if [[ -n "${UNDERSTUDY_ARGS+set}" ]]; then
    # Shell-quoted on purpose, so "--save ''" survives; the value comes from
    # the person running the benchmark, not from outside input.
    eval "extra=(${UNDERSTUDY_ARGS})"
  elif [[ "$(basename "$UNDERSTUDY_BIN")" == redis-server ]]; then
    extra=("${REDIS_BASELINE_ARGS[@]}")
  else
    extra=(--bind 127.0.0.1)
  fi
  UNDERSTUDY_CMD=("$UNDERSTUDY_BIN" "${extra[@]}")
  REDIS_CMD=("$REDIS_SERVER_BIN" "${REDIS_BASELINE_ARGS[@]}")
}

# Prints a loopback TCP port outside the kernel's ephemeral range (so the
# benchmark's own client sockets can never take it) that nobody listens on
# right now. Start-up still retries, since another process may grab it first.
lib_pick_port() {
  local attempt port
  for ((attempt = 0; attempt < 200; attempt++)); do
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  die "no free loopback port found"
}

# lib_launch_prefix ARRAY CPU: sets ARRAY to the command prefix that applies
# LIB_NICE and pins to CPU (either may be empty).
lib_launch_prefix() {
  local -n prefix_out="$1"
  local cpu="$2"
  prefix_out=()
  [[ -n "$LIB_NICE" ]] && prefix_out+=(nice -n "$LIB_NICE")
  [[ -n "$cpu" ]] && prefix_out+=(taskset -c "$cpu")
  return 0
}

# lib_start_listener NAME CPU BUILDER: starts a process that listens on a
# free loopback port, in the scratch dir, optionally pinned to CPU (empty =
# no pinning), and waits until it answers PING there. BUILDER is the name of
# a function called as `BUILDER PORT LOGFILE` that sets LIB_LAUNCH_CMD to
# the complete command line for that port (it may also write config files).
# Sets LIB_SERVER_PID and LIB_SERVER_PORT, and records the process in
# LIB_PID_NAMES / LIB_PID_LOGS. Retries a few ports in case one was taken
# between picking and binding (the log then says "address already in use").
lib_start_listener() {
  local name="$1" cpu="$2" builder="$3"
  local attempt port pid logfile waited pinned=()
  lib_launch_prefix pinned "$cpu"
  for ((attempt = 1; attempt <= 5; attempt++)); do
    port="$(lib_pick_port)"
    logfile="${LIB_WORKDIR}/${name}.${port}.log"
    "$builder" "$port" "$logfile"
    # taskset execs the server, and the subshell execs taskset, so $! is the
    # server's own PID. Appending: a process may also write the same file
    # itself (nutcracker -o).
    (cd "$LIB_WORKDIR" && exec "${pinned[@]}" "${LIB_LAUNCH_CMD[@]}") >>"$logfile" 2>&1 &
    pid=$!
    LIB_STARTED_PIDS+=("$pid")
    waited=0
    while ((waited < 100)); do # up to ~10 s
      if ! kill -0 "$pid" 2>/dev/null; then
        break
      fi
      if [[ "$(timeout 2 "$REDIS_CLI_BIN" -h 127.0.0.1 -p "$port" PING 2>/dev/null)" == PONG ]]; then
        LIB_SERVER_PID="$pid"
        LIB_SERVER_PORT="$port"
        LIB_PID_NAMES["$pid"]="$name"
        LIB_PID_LOGS["$pid"]="$logfile"
        log "started ${name}: pid ${pid}, port ${port}${cpu:+, cpu ${cpu}}"
        return 0
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      lib_stop_pid "$pid"
      log "${name} did not answer PING within 10 s; last log lines:"
      tail -n 20 "$logfile" >&2 || true
      die "${name} failed to start: ${LIB_LAUNCH_CMD[*]}"
    fi
    wait "$pid" 2>/dev/null || true
    lib_forget_pid "$pid"
    if ! grep -qi 'address already in use' "$logfile"; then
      log "${name} exited during start-up; last log lines:"
      tail -n 20 "$logfile" >&2 || true
      die "${name} failed to start: ${LIB_LAUNCH_CMD[*]}"
    fi
    log "port ${port} was taken, retrying"
  done
  die "${name} failed to start after 5 ports"
}

# lib_start_server NAME CPU CMD... : lib_start_listener for a server that
# takes `--port P` (redis-server, understudy): CMD with `--port P` appended.
lib_start_server() {
  local name="$1" cpu="$2"
  shift 2
  LIB_BASE_CMD=("$@")
  lib_start_listener "$name" "$cpu" _lib_port_flag_command
}
_lib_port_flag_command() {
  LIB_LAUNCH_CMD=("${LIB_BASE_CMD[@]}" --port "$1")
}

# lib_start_twemproxy NAME CPU BACKEND_PORT SERVER_CONNECTIONS: starts
# nutcracker (twemproxy) with one redis pool whose only server is
# 127.0.0.1:BACKEND_PORT, listening on a free loopback port, its stats port
# on loopback too. The YAML config is generated in the scratch dir and
# checked with `nutcracker --test-conf` first. Sets LIB_SERVER_PID,
# LIB_SERVER_PORT and LIB_TWEMPROXY_CONF (the config of the running one).
lib_start_twemproxy() {
  local name="$1" cpu="$2"
  LIB_TWEMPROXY_BACKEND_PORT="$3"
  LIB_TWEMPROXY_CONNECTIONS="$4"
  lib_start_listener "$name" "$cpu" _lib_twemproxy_command
}
_lib_twemproxy_command() {
  local port="$1" logfile="$2" stats_port conf
  stats_port="$(lib_pick_port)"
  while [[ "$stats_port" == "$port" ]]; do stats_port="$(lib_pick_port)"; done
  conf="${LIB_WORKDIR}/twemproxy.${port}.yml"
  # preconnect: the server connection exists before the first request, as
  # understudy's upstream connections do, so no run pays for connecting.
  # No timeout/auto_eject_hosts: a benchmark of one healthy server needs
  # neither, and leaving them out keeps twemproxy on its default path.
  cat >"$conf" <<YAML
bench:
  listen: 127.0.0.1:${port}
  redis: true
  hash: fnv1a_64
  distribution: ketama
  preconnect: true
  server_connections: ${LIB_TWEMPROXY_CONNECTIONS}
  servers:
    - 127.0.0.1:${LIB_TWEMPROXY_BACKEND_PORT}:1
YAML
  if ! "$NUTCRACKER_BIN" --test-conf -c "$conf" >"${conf}.test" 2>&1; then
    cat "${conf}.test" >&2
    die "nutcracker --test-conf rejected the generated config ${conf}"
  fi
  LIB_TWEMPROXY_CONF="$conf"
  # -o and -p: Debian's defaults are under /var/log and /run, which are
  # not ours; -a: the stats port listens on loopback only.
  LIB_LAUNCH_CMD=("$NUTCRACKER_BIN" -c "$conf" -s "$stats_port" -a 127.0.0.1
    -o "$logfile" -p "${LIB_WORKDIR}/twemproxy.${port}.pid")
}

# lib_check_roundtrip NAME PORT CHECK_PORT: writes a key through PORT and
# reads it back through CHECK_PORT (e.g. through a proxy, then directly
# from the server behind it), so a proxy that answers PING itself but
# cannot reach its server is caught before any measurement.
lib_check_roundtrip() {
  local name="$1" port="$2" check_port="$3" key value got
  key="understudy-bench:check:${name}:$$"
  value="v${RANDOM}${RANDOM}"
  [[ "$(timeout 5 "$REDIS_CLI_BIN" -h 127.0.0.1 -p "$port" SET "$key" "$value" 2>&1)" == OK ]] ||
    die "${name}: SET through port ${port} failed"
  got="$(timeout 5 "$REDIS_CLI_BIN" -h 127.0.0.1 -p "$check_port" GET "$key" 2>&1)"
  [[ "$got" == "$value" ]] || die "${name}: a key written through port ${port} reads '${got}' on port ${check_port}"
  timeout 5 "$REDIS_CLI_BIN" -h 127.0.0.1 -p "$check_port" DEL "$key" >/dev/null 2>&1 || true
}

lib_require_alive() {
  local name="$1" pid="$2"
  kill -0 "$pid" 2>/dev/null || die "${name} (pid ${pid}) is no longer running"
}

# Median of the numbers given as arguments (mean of the two middle ones for
# an even count).
lib_median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
    END {
      if (NR == 0) { print "nan"; exit }
      if (NR % 2) printf "%.2f\n", v[(NR + 1) / 2]
      else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
    }'
}

# lib_ratio NUMERATOR DENOMINATOR: their quotient with 3 decimals.
lib_ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }'
}

# lib_paired_ratio "NUMERATORS" "DENOMINATORS": median over rounds of the
# ratio within each round (both lists space-separated, in round order). The
# runs of one round are close in time, so this cancels slow changes in
# machine load better than the ratio of the two medians; a large gap
# between the two is a sign of noise.
lib_paired_ratio() {
  local -a numerators denominators
  read -r -a numerators <<<"$1"
  read -r -a denominators <<<"$2"
  local i pair_ratios=()
  for i in "${!denominators[@]}"; do
    [[ -n "${numerators[$i]:-}" ]] || continue
    pair_ratios+=("$(awk -v a="${numerators[$i]}" -v b="${denominators[$i]}" 'BEGIN { printf "%.4f", a / b }')")
  done
  awk -v m="$(lib_median "${pair_ratios[@]}")" 'BEGIN { printf "%.3f", m }'
}

# lib_spread_percent MEDIAN VALUES...: (max - min) / median of the runs of
# one side, in percent: a direct look at how noisy that figure is.
lib_spread_percent() {
  local median="$1"
  shift
  printf '%s\n' "$@" | awk -v m="$median" 'NR == 1 { lo = hi = $1 }
    { if ($1 < lo) lo = $1; if ($1 > hi) hi = $1 }
    END { if (m > 0) printf "%.1f\n", (hi - lo) * 100 / m; else print "nan" }'
}

# Display name of a redis-benchmark result label: drops the explanations
# redis-benchmark puts in parentheses, but keeps apart the LPUSH that the
# lrange test runs from the plain LPUSH test.
lib_short_label() {
  case "$1" in
    "LPUSH (needed to benchmark LRANGE)") echo "LPUSH(for LRANGE)" ;;
    *" ("*) echo "${1%% (*}" ;;
    *) echo "$1" ;;
  esac
}
