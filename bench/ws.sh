#!/usr/bin/env bash
# WebSocket fan-out benchmark (issue 9, Speed): CONNS live-update connections (GET /api/v1/ws), each
# subscribed to "runs", while RUNS runs of a CSV -> CSV pipeline (ROWS rows each) report progress
# every 500 ms. bench/wsfanout prints the delivery latency of every status and progress frame on every
# connection (p50/p90/p99/max) and the server's memory per connection (RSS and Go heap from /metrics,
# before and after connecting). The load generator runs on the same machine as the server.
# Environment: BIN (bin/aggregator), PORT (18092), CONNS (1000), RUNS (10), ROWS (1000000), REPEAT (1),
# BENCH_DIR (/tmp/aggregator-bench-ws).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/aggregator}
PORT=${PORT:-18092}
CONNS=${CONNS:-1000}
RUNS=${RUNS:-10}
ROWS=${ROWS:-1000000}
REPEAT=${REPEAT:-1}
DIR=${BENCH_DIR:-/tmp/aggregator-bench-ws}
command -v curl > /dev/null || { echo "bench/ws.sh: curl is needed" >&2; exit 1; }
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/aggregator
mkdir -p "$DIR"
go build -o "$DIR/wsfanout" ./bench/wsfanout
go build -o "$DIR/gen" ./bench/gen
rm -rf "$DIR/data" && mkdir -p "$DIR/data/files"
"$DIR/gen" -rows "$ROWS" -format csv -out "$DIR/data/files/in.csv"

PASSWORD='bench-Password-1234'
DATA_DIR="$DIR/data" PORT=$PORT ADMIN_PASSWORD=$PASSWORD API_RATE_LIMIT=0 RUN_WORKERS=$RUNS LOG_LEVEL=warn \
  WS_MAX_CONNECTIONS_PER_USER=$CONNS ACCESS_TOKEN_TTL=1h "$BIN" serve > "$DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
BASE=http://127.0.0.1:$PORT
for _ in $(seq 100); do
  curl -fsS "$BASE/readyz" > /dev/null 2>&1 && break
  sleep 0.1
done
echo "$CONNS connections, $RUNS runs of $ROWS rows; $(nproc) cores; commit $(git rev-parse --short HEAD)" >&2
for _ in $(seq "$REPEAT"); do
  "$DIR/wsfanout" -base "$BASE" -password "$PASSWORD" -conns "$CONNS" -runs "$RUNS"
done
