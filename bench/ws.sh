#!/usr/bin/env bash
# WebSocket fan-out benchmark (issue 9, Speed): CONNS live-update connections (GET /api/v1/ws), each
# subscribed to "runs", while RUNS runs of a CSV -> CSV pipeline (ROWS rows each) report progress
# every 500 ms. bench/wsfanout prints the delivery latency of every status and progress frame on every
# connection (p50/p90/p99/max) and the server's memory per connection (RSS and Go heap from /metrics,
# before and after connecting). Baseline, in the same run: the same runs watched by 1 connection. The
# load generator runs on the same machine as the server.
# SOURCE=pg replaces the CSV source by a PostgreSQL query that yields PG_ROWS rows (default 10000) at
# about 500 rows/s (pg_sleep(0.002) per row; PG_URL, default postgres://postgres@127.0.0.1:5432/test):
# runs that report progress for ~20 s without taking the CPU, so that the figure is the fan-out's.
# Environment: BIN (bin/aggregator), PORT (18092), CONNS (1000), RUNS (10), ROWS (1000000), REPEAT (1),
# BENCH_DIR (/tmp/aggregator-bench-ws), SOURCE (csv | pg), PG_URL, PG_ROWS.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/aggregator}
PORT=${PORT:-18092}
CONNS=${CONNS:-1000}
RUNS=${RUNS:-10}
ROWS=${ROWS:-1000000}
SOURCE=${SOURCE:-csv}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
PG_ROWS=${PG_ROWS:-10000}
REPEAT=${REPEAT:-1}
DIR=${BENCH_DIR:-/tmp/aggregator-bench-ws}
command -v curl > /dev/null || { echo "bench/ws.sh: curl is needed" >&2; exit 1; }
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/aggregator
mkdir -p "$DIR"
go build -o "$DIR/wsfanout" ./bench/wsfanout
go build -o "$DIR/gen" ./bench/gen
rm -rf "$DIR/data" && mkdir -p "$DIR/data/files"
ARGS=()
if [ "$SOURCE" = pg ]; then
  ARGS=(-source "{id: in, connector: wsfanout-pg}")
  ROWS=$PG_ROWS
else
  "$DIR/gen" -rows "$ROWS" -format csv -out "$DIR/data/files/in.csv"
fi

PASSWORD='bench-Password-1234'
DATA_DIR="$DIR/data" PORT=$PORT ADMIN_PASSWORD=$PASSWORD API_RATE_LIMIT=0 RUN_WORKERS=$RUNS LOG_LEVEL=warn \
  WS_MAX_CONNECTIONS_PER_USER=$CONNS ACCESS_TOKEN_TTL=1h ALLOWED_OUTBOUND_HOSTS=127.0.0.1 "$BIN" serve > "$DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
BASE=http://127.0.0.1:$PORT
for _ in $(seq 100); do
  curl -fsS "$BASE/readyz" > /dev/null 2>&1 && break
  sleep 0.1
done
if [ "$SOURCE" = pg ]; then # the URL is a secret: it lives in a saved connector
  TOKEN=$(curl -fsS "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"login\":\"admin\",\"password\":\"$PASSWORD\"}" | jq -r .access_token)
  curl -fsS -o /dev/null "$BASE/api/v1/connectors" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"name\":\"wsfanout-pg\",\"type\":\"postgres\",\"config\":{\"url\":\"$PG_URL\",\"query\":\"SELECT g AS id, length(pg_sleep(0.002)::text) AS z FROM generate_series(1, $PG_ROWS) g\"}}"
fi
echo "$CONNS connections, $RUNS runs of $ROWS rows ($SOURCE source); $(nproc) cores; commit $(git rev-parse --short HEAD); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for _ in $(seq "$REPEAT"); do
  # The fan-out first, so that its memory figures start from a server that has not run anything yet.
  echo "-- $CONNS connections" >&2
  "$DIR/wsfanout" -base "$BASE" -password "$PASSWORD" -conns "$CONNS" -runs "$RUNS" "${ARGS[@]}"
  echo "-- baseline: 1 connection, the same runs" >&2
  "$DIR/wsfanout" -base "$BASE" -password "$PASSWORD" -conns 1 -runs "$RUNS" "${ARGS[@]}"
done
