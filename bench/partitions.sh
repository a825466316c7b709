#!/usr/bin/env bash
# Partitioned run benchmark (issue 10, Speed): the same 1,000,000-row PostgreSQL -> PostgreSQL upsert
# copy, partitioned into CHUNKS key ranges, with one `aggregator worker` process and with two (each
# --concurrency CONCURRENCY), beside one `aggregator serve` with RUN_WORKERS=0, on this machine.
# Environment: ROWS (1000000), CHUNKS (8), CONCURRENCY (2), PG_URL (postgres://postgres@127.0.0.1:5432/test;
# schemas are created and dropped).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
CHUNKS=${CHUNKS:-8}
CONCURRENCY=${CONCURRENCY:-2}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
go build -o /tmp/aggregator-bench-partitions-bin ./cmd/aggregator
go build -o /tmp/aggregator-bench-partitions ./bench/partitions
/tmp/aggregator-bench-partitions -bin /tmp/aggregator-bench-partitions-bin -pg "$PG_URL" -rows "$ROWS" -chunks "$CHUNKS" -concurrency "$CONCURRENCY"
