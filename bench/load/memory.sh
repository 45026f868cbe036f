#!/usr/bin/env bash
# Memory comparison: for each scenario, loads the same data into a fresh
# redis-server 7.0 and a fresh understudy with `redis-cli --pipe`, checks
# that every reply was right and that DBSIZE matches, and reports each one's
# resident set (VmRSS) before and after loading. Scenarios: 1,000,000 string
# keys; 100,000 hashes of 10 small fields; 100,000 sorted sets of 10
# members. A report, not a test: exits 0 whatever the ratios are, non-zero
# only when something failed to run. See bench/load/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
usage: memory.sh [options]
  --scenarios LIST   comma-separated, in order (default: strings,hashes,zsets)
                       strings  N string keys (SET)
                       hashes   C hashes of F fields (one HSET per hash)
                       zsets    C sorted sets of F members (one ZADD per key)
  -n KEYS            string keys for "strings" (default: 1000000)
  --value-size S     string value length in bytes (default: 16); keys are 16 bytes
  --collections C    keys for "hashes" and "zsets" (default: 100000)
  --fields F         fields per hash / members per sorted set (default: 10)
  --out FILE         also write the report to FILE
  -h, --help         this text
environment: UNDERSTUDY_BIN, UNDERSTUDY_ARGS, REDIS_SERVER_BIN, REDIS_CLI_BIN
             (see lib.sh)
EOF
}

scenarios="strings,hashes,zsets"
key_count=1000000
value_size=16
collection_count=100000
field_count=10
out_file=""
while (($# > 0)); do
  case "$1" in
    --scenarios) scenarios="$2"; shift 2 ;;
    -n) key_count="$2"; shift 2 ;;
    --value-size) value_size="$2"; shift 2 ;;
    --collections) collection_count="$2"; shift 2 ;;
    --fields) field_count="$2"; shift 2 ;;
    --out) out_file="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
for number in "$key_count" "$value_size" "$collection_count" "$field_count"; do
  [[ "$number" =~ ^[1-9][0-9]*$ ]] || { log "not a positive integer: $number"; exit 2; }
done
IFS=',' read -r -a scenario_list <<<"$scenarios"
for scenario in "${scenario_list[@]}"; do
  case "$scenario" in
    strings | hashes | zsets) ;;
    *) log "unknown scenario: $scenario"; exit 2 ;;
  esac
done

lib_require_tools "$REDIS_SERVER_BIN" "$REDIS_CLI_BIN" awk timeout
lib_build_server_commands
lib_init

report_lines=()
report() {
  report_lines+=("$*")
  printf '%s\n' "$*"
}

# generate_load SCENARIO FILE: writes the scenario's RESP stream, fed to
# both servers byte for byte, and sets LOAD_KEYS (keys it creates),
# LOAD_CHECK (a command and the reply redis-cli prints for it, to check one
# loaded key's content) and LOAD_TITLE. Keys are 16 bytes. String values
# start with "v" so that no server can store them as integers; hash values
# are 8 bytes; zset scores are integers, as in a typical leaderboard.
generate_load() {
  local scenario="$1" file="$2" started=$SECONDS
  case "$scenario" in
    strings)
      awk -v n="$key_count" -v size="$value_size" 'BEGIN {
        value_format = "v%0" (size > 1 ? size - 1 : 1) "d"
        for (i = 0; i < n; i++) {
          key = sprintf("key:%012d", i)
          value = substr(sprintf(value_format, i), 1, size)
          printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(key), key, length(value), value
        }
      }' >"$file"
      LOAD_KEYS="$key_count"
      LOAD_CHECK=("STRLEN key:000000000000" "$value_size")
      LOAD_TITLE="${key_count} string keys (16-byte keys, ${value_size}-byte values)"
      ;;
    hashes)
      awk -v n="$collection_count" -v f="$field_count" 'BEGIN {
        for (i = 0; i < n; i++) {
          key = sprintf("hash:%011d", i)
          printf "*%d\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n", 2 + 2 * f, length(key), key
          for (j = 0; j < f; j++) {
            field = "field:" j
            value = sprintf("v%07d", (i * f + j) % 10000000)
            printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(field), field, length(value), value
          }
        }
      }' >"$file"
      LOAD_KEYS="$collection_count"
      LOAD_CHECK=("HLEN hash:00000000000" "$field_count")
      LOAD_TITLE="${collection_count} hashes of ${field_count} fields (16-byte keys, fields field:0..field:$((field_count - 1)), 8-byte values)"
      ;;
    zsets)
      awk -v n="$collection_count" -v f="$field_count" 'BEGIN {
        for (i = 0; i < n; i++) {
          key = sprintf("zset:%011d", i)
          printf "*%d\r\n$4\r\nZADD\r\n$%d\r\n%s\r\n", 2 + 2 * f, length(key), key
          for (j = 0; j < f; j++) {
            score = (i * 7 + j * 131) % 100000
            member = "member:" j
            printf "$%d\r\n%d\r\n$%d\r\n%s\r\n", length(score ""), score, length(member), member
          }
        }
      }' >"$file"
      LOAD_KEYS="$collection_count"
      LOAD_CHECK=("ZCARD zset:00000000000" "$field_count")
      LOAD_TITLE="${collection_count} sorted sets of ${field_count} members (16-byte keys, members member:0..member:$((field_count - 1)), integer scores)"
      ;;
  esac
  log "${scenario}: generated $(wc -c <"$file") bytes of RESP in $((SECONDS - started)) s"
}

# Prints "VmRSS VmHWM" of PID in kB.
read_memory_kb() {
  awk '$1 == "VmRSS:" { rss = $2 } $1 == "VmHWM:" { hwm = $2 } END { print rss, hwm }' "/proc/$1/status"
}

# measure_side NAME FILE CMD...: starts a fresh server, loads FILE, checks
# the replies, DBSIZE and LOAD_CHECK, stops the server, and sets
# MEASURED=(baseline_rss_kb loaded_rss_kb peak_rss_kb used_memory_bytes_or_-).
# Runs in this shell, not in a subshell, so the EXIT trap knows the PID.
MEASURED=()
measure_side() {
  local name="$1" file="$2"
  shift 2
  lib_start_server "$name" "" "$@"
  local pid="$LIB_SERVER_PID" port="$LIB_SERVER_PORT" baseline loaded peak pipe_output dbsize used_memory check
  local -a check_command
  # Let start-up allocations settle before taking the baseline.
  sleep 0.5
  read -r baseline _ < <(read_memory_kb "$pid")
  if ! pipe_output="$(timeout 600 "$REDIS_CLI_BIN" -h 127.0.0.1 -p "$port" --pipe <"$file" 2>&1)"; then
    printf '%s\n' "$pipe_output" >&2
    die "redis-cli --pipe failed against ${name}"
  fi
  # redis-cli ends with "errors: E, replies: R"; one command per key.
  if ! grep -Eq "^errors: 0, replies: ${LOAD_KEYS}\$" <<<"$pipe_output"; then
    printf '%s\n' "$pipe_output" >&2
    die "redis-cli --pipe reported errors or a wrong reply count against ${name}"
  fi
  dbsize="$(timeout 10 "$REDIS_CLI_BIN" -h 127.0.0.1 -p "$port" DBSIZE)"
  [[ "$dbsize" == "$LOAD_KEYS" ]] || die "${name}: DBSIZE is '${dbsize}', expected ${LOAD_KEYS}"
  read -r -a check_command <<<"${LOAD_CHECK[0]}"
  check="$(timeout 10 "$REDIS_CLI_BIN" -h 127.0.0.1 -p "$port" "${check_command[@]}")"
  [[ "$check" == "${LOAD_CHECK[1]}" ]] ||
    die "${name}: ${LOAD_CHECK[0]} returned '${check}', expected ${LOAD_CHECK[1]}"
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

mib() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
per_key() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (b - a) * 1024 / n }'; }
ratio() { awk -v u="$1" -v r="$2" 'BEGIN { if (r > 0) printf "%.3f", u / r; else print "nan" }'; }
used_mib() { if [[ "$1" == - ]]; then echo -; else awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; fi; }
side_row() {
  local side="$1" base="$2" loaded="$3" peak="$4" used="$5" keys="$6"
  printf '%-12s %12s %12s %12s %12s %12s %14s' "$side" "$(mib "$base")" "$(mib "$loaded")" \
    "$(mib $((loaded - base)))" "$(mib "$peak")" "$(used_mib "$used")" "$(per_key "$base" "$loaded" "$keys")"
}

start_seconds=$SECONDS
report "# understudy vs redis-server: resident memory after loading the same data"
report "# $(date -u '+%Y-%m-%dT%H:%M:%SZ') host $(uname -n), git $(git -C "$LIB_REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
report "# redis-server: $(printf '%q ' "${REDIS_CMD[@]}")($("$REDIS_SERVER_BIN" --version | awk '{ print $3 }'))"
report "# understudy:   $(printf '%q ' "${UNDERSTUDY_CMD[@]}")"
report "# sizes in MiB; VmRSS/VmHWM from /proc/PID/status; used_memory from INFO memory when offered;"
report "# bytes_per_key = (loaded - baseline) / keys; a fresh server of each kind per scenario"
summary=()
protocol_file="${LIB_WORKDIR}/load.resp"
for scenario in "${scenario_list[@]}"; do
  LOAD_KEYS=0
  LOAD_CHECK=()
  LOAD_TITLE=""
  generate_load "$scenario" "$protocol_file"
  measure_side redis-server "$protocol_file" "${REDIS_CMD[@]}"
  read -r redis_base redis_loaded redis_peak redis_used <<<"${MEASURED[*]}"
  measure_side understudy "$protocol_file" "${UNDERSTUDY_CMD[@]}"
  read -r understudy_base understudy_loaded understudy_peak understudy_used <<<"${MEASURED[*]}"
  rm -f "$protocol_file"
  for value in "$redis_base" "$redis_loaded" "$understudy_base" "$understudy_loaded"; do
    [[ "$value" =~ ^[0-9]+$ ]] || die "could not read a resident set size"
  done
  report ""
  report "## ${scenario}: ${LOAD_TITLE}"
  report "$(printf '%-12s %12s %12s %12s %12s %12s %14s' side baseline_rss loaded_rss delta peak_rss used_memory bytes_per_key)"
  report "$(side_row redis "$redis_base" "$redis_loaded" "$redis_peak" "$redis_used" "$LOAD_KEYS")"
  report "$(side_row understudy "$understudy_base" "$understudy_loaded" "$understudy_peak" "$understudy_used" "$LOAD_KEYS")"
  loaded_ratio="$(ratio "$understudy_loaded" "$redis_loaded")"
  delta_ratio="$(ratio $((understudy_loaded - understudy_base)) $((redis_loaded - redis_base)))"
  report "ratio understudy/redis-server: loaded RSS ${loaded_ratio}, delta (data) ${delta_ratio}, baseline $(ratio "$understudy_base" "$redis_base")"
  summary+=("$(printf '%-10s %12s %12s' "$scenario" "$loaded_ratio" "$delta_ratio")")
done

report ""
report "# summary: understudy / redis-server (<1: understudy uses less)"
report "$(printf '%-10s %12s %12s' scenario loaded_rss delta)"
for line in "${summary[@]}"; do report "$line"; done
report "# elapsed $((SECONDS - start_seconds)) s"

if [[ -n "$out_file" ]]; then
  printf '%s\n' "${report_lines[@]}" >"$out_file"
  log "report written to ${out_file}"
fi
exit 0
