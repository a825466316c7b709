#!/usr/bin/env bash
# Streams (issue 12, Speed and delivery): records/s of Kafka (kfake, in the bench process) -> NDJSON
# and Kafka -> PostgreSQL (upsert) through `aggregator run`, beside a bare franz-go consumer loop in
# the same run, with the peak RSS (the child's VmHWM) and CPU time of each run (bench/streams); then
# end-to-end latency p50/p99 at a fixed input rate (RATE records/s for DURATION) with the CLI's
# commit interval and with each of LATENCY_COMMITS, beside a bare consumer of the same records;
# then the delivery test with N records and ten SIGKILLs (TestStreamDeliveryUnderKills, no -race).
# Environment: BIN (bin/aggregator), N (1000000), PG (postgres://root@127.0.0.1:5432/test?sslmode=disable),
# RATE (10000), DURATION (30s), LATENCY_COMMITS ("1s 200ms"), LATENCY (1: run the latency mode),
# DELIVERY (1: run the delivery test too).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/aggregator}
N=${N:-1000000}
PG=${PG:-postgres://root@127.0.0.1:5432/test?sslmode=disable}
RATE=${RATE:-10000}
DURATION=${DURATION:-30s}
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/aggregator
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
go run ./bench/streams -n "$N" -bin "$BIN" -pg "$PG"
if [ "${LATENCY:-1}" = 1 ]; then
  go run ./bench/streams -latency -rate "$RATE" -duration "$DURATION" -bin "$BIN" -pg "$PG"
  for ci in ${LATENCY_COMMITS:-1s 200ms}; do
    go run ./bench/streams -latency -rate "$RATE" -duration "$DURATION" -commit-interval "$ci" -bin "$BIN" -pg "$PG"
  done
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${DELIVERY:-1}" = 1 ]; then
  AGG_STREAM_DELIVERY_N=$N go test -count=1 -timeout 60m -run TestStreamDeliveryUnderKills -v ./cmd/aggregator 2>&1 | grep -E '^(---|    ---|ok|FAIL|PASS)|kill 10|missing|extra'
fi
