#!/usr/bin/env bash
# The scaled-out shape on one machine: two API processes (serve, RUN_WORKERS=0) and two worker
# processes (aggregator worker) on the local PostgreSQL (the metadata store and the run queue) and
# Redis (live run events). State in .cluster/: pid files, logs, the generated keys, DATA_DIR.
#
#   scripts/cluster.sh start     # make cluster
#   scripts/cluster.sh status
#   scripts/cluster.sh demo      # a run queued through API 1, its progress read from API 2
#   scripts/cluster.sh stop      # make cluster-stop
#
# Environment: DATABASE_URL (default: the local PostgreSQL, database test, schema aggregator_cluster,
# created with psql when missing), REDIS_URL (default redis://127.0.0.1:6379/0; set it empty to carry
# events over PostgreSQL instead), API_PORTS (default "8101 8102"), WORKERS (default 2),
# AGGREGATOR (default bin/aggregator).
set -euo pipefail
cd "$(dirname "$0")/.."

STATE=.cluster
BIN=${AGGREGATOR:-bin/aggregator}
DEFAULT_DB='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
SCHEMA=aggregator_cluster
DATABASE_URL=${DATABASE_URL:-$DEFAULT_DB&search_path=$SCHEMA}
REDIS_URL=${REDIS_URL-redis://127.0.0.1:6379/0}
read -r -a API_PORTS <<<"${API_PORTS:-8101 8102}"
WORKERS=${WORKERS:-2}

say() { printf 'cluster: %s\n' "$*"; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

# host and port of a postgres:// or redis:// URL (default port given), for reachability checks.
hostport() { # url default-port
  local rest=${1#*://}
  rest=${rest#*@}
  rest=${rest%%/*}
  rest=${rest%%\?*}
  local host=${rest%:*} port=${rest##*:}
  [ "$host" = "$rest" ] && port=$2
  printf '%s %s\n' "${host:-127.0.0.1}" "${port:-$2}"
}
reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
port_free() { ! reachable 127.0.0.1 "$1"; }

# The processes, by name: api-1, api-2, worker-1, ...
names() {
  local i
  for i in "${!API_PORTS[@]}"; do printf 'api-%d\n' $((i + 1)); done
  for i in $(seq 1 "$WORKERS"); do printf 'worker-%d\n' "$i"; done
}

# pid of a running process of ours, or nothing (a stale pid file, or a pid reused by another program).
alive_pid() { # name
  local f=$STATE/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$(basename "$BIN")"; then
    echo "$pid"
  fi
}

start_one() { # name command...
  local name=$1
  shift
  nohup "$@" >"$STATE/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}

# Waits until url answers 200, or the process dies, or 60 s pass.
wait_http() { # name url
  local i
  for i in $(seq 1 300); do
    curl -fsS -o /dev/null "$2" 2>/dev/null && return 0
    [ -n "$(alive_pid "$1")" ] || return 1
    sleep 0.2
  done
  return 1
}
wait_log() { # name text
  local i
  for i in $(seq 1 300); do
    grep -q "$2" "$STATE/$1.log" 2>/dev/null && return 0
    [ -n "$(alive_pid "$1")" ] || return 1
    sleep 0.2
  done
  return 1
}

failed() { # name
  say "$1 did not start; the end of $STATE/$1.log:" >&2
  tail -n 20 "$STATE/$1.log" >&2 || true
  stop >&2
  exit 1
}

start() {
  [ -x "$BIN" ] || die "$BIN not found: run make build (make cluster does)"
  local n
  for n in $(names); do
    [ -z "$(alive_pid "$n")" ] || die "already running ($n, pid $(alive_pid "$n")); scripts/cluster.sh stop first"
  done

  read -r host port < <(hostport "$DATABASE_URL" 5432)
  reachable "$host" "$port" || die "PostgreSQL is not reachable at $host:$port (DATABASE_URL). Start PostgreSQL, or point DATABASE_URL at one; the scaled-out shape needs it for the store and the run queue. Nothing was started."
  if [ -n "$REDIS_URL" ]; then
    read -r host port < <(hostport "$REDIS_URL" 6379)
    reachable "$host" "$port" || die "Redis is not reachable at $host:$port (REDIS_URL). Start Redis, or run with REDIS_URL= to carry live events over PostgreSQL. Nothing was started."
  fi
  for port in "${API_PORTS[@]}"; do
    port_free "$port" || die "port $port is in use; choose others with API_PORTS=\"a b\""
  done

  mkdir -p "$STATE/data/files"
  chmod 700 "$STATE"
  local fresh=0
  if [ ! -f "$STATE/keys.env" ]; then
    fresh=1
    # Generated once and kept: every process needs the same keys, and the saved connectors' secrets
    # are sealed with ENCRYPTION_KEY.
    umask 077
    {
      echo "SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
      echo "ENCRYPTION_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
      echo "ADMIN_PASSWORD=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
    } >"$STATE/keys.env"
    umask 022
  fi
  set -a
  # shellcheck disable=SC1091
  . "$STATE/keys.env"
  set +a
  export DATABASE_URL REDIS_URL DATA_DIR=$STATE/data LOG_FORMAT=text

  if [ "$DATABASE_URL" = "$DEFAULT_DB&search_path=$SCHEMA" ]; then
    command -v psql >/dev/null || die "psql not found: it creates the schema $SCHEMA; install the PostgreSQL client or set DATABASE_URL"
    if [ $fresh = 1 ]; then
      # New keys: a store left by an earlier cluster (its admin password, its sealed secrets) is
      # unusable with them. The schema is this script's own; start it afresh.
      say "new keys in $STATE/keys.env: resetting the schema $SCHEMA"
      PGOPTIONS="-c client_min_messages=warning" psql "$DEFAULT_DB" -qAtc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null ||
        die "PostgreSQL at $DEFAULT_DB refused DROP SCHEMA $SCHEMA"
    fi
    PGOPTIONS="-c client_min_messages=warning" psql "$DEFAULT_DB" -qAtc "CREATE SCHEMA IF NOT EXISTS $SCHEMA" >/dev/null ||
      die "PostgreSQL at $DEFAULT_DB refused CREATE SCHEMA $SCHEMA"
  fi
  say "database: ${DATABASE_URL%%\?*} (schema ${DATABASE_URL##*search_path=}), events: ${REDIS_URL:-postgres}"
  "$BIN" migrate up | sed 's/^/cluster: migrate: /'

  # API 1 alone first: on a new store it creates the admin user and prints its generated password in
  # its log (two processes starting at once would also work: the second takes the first's admin).
  local i
  for i in "${!API_PORTS[@]}"; do
    RUN_WORKERS=0 PORT=${API_PORTS[$i]} start_one "api-$((i + 1))" "$BIN" serve
    wait_http "api-$((i + 1))" "http://127.0.0.1:${API_PORTS[$i]}/readyz" || failed "api-$((i + 1))"
    say "api-$((i + 1)): http://127.0.0.1:${API_PORTS[$i]} (pid $(alive_pid "api-$((i + 1))"), log $STATE/api-$((i + 1)).log)"
  done
  for i in $(seq 1 "$WORKERS"); do
    start_one "worker-$i" "$BIN" worker --concurrency 2
  done
  for i in $(seq 1 "$WORKERS"); do
    wait_log "worker-$i" "worker registered" || failed "worker-$i"
    say "worker-$i: pid $(alive_pid "worker-$i"), log $STATE/worker-$i.log"
  done
  say "sign in as admin with the password in $STATE/keys.env (ADMIN_PASSWORD); stop all with: make cluster-stop"
}

stop() {
  local n pid stopped=0
  for n in $(names); do
    pid=$(alive_pid "$n")
    if [ -n "$pid" ]; then
      kill -TERM "$pid"
      stopped=$((stopped + 1))
    fi
  done
  # SIGTERM: the API nodes drain, the workers hand their runs back at their last checkpoint
  # (SHUTDOWN_TIMEOUT, 30 s by default); then SIGKILL.
  local i
  for i in $(seq 1 375); do
    local left=0
    for n in $(names); do [ -z "$(alive_pid "$n")" ] || left=1; done
    [ $left = 0 ] && break
    sleep 0.2
  done
  for n in $(names); do
    pid=$(alive_pid "$n")
    if [ -n "$pid" ]; then
      say "$n (pid $pid) still running after 75 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$STATE/$n.pid"
  done
  say "stopped $stopped process(es)"
}

status() {
  local n pid
  for n in $(names); do
    pid=$(alive_pid "$n")
    if [ -n "$pid" ]; then say "$n: running (pid $pid)"; else say "$n: stopped"; fi
  done
}

# A run queued through API 1 and followed on API 2: a CSV of ROWS rows (default 3,000,000) copied to
# NDJSON, with the run's status and row counts read from API 2 every half second.
demo() {
  command -v jq >/dev/null || die "the demo reads JSON with jq; install it"
  local a=http://127.0.0.1:${API_PORTS[0]} b=http://127.0.0.1:${API_PORTS[1]} rows=${ROWS:-3000000}
  [ -n "$(alive_pid api-1)" ] && [ -n "$(alive_pid api-2)" ] || die "not running: make cluster first"
  set -a
  # shellcheck disable=SC1091
  . "$STATE/keys.env"
  set +a
  local files
  files=$(cd "$STATE/data/files" && pwd)
  if [ ! -f "$files/demo.csv" ] || [ "$(wc -l <"$files/demo.csv")" -ne $((rows + 1)) ]; then
    awk -v n="$rows" 'BEGIN { print "id,name,amount"; for (i = 1; i <= n; i++) printf "%d,customer %d,%d.%02d\n", i, i % 977, i % 5000, i % 100 }' >"$files/demo.csv"
  fi
  local token
  token=$(curl -fsS "$a/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"login\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" | jq -r .access_token)
  local pipeline
  pipeline=$(curl -fsS "$a/api/v1/pipelines" -H "Authorization: Bearer $token" | jq -r '.items[] | select(.name == "cluster-demo") | .id' | head -n 1)
  if [ -z "$pipeline" ]; then
    pipeline=$(curl -fsS "$a/api/v1/pipelines" -H "Authorization: Bearer $token" -H 'Content-Type: application/yaml' --data-binary @- <<EOF | jq -r .id
version: 1
name: cluster-demo
sources:
  - {id: src, type: csv, config: {path: "$files/demo.csv", types: {id: int, amount: decimal}}}
destinations:
  - {id: out, type: ndjson, inputs: [src], config: {path: "$files/demo.ndjson"}, write: {mode: overwrite}}
EOF
    )
  fi
  local run
  run=$(curl -fsS -X POST "$a/api/v1/pipelines/$pipeline/run" -H "Authorization: Bearer $token" | jq -r .id)
  say "run $run queued through api-1 ($a); following it on api-2 ($b):"
  local status=queued line last=""
  while :; do
    line=$(curl -fsS "$b/api/v1/runs/$run" -H "Authorization: Bearer $token" |
      jq -r '[.status, ((.nodes // []) | map("\(.id): \(.in) in, \(.out) out") | join("; "))] | join("  ")')
    status=${line%% *}
    if [ "$line" != "$last" ]; then
      printf '%s  %s\n' "$(date -u +%H:%M:%S.%N | cut -c1-12)" "$line"
      last=$line
    fi
    case $status in succeeded | failed | canceled) break ;; esac
    sleep 0.5
  done
  # The worker that ran it: attempts[].worker_id is host-pid-random.
  local wid pid by="" n
  wid=$(curl -fsS "$b/api/v1/runs/$run" -H "Authorization: Bearer $token" | jq -r '.attempts[-1].worker_id // ""')
  pid=$(echo "$wid" | awk -F- '{ print $(NF-1) }')
  for n in $(names); do [ "$(cat "$STATE/$n.pid" 2>/dev/null)" = "$pid" ] && by=$n; done
  say "run $run: $status on ${by:-?} (worker $wid); $(wc -l <"$files/demo.ndjson") lines in $STATE/data/files/demo.ndjson"
  [ "$status" = succeeded ]
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
demo) demo ;;
*) die "usage: scripts/cluster.sh start|stop|status|demo" ;;
esac
