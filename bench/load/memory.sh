#!/usr/bin/env bash
# Memory comparison: loads the same N string keys into a fresh redis-server
# 7.0 and a fresh understudy with `redis-cli --pipe`, checks DBSIZE, and
# reports each one's resident set (VmRSS) before and after loading. A report,
# not a test: exits 0 whatever the ratio is, non-zero only when something
# failed to run. See bench/load/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
usage: memory.sh [options]
  -n KEYS            number of keys to load (default: 1000000)
  --value-size S     value length in bytes (default: 16); keys are 16 bytes
  --out FILE         also write the report to FILE
  -h, --help         this text
environment: UNDERSTUDY_BIN, UNDERSTUDY_ARGS, REDIS_SERVER_BIN, REDIS_CLI_BIN
             (see lib.sh)
EOF
}

key_count=1000000
value_size=16
out_file=""
while (($# > 0)); do
  case "$1" in
    -n) key_count="$2"; shift 2 ;;
    --value-size) value_size="$2"; shift 2 ;;
    --out) out_file="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
for number in "$key_count" "$value_size"; do
  [[ "$number" =~ ^[1-9][0-9]*$ ]] || { log "not a positive integer: $number"; exit 2; }
done

lib_require_tools "$REDIS_SERVER_BIN" "$REDIS_CLI_BIN" awk timeout
lib_build_server_commands
lib_init

report_lines=()
report() {
  report_lines+=("$*")
  printf '%s\n' "$*"
}

# The load stream, generated once and fed to both servers byte for byte:
# SET key:NNNNNNNNNNNN vNNN... as RESP multibulk. Keys are 16 bytes; values
# start with "v" so that no server can store them as integers.
protocol_file="${LIB_WORKDIR}/load.resp"
generate_seconds=$SECONDS
awk -v n="$key_count" -v size="$value_size" 'BEGIN {
  value_format = "v%0" (size > 1 ? size - 1 : 1) "d"
  for (i = 0; i < n; i++) {
    key = sprintf("key:%012d", i)
    value = substr(sprintf(value_format, i), 1, size)
    printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(key), key, length(value), value
  }
}' >"$protocol_file"
log "generated $(wc -c <"$protocol_file") bytes of RESP for ${key_count} keys in $((SECONDS - generate_seconds)) s"

# Prints "VmRSS VmHWM" of PID in kB.
read_memory_kb() {
  awk '$1 == "VmRSS:" { rss = $2 } $1 == "VmHWM:" { hwm = $2 } END { print rss, hwm }' "/proc/$1/status"
}

# measure_side NAME CMD...: starts a fresh server, loads the stream, stops
# the server, and sets MEASURED=(baseline_rss_kb loaded_rss_kb peak_rss_kb
# used_memory_bytes_or_-). Runs in this shell, not in a subshell, so the
# EXIT trap knows the server's PID.
MEASURED=()
measure_side() {
  local name="$1"
  shift
  lib_start_server "$name" "" "$@"
  local pid="$LIB_SERVER_PID" port="$LIB_SERVER_PORT" baseline loaded peak pipe_output dbsize used_memory
  # Let start-up allocations settle before taking the baseline.
  sleep 0.5
  read -r baseline _ < <(read_memory_kb "$pid")
  if ! pipe_output="$(timeout 600 "$REDIS_CLI_BIN" -h 127.0.0.1 -p "$port" --pipe <"$protocol_file" 2>&1)"; then
    printf '%s\n' "$pipe_output" >&2
    die "redis-cli --pipe failed against ${name}"
  fi
  # redis-cli ends with "errors: E, replies: R".
  if ! grep -Eq "^errors: 0, replies: ${key_count}\$" <<<"$pipe_output"; then
    printf '%s\n' "$pipe_output" >&2
    die "redis-cli --pipe reported errors or a wrong reply count against ${name}"
  fi
  dbsize="$(timeout 10 "$REDIS_CLI_BIN" -h 127.0.0.1 -p "$port" DBSIZE)"
  [[ "$dbsize" == "$key_count" ]] || die "${name}: DBSIZE is '${dbsize}', expected ${key_count}"
  lib_require_alive "$name" "$pid"
  # Give the allocator a moment to return freed buffers (query buffers of
  # the pipe connection) before reading the resident set.
  sleep 1
  read -r loaded peak < <(read_memory_kb "$pid")
  # INFO's used_memory is the server's own accounting; shown when offered.
  used_memory="$(timeout 10 "$REDIS_CLI_BIN" -h 127.0.0.1 -p "$port" INFO memory 2>/dev/null |
    tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')"
  lib_stop_pid "$pid"
  MEASURED=("$baseline" "$loaded" "$peak" "${used_memory:--}")
}

start_seconds=$SECONDS
measure_side redis-server "${REDIS_CMD[@]}"
read -r redis_base redis_loaded redis_peak redis_used <<<"${MEASURED[*]}"
measure_side understudy "${UNDERSTUDY_CMD[@]}"
read -r understudy_base understudy_loaded understudy_peak understudy_used <<<"${MEASURED[*]}"
for value in "$redis_base" "$redis_loaded" "$understudy_base" "$understudy_loaded"; do
  [[ "$value" =~ ^[0-9]+$ ]] || die "could not read a resident set size"
done

mib() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
per_key() { awk -v a="$1" -v b="$2" -v n="$key_count" 'BEGIN { printf "%.1f", (b - a) * 1024 / n }'; }
ratio() { awk -v u="$1" -v r="$2" 'BEGIN { if (r > 0) printf "%.3f", u / r; else print "nan" }'; }
used_mib() { if [[ "$1" == - ]]; then echo -; else awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; fi; }

report "# understudy vs redis-server: resident memory for ${key_count} keys (16-byte keys, ${value_size}-byte values)"
report "# $(date -u '+%Y-%m-%dT%H:%M:%SZ') host $(uname -n), git $(git -C "$LIB_REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
report "# redis-server: $(printf '%q ' "${REDIS_CMD[@]}")($("$REDIS_SERVER_BIN" --version | awk '{ print $3 }'))"
report "# understudy:   $(printf '%q ' "${UNDERSTUDY_CMD[@]}")"
report "# sizes in MiB; VmRSS/VmHWM from /proc/PID/status; used_memory from INFO memory when offered"
report "$(printf '%-12s %12s %12s %12s %12s %12s %14s' side baseline_rss loaded_rss delta peak_rss used_memory bytes_per_key)"
report "$(printf '%-12s %12s %12s %12s %12s %12s %14s' redis "$(mib "$redis_base")" "$(mib "$redis_loaded")" \
  "$(mib $((redis_loaded - redis_base)))" "$(mib "$redis_peak")" "$(used_mib "$redis_used")" \
  "$(per_key "$redis_base" "$redis_loaded")")"
report "$(printf '%-12s %12s %12s %12s %12s %12s %14s' understudy "$(mib "$understudy_base")" "$(mib "$understudy_loaded")" \
  "$(mib $((understudy_loaded - understudy_base)))" "$(mib "$understudy_peak")" "$(used_mib "$understudy_used")" \
  "$(per_key "$understudy_base" "$understudy_loaded")")"
report ""
report "# ratio understudy/redis-server (<1: understudy uses less)"
report "loaded RSS ratio:     $(ratio "$understudy_loaded" "$redis_loaded")"
report "delta (data) ratio:   $(ratio $((understudy_loaded - understudy_base)) $((redis_loaded - redis_base)))"
report "baseline RSS ratio:   $(ratio "$understudy_base" "$redis_base")"
report "# elapsed $((SECONDS - start_seconds)) s"

if [[ -n "$out_file" ]]; then
  printf '%s\n' "${report_lines[@]}" >"$out_file"
  log "report written to ${out_file}"
fi
exit 0
