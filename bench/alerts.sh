#!/usr/bin/env bash
# Alert latency benchmark (issue 13, Speed): the time from a failed run to its alert's webhook
# arriving, p95 < 5 s. bench/alertlatency saves RUNS pipelines that fail (their input file does not
# exist), a webhook channel to its own receiver on 127.0.0.1 and one run_failed rule, runs them one
# after the other and prints p50/p95/max of (webhook received) - (run finished_at). The path measured
# is the product's: the run's status event on the event bus, the rule evaluation, the delivery row,
# the River job on the alerts queue, the signed POST through the outbound guard.
# Environment: BIN (bin/aggregator), PORT (18093), RUNS (50), BENCH_DIR (/tmp/aggregator-bench-alerts),
# DATABASE_URL (unset: the SQLite store in BENCH_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/aggregator}
PORT=${PORT:-18093}
RUNS=${RUNS:-50}
DIR=${BENCH_DIR:-/tmp/aggregator-bench-alerts}
command -v curl > /dev/null || { echo "bench/alerts.sh: curl is needed" >&2; exit 1; }
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/aggregator
mkdir -p "$DIR"
go build -o "$DIR/alertlatency" ./bench/alertlatency
rm -rf "$DIR/data" && mkdir -p "$DIR/data/files"
PASSWORD='bench-Password-1234'
DATA_DIR="$DIR/data" PORT=$PORT ADMIN_PASSWORD=$PASSWORD API_RATE_LIMIT=0 LOG_LEVEL=warn \
  ALLOWED_OUTBOUND_HOSTS=127.0.0.1 "$BIN" serve > "$DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
BASE=http://127.0.0.1:$PORT
for _ in $(seq 100); do
  curl -fsS "$BASE/readyz" > /dev/null 2>&1 && break
  sleep 0.1
done
echo "$RUNS failed runs, store $([ -n "${DATABASE_URL:-}" ] && echo postgres || echo sqlite); $(nproc) cores; commit $(git rev-parse --short HEAD); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$DIR/alertlatency" -base "$BASE" -password "$PASSWORD" -runs "$RUNS"
