#!/usr/bin/env bash
# Stream latency (issue 12, Speed): records produced at a fixed rate into a kfake cluster in the bench
# process, streamed by `aggregator run` (Kafka -> NDJSON, append) with each commit interval; p50, p90,
# p99 and max from send to the line in the file, beside a bare franz-go consumer loop at the same rate
# (bench/streamlatency). Environment: BIN (bin/aggregator), RATE (5000), DURATION (20s),
# INTERVALS (100ms,1s,5s).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/aggregator}
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/aggregator
go run ./bench/streamlatency -bin "$BIN" -rate "${RATE:-5000}" -duration "${DURATION:-20s}" -commit-intervals "${INTERVALS:-100ms,1s,5s}"
