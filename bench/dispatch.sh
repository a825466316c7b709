#!/usr/bin/env bash
# Run queue (River) dispatch benchmark (issue 10, Speed): trivial runs (one-row CSV -> CSV) per second
# through the queue, and the time from trigger to running, on SQLite and on PostgreSQL.
# Environment: RUNS (200, triggered at once), SINGLE (20, one at a time), WORKERS (4),
# PG_URL (postgres://postgres@127.0.0.1:5432/test; a schema is created and dropped).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-200}
SINGLE=${SINGLE:-20}
WORKERS=${WORKERS:-4}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
go build -o /tmp/aggregator-bench-dispatch ./bench/dispatch
for db in sqlite postgres; do
  /tmp/aggregator-bench-dispatch -db "$db" -pg "$PG_URL" -runs "$RUNS" -single "$SINGLE" -workers "$WORKERS"
done
