#!/usr/bin/env bash
# File pipeline benchmarks (make bench). Generates the inputs, then measures in the same run:
#   - baseline: a bare encoding/csv read-and-discard loop over the 1M-row CSV
#   - CSV -> NDJSON through map + expression + filter
#   - CSV -> CSV through dedup
#   - JSON -> CSV
#   - peak RSS of the transform pipeline on a 10M-row CSV
# Wall time, CPU time and peak RSS come from /usr/bin/time (GNU time); rows/s is input rows / wall.
# Environment: ROWS (1000000), BIG_ROWS (10000000; 0 skips), BENCH_DIR (/tmp/aggregator-bench),
# BIN (bin/aggregator, built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
BIG_ROWS=${BIG_ROWS:-10000000}
DIR=${BENCH_DIR:-/tmp/aggregator-bench}
BIN=${BIN:-bin/aggregator}
TIME=/usr/bin/time
if [ ! -x "$TIME" ]; then echo "bench: GNU time (/usr/bin/time) is needed to read peak RSS" >&2; exit 1; fi

mkdir -p "$DIR"
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/aggregator
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
go build -o "$DIR/gen" ./bench/gen
go build -o "$DIR/csvbaseline" ./bench/csvbaseline
cp bench/pipelines/*.yaml "$DIR/"

gen() { # rows format file
  if [ ! -s "$DIR/$3" ] || [ "$(cat "$DIR/$3.rows" 2>/dev/null)" != "$1" ]; then
    echo "generating $3 ($1 rows)..." >&2
    "$DIR/gen" -rows "$1" -format "$2" -out "$DIR/$3"
    echo "$1" > "$DIR/$3.rows"
  fi
}
gen "$ROWS" csv in.csv
gen "$ROWS" json in.json

RESULTS=()
BASE_RPS=""
# measure name rows command...: prints one table row
measure() {
  local name=$1 rows=$2; shift 2
  local out="$DIR/time.$$"
  if ! (cd "$DIR" && "$TIME" -f "%e %U %S %M" -o "$out" "$@" > "$DIR/last.log" 2>&1); then
    echo "bench: $name failed:" >&2; cat "$DIR/last.log" >&2; exit 1
  fi
  read -r wall user sys rss < "$out"
  rm -f "$out"
  local rps cpu mb ratio
  rps=$(awk -v r="$rows" -v w="$wall" 'BEGIN { printf "%.0f", (w > 0 ? r / w : 0) }')
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  mb=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
  [ -n "$BASE_RPS" ] || BASE_RPS=$rps
  ratio=$(awk -v a="$rps" -v b="$BASE_RPS" 'BEGIN { printf "%.2fx", a / b }')
  RESULTS+=("| $name | $rows | $wall | $rps | $ratio | $cpu | $mb |")
  echo "$name: ${wall}s, $rps rows/s ($ratio baseline), CPU ${cpu}s, peak RSS ${mb} MB" >&2
}
run() { # pipeline: run it afresh with its own state file
  echo "$BIN" run -f "$1" --fresh --state "$DIR/state-$1.json" --data-dir "$DIR/data" --progress none
}

measure "baseline: encoding/csv read and discard" "$ROWS" "$DIR/csvbaseline" in.csv
measure "CSV -> NDJSON, map + expression + filter" "$ROWS" $(run transform-ndjson.yaml)
measure "CSV -> CSV, dedup by id" "$ROWS" $(run dedup-csv.yaml)
measure "JSON -> CSV" "$ROWS" $(run json-csv.yaml)
if [ "$BIG_ROWS" != "0" ]; then
  gen "$BIG_ROWS" csv in-big.csv
  sed 's/path: in.csv/path: in-big.csv/; s/name: bench-transform/name: bench-transform-big/' "$DIR/transform-ndjson.yaml" > "$DIR/transform-big.yaml"
  measure "CSV -> NDJSON, map + expression + filter, $BIG_ROWS rows" "$BIG_ROWS" $(run transform-big.yaml)
  rm -f "$DIR/out-transform.ndjson"
fi

echo
echo "File pipelines, $(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go env GOVERSION), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| pipeline | rows | wall s | rows/s | vs baseline | CPU s | peak RSS MB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${RESULTS[@]}"
