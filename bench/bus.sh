#!/usr/bin/env bash
# Run event buses (issue 10, Speed): events per second through each bus (memory, PostgreSQL
# LISTEN/NOTIFY, Redis pub/sub: from one bus instance to another, two connections as two processes
# would have), and publish-to-WebSocket latency across processes: bench/bus publishes log events
# through the bus of a running `aggregator serve` (RUN_WORKERS=0, PostgreSQL store in a schema of
# its own; then the same with REDIS_URL) while its WebSocket client, subscribed to the run's
# channel on that server, reads them. One machine: the load generator shares its cores.
# Environment: BIN (bin/aggregator), PORT (18093), PG_URL (postgres://postgres@127.0.0.1:5432/test),
# REDIS_URL (redis://127.0.0.1:6379/0), EVENTS (20000), RATE (1000 events/s for the latency),
# BENCH_DIR (/tmp/aggregator-bench-bus).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/aggregator}
PORT=${PORT:-18093}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
EVENTS=${EVENTS:-20000}
RATE=${RATE:-1000}
DIR=${BENCH_DIR:-/tmp/aggregator-bench-bus}
command -v psql > /dev/null || { echo "bench/bus.sh: psql is needed" >&2; exit 1; }
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/aggregator
mkdir -p "$DIR"
go build -o "$DIR/bus" ./bench/bus
SCHEMA=bench_bus_$$
psql -q "$PG_URL" -c "CREATE SCHEMA $SCHEMA"
DSN="$PG_URL?search_path=$SCHEMA"
[[ "$PG_URL" == *\?* ]] && DSN="$PG_URL&search_path=$SCHEMA"
SERVER=
stop_server() { if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true; SERVER=; fi; }
trap 'stop_server; PGOPTIONS=--client-min-messages=warning psql -q "$PG_URL" -c "DROP SCHEMA $SCHEMA CASCADE"' EXIT
PASSWORD='bench-Password-1234'
BASE=http://127.0.0.1:$PORT
start_server() { # extra environment as arguments
  rm -rf "$DIR/data" && mkdir -p "$DIR/data"
  env DATA_DIR="$DIR/data" DATABASE_URL="$DSN" PORT=$PORT ADMIN_PASSWORD=$PASSWORD API_RATE_LIMIT=0 RUN_WORKERS=0 \
    LOG_LEVEL=warn "$@" "$BIN" serve > "$DIR/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 200); do
    curl -fsS "$BASE/readyz" > /dev/null 2>&1 && return
    sleep 0.1
  done
  echo "bench/bus.sh: the server did not start:" >&2; cat "$DIR/serve.log" >&2; exit 1
}
echo "$(nproc) cores; commit $(git rev-parse --short HEAD); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
start_server # migrates the schema
for b in memory postgres redis; do
  "$DIR/bus" -mode throughput -bus "$b" -dsn "$DSN" -redis "$REDIS_URL" -prefix "bench-bus-$$:" -events "$EVENTS"
done
"$DIR/bus" -mode latency -bus postgres -dsn "$DSN" -base "$BASE" -password "$PASSWORD" -events "$EVENTS" -rate "$RATE"
stop_server
start_server REDIS_URL="$REDIS_URL"
"$DIR/bus" -mode latency -bus redis -redis "$REDIS_URL" -base "$BASE" -password "$PASSWORD" -events "$EVENTS" -rate "$RATE"
