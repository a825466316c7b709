#!/usr/bin/env bash
# PostgreSQL change capture (issue 12, Speed and delivery): changes/s of postgres_cdc -> PostgreSQL
# (upsert) through `aggregator run`, beside a bare pglogrepl loop reading the same changes in the
# same run, with the peak RSS of each (bench/cdc); then the delivery test with 100,000 changes and
# ten SIGKILLs (TestCDCDeliveryUnderKills, without -race).
# Environment: BIN (bin/aggregator), N (200000), PG (postgres://root@127.0.0.1:5432/test?sslmode=disable),
# DELIVERY (1: run the delivery test too), DELIVERY_N (100000).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/aggregator}
N=${N:-200000}
PG=${PG:-postgres://root@127.0.0.1:5432/test?sslmode=disable}
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/aggregator
go build -o /tmp/aggregator-bench-cdc-cmd ./bench/cdc
/tmp/aggregator-bench-cdc-cmd -n "$N" -bin "$BIN" -pg "$PG"
if [ "${DELIVERY:-1}" = 1 ]; then
  AGG_CDC_DELIVERY_N=${DELIVERY_N:-100000} go test -count=1 -timeout 60m -run TestCDCDeliveryUnderKills -v ./cmd/aggregator 2>&1 | grep -E '^(---|    ---|ok|FAIL|PASS)|kill 10|missing|extra|differ'
fi
