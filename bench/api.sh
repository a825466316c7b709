#!/usr/bin/env bash
# API benchmark: GET /api/v1/pipelines (first page, 20 of 100 saved pipelines, each with a schedule)
# at CLIENTS concurrent clients for DURATION, load generator (bench/apiload) on the same machine.
# The server is `aggregator serve` on a fresh SQLite store (or DATABASE_URL), rate limit off, no run workers.
# Every measurement runs REPEAT times; each line is one run, followed by the server's CPU time (user + sys)
# per measured request, which the other processes on the machine disturb less than requests/s.
# Environment: BIN (bin/aggregator), PORT (18091), CLIENTS (100), DURATION (20s), PIPELINES (100), REPEAT (2),
# BENCH_DIR (/tmp/aggregator-bench-api), DATABASE_URL (empty: SQLite), PPROF (a file: also take a 10s CPU
# profile of the server during the first run; the server must expose it, see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/aggregator}
PORT=${PORT:-18091}
CLIENTS=${CLIENTS:-100}
DURATION=${DURATION:-20s}
PIPELINES=${PIPELINES:-100}
REPEAT=${REPEAT:-2}
DIR=${BENCH_DIR:-/tmp/aggregator-bench-api}
for tool in curl jq; do
  command -v "$tool" > /dev/null || { echo "bench/api.sh: $tool is needed" >&2; exit 1; }
done
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/aggregator
rm -rf "$DIR" && mkdir -p "$DIR"
go build -o "$DIR/apiload" ./bench/apiload

PASSWORD='bench-Password-1234'
DATA_DIR="$DIR/data" PORT=$PORT ADMIN_PASSWORD=$PASSWORD API_RATE_LIMIT=0 RUN_WORKERS=0 LOG_LEVEL=warn \
  ACCESS_TOKEN_TTL=1h "$BIN" serve > "$DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
BASE=http://127.0.0.1:$PORT
for _ in $(seq 100); do
  curl -fsS "$BASE/readyz" > /dev/null 2>&1 && break
  sleep 0.1
done
TOKEN=$(curl -fsS "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"login\":\"admin\",\"password\":\"$PASSWORD\"}" | jq -r .access_token)

for i in $(seq "$PIPELINES"); do
  sed -e "s/^name: customers-clean/name: bench-$i/" \
      -e 's/^error_policy:/schedule: {cron: "0 * * * *", timezone: UTC}\nerror_policy:/' \
      examples/customers-clean.yaml |
    curl -fsS -o /dev/null "$BASE/api/v1/pipelines" -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/yaml' --data-binary @-
done
echo "saved $PIPELINES pipelines; $(nproc) cores; commit $(git rev-parse --short HEAD)" >&2

for r in $(seq "$REPEAT"); do
  if [ "$r" = 1 ] && [ -n "${PPROF:-}" ]; then
    (sleep 3 && curl -fsS -o "$PPROF" "http://127.0.0.1:6060/debug/pprof/profile?seconds=10") &
    PROF=$!
  fi
  "$DIR/apiload" -url "$BASE/api/v1/pipelines" -token "$TOKEN" -c "$CLIENTS" -d "$DURATION" -pid "$SERVER"
  [ -z "${PROF:-}" ] || { wait "$PROF"; PROF=; }
done
