#!/usr/bin/env bash
# File pipeline benchmarks (make bench). Generates the inputs, then measures in the same run, each
# pipeline next to its baseline:
#   - baseline csv: a bare encoding/csv read-and-discard loop over the 1M-row CSV (bench/csvbaseline)
#   - baseline ndjson: a hand-written Go program doing the CSV -> NDJSON pipeline's work with encoding/csv
#     and strconv (bench/ndjsonbaseline)
#   - baseline json: a bare encoding/json decode loop over the JSON file into a typed struct (bench/jsonbaseline)
#   - CSV -> NDJSON through map + expression + filter (vs baseline ndjson)
#   - CSV -> CSV through dedup (vs baseline csv)
#   - JSON -> CSV (vs baseline json)
#   - peak RSS of the transform pipeline on a 10M-row CSV
# Wall time, CPU time and peak RSS come from /usr/bin/time (GNU time), each the run with the fastest
# wall time of REPEAT runs; rows/s is input rows / wall. "vs baseline (rows/s)" is rows/s over the
# baseline's; "vs baseline (CPU)" is the baseline's CPU time over this run's (less sensitive to load).
# Environment: ROWS (1000000), BIG_ROWS (10000000; 0 skips), REPEAT (3), BENCH_DIR (/tmp/aggregator-bench),
# BIN (bin/aggregator, built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
BIG_ROWS=${BIG_ROWS:-10000000}
DIR=${BENCH_DIR:-/tmp/aggregator-bench}
BIN=${BIN:-bin/aggregator}
REPEAT=${REPEAT:-3}
TIME=/usr/bin/time
if [ ! -x "$TIME" ]; then echo "bench: GNU time (/usr/bin/time) is needed to read peak RSS" >&2; exit 1; fi

mkdir -p "$DIR"
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/aggregator
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
go build -o "$DIR/gen" ./bench/gen
go build -o "$DIR/csvbaseline" ./bench/csvbaseline
go build -o "$DIR/jsonbaseline" ./bench/jsonbaseline
go build -o "$DIR/ndjsonbaseline" ./bench/ndjsonbaseline
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
declare -A BASE_RPS BASE_CPU
# measure name rows base command...: prints one table row. base "=key" records this run as the
# baseline called key; "key" compares with that baseline.
measure() {
  local name=$1 rows=$2 base=$3; shift 3
  local out="$DIR/time.$$" wall="" user sys rss w u s m i
  for ((i = 0; i < REPEAT; i++)); do # keep the fastest of REPEAT runs (the machine is shared)
    if ! (cd "$DIR" && "$TIME" -f "%e %U %S %M" -o "$out" "$@" > "$DIR/last.log" 2>&1); then
      echo "bench: $name failed:" >&2; cat "$DIR/last.log" >&2; exit 1
    fi
    read -r w u s m < "$out"
    rm -f "$out"
    if [ -z "$wall" ] || awk -v a="$w" -v b="$wall" 'BEGIN { exit !(a < b) }'; then
      wall=$w user=$u sys=$s rss=$m
    fi
  done
  local rps cpu mb ratio cratio key=${base#=}
  rps=$(awk -v r="$rows" -v w="$wall" 'BEGIN { printf "%.0f", (w > 0 ? r / w : 0) }')
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  mb=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
  if [ "$base" != "$key" ]; then BASE_RPS[$key]=$rps; BASE_CPU[$key]=$cpu; fi
  ratio=$(awk -v a="$rps" -v b="${BASE_RPS[$key]}" 'BEGIN { printf "%.2fx", a / b }')
  cratio=$(awk -v a="$cpu" -v b="${BASE_CPU[$key]}" 'BEGIN { printf "%.2fx", (a > 0 ? b / a : 0) }')
  RESULTS+=("| $name | $rows | $wall | $rps | baseline $key | $ratio | $cpu | $cratio | $mb |")
  echo "$name: ${wall}s, $rps rows/s ($ratio of baseline $key; CPU ${cpu}s, $cratio), peak RSS ${mb} MB" >&2
}
run() { # pipeline: run it afresh with its own state file
  echo "$BIN" run -f "$1" --fresh --state "$DIR/state-$1.json" --data-dir "$DIR/data" --progress none
}

measure "baseline csv: encoding/csv read and discard" "$ROWS" =csv "$DIR/csvbaseline" in.csv
measure "baseline ndjson: hand-written encoding/csv + strconv map, expression, filter" "$ROWS" =ndjson "$DIR/ndjsonbaseline" in.csv out-baseline.ndjson
measure "CSV -> NDJSON, map + expression + filter" "$ROWS" ndjson $(run transform-ndjson.yaml)
measure "CSV -> CSV, dedup by id" "$ROWS" csv $(run dedup-csv.yaml)
measure "baseline json: encoding/json decode loop (typed struct)" "$ROWS" =json "$DIR/jsonbaseline" in.json
measure "JSON -> CSV" "$ROWS" json $(run json-csv.yaml)
if [ "$BIG_ROWS" != "0" ]; then
  gen "$BIG_ROWS" csv in-big.csv
  sed 's/path: in.csv/path: in-big.csv/; s/name: bench-transform/name: bench-transform-big/' "$DIR/transform-ndjson.yaml" > "$DIR/transform-big.yaml"
  measure "CSV -> NDJSON, map + expression + filter, $BIG_ROWS rows" "$BIG_ROWS" ndjson $(run transform-big.yaml)
  rm -f "$DIR/out-transform.ndjson"
fi

echo
echo "File pipelines, $(date -u +%Y-%m-%d), fastest of $REPEAT runs each, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go env GOVERSION), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| pipeline | rows | wall s | rows/s | baseline | vs baseline (rows/s) | CPU s | vs baseline (CPU) | peak RSS MB |"
echo "|---|---:|---:|---:|---|---:|---:|---:|---:|"
printf '%s\n' "${RESULTS[@]}"
