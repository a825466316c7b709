#!/usr/bin/env bash
# Streams (issue 12, Speed and delivery): records/s of Kafka (kfake, in the bench process) -> NDJSON
# and Kafka -> PostgreSQL (upsert) through `aggregator run`, beside a bare franz-go consumer loop in
# the same run, with the peak RSS of each run (bench/streams); then the delivery test with
# 1,000,000 records and ten SIGKILLs (TestStreamDeliveryUnderKills, without -race).
# Environment: BIN (bin/aggregator), N (1000000), PG (postgres://root@127.0.0.1:5432/test?sslmode=disable),
# DELIVERY (1: run the delivery test too).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/aggregator}
N=${N:-1000000}
PG=${PG:-postgres://root@127.0.0.1:5432/test?sslmode=disable}
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/aggregator
go run ./bench/streams -n "$N" -bin "$BIN" -pg "$PG"
if [ "${DELIVERY:-1}" = 1 ]; then
  AGG_STREAM_DELIVERY_N=$N go test -count=1 -timeout 60m -run TestStreamDeliveryUnderKills -v ./cmd/aggregator 2>&1 | grep -E '^(---|    ---|ok|FAIL|PASS)|kill 10|missing|extra'
fi
