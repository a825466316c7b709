#!/usr/bin/env bash
# Bounded memory for stateful transforms (docs/benchmarks.md, "Bounded memory for stateful
# transforms"): dedup keep-last over ROWS rows with KEYS distinct ids, CSV -> dedup -> CSV, once under
# a 256 MiB budget (the state spills to disk) and once with a budget large enough to hold it in
# memory. Prints wall time, rows/s and peak RSS (GNU time), and compares the two outputs.
#
#   ROWS=20000000 KEYS=10000000 bash bench/spill.sh
#
# BIN=path runs that binary instead of building one (to compare two builds on the same input);
# MBS="256" runs only the listed budgets; TAG names the outputs (out-$TAG$mb.csv).
set -euo pipefail
ROWS=${ROWS:-20000000}
KEYS=${KEYS:-10000000}
DIR=${DIR:-/tmp/aggregator-bench-spill}
BIG_MB=${BIG_MB:-16384}
MBS=${MBS:-"256 $BIG_MB"}
TAG=${TAG:-}
cd "$(dirname "$0")/.."
mkdir -p "$DIR"
BIN=${BIN:-}
if [[ -z "$BIN" ]]; then
  BIN="$DIR/aggregator"
  go build -o "$BIN" ./cmd/aggregator
fi
if [[ ! -s "$DIR/in-$ROWS-$KEYS.csv" ]]; then
  go run ./bench/spillgen -rows "$ROWS" -keys "$KEYS" -out "$DIR/in-$ROWS-$KEYS.csv"
fi
for mb in $MBS; do
  cat > "$DIR/dedup-$mb.yaml" <<YAML
version: 1
name: bench-spill-$mb
sources:
  - {id: in, type: csv, config: {path: $DIR/in-$ROWS-$KEYS.csv}}
transforms:
  - {id: latest, type: dedup, inputs: [in], config: {key: [id], keep: last}}
destinations:
  - {id: out, type: csv, inputs: [latest], config: {path: $DIR/out-$TAG$mb.csv}, write: {mode: overwrite}}
resources: {memory_mb: $mb}
YAML
  echo "== $BIN memory_mb: $mb ($ROWS rows, $KEYS keys), load: $(cut -d' ' -f1-3 /proc/loadavg)"
  start=$(date +%s.%N)
  DATA_DIR="$DIR/data-$mb" /usr/bin/time -f "peak RSS %M KiB, %e s wall, %U s user" -o "$DIR/time-$TAG$mb.txt" \
    "$BIN" run "$DIR/dedup-$mb.yaml" --fresh --progress none > "$DIR/log-$TAG$mb.txt" 2>&1
  cat "$DIR/time-$TAG$mb.txt"
  end=$(date +%s.%N)
  echo "rows/s: $(echo "$ROWS / ($end - $start)" | bc)"
  echo "output rows: $(($(wc -l < "$DIR/out-$TAG$mb.csv") - 1)), load after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
if [[ -s "$DIR/out-${TAG}256.csv" && -s "$DIR/out-$TAG$BIG_MB.csv" ]]; then
  cmp "$DIR/out-${TAG}256.csv" "$DIR/out-$TAG$BIG_MB.csv" && echo "outputs identical"
fi
