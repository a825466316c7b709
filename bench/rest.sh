#!/usr/bin/env bash
# REST source benchmark (make bench): RECORDS records (1,000,000), PAGE per page (1,000), from a local
# paginated JSON API (bench/restbench serve, on 127.0.0.1) into NDJSON, measured in the same run as
#   - baseline: a bare Go HTTP client loop over the same pages (net/http, encoding/json into typed
#     structs, one json.Marshal per record into a buffered NDJSON file: bench/restbench baseline)
#   - aggregator run of bench/pipelines/rest-ndjson.yaml (type rest, next_url pagination -> ndjson)
# Wall time, CPU time and peak RSS come from /usr/bin/time (GNU time), each the run with the fastest
# wall time of REPEAT runs. The API server runs beside them on the same machine for both (its CPU is
# not counted in either). Environment: RECORDS, PAGE, REPEAT (3), BENCH_DIR (/tmp/aggregator-bench),
# BIN (bin/aggregator, built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-1000000}
PAGE=${PAGE:-1000}
REPEAT=${REPEAT:-3}
DIR=${BENCH_DIR:-/tmp/aggregator-bench}
BIN=${BIN:-bin/aggregator}
TIME=/usr/bin/time
if [ ! -x "$TIME" ]; then echo "bench: GNU time (/usr/bin/time) is needed to read peak RSS" >&2; exit 1; fi
mkdir -p "$DIR"
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/aggregator
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
go build -o "$DIR/restbench" ./bench/restbench

"$DIR/restbench" serve -records "$RECORDS" > "$DIR/rest-url" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$DIR/rest-url" ] && break; sleep 0.05; done # wait for the URL line
URL=$(head -1 "$DIR/rest-url")
sed "s|@URL@|$URL|; s|@PAGE@|$PAGE|" bench/pipelines/rest-ndjson.yaml > "$DIR/rest-ndjson.yaml"

RESULTS=()
BASE_RPS="" BASE_CPU=""
measure() { # name command...
  local name=$1; shift
  local out="$DIR/time.$$" wall="" user sys rss w u s m i
  for ((i = 0; i < REPEAT; i++)); do
    if ! (cd "$DIR" && "$TIME" -f "%e %U %S %M" -o "$out" "$@" > "$DIR/last.log" 2>&1); then
      echo "bench: $name failed:" >&2; cat "$DIR/last.log" >&2; exit 1
    fi
    read -r w u s m < "$out"
    rm -f "$out"
    if [ -z "$wall" ] || awk -v a="$w" -v b="$wall" 'BEGIN { exit !(a < b) }'; then wall=$w user=$u sys=$s rss=$m; fi
  done
  local rps cpu mb
  rps=$(awk -v r="$RECORDS" -v w="$wall" 'BEGIN { printf "%.0f", (w > 0 ? r / w : 0) }')
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  mb=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
  [ -n "$BASE_RPS" ] || { BASE_RPS=$rps; BASE_CPU=$cpu; }
  local ratio cratio
  ratio=$(awk -v a="$rps" -v b="$BASE_RPS" 'BEGIN { printf "%.2fx", a / b }')
  cratio=$(awk -v a="$cpu" -v b="$BASE_CPU" 'BEGIN { printf "%.2fx", (a > 0 ? b / a : 0) }')
  RESULTS+=("| $name | $RECORDS | $wall | $rps | $ratio | $cpu | $cratio | $mb |")
  echo "$name: ${wall}s, $rps records/s ($ratio of the baseline; CPU ${cpu}s, $cratio), peak RSS ${mb} MB" >&2
}

measure "baseline: net/http + encoding/json loop -> NDJSON" "$DIR/restbench" baseline -url "$URL" -limit "$PAGE" -out "$DIR/rest-baseline.ndjson"
measure "aggregator run: rest (next_url) -> ndjson" "$BIN" run -f rest-ndjson.yaml --fresh --state "$DIR/state-rest.json" --data-dir "$DIR/data" --progress none
lines=$(wc -l < "$DIR/rest-out.ndjson")
[ "$lines" = "$RECORDS" ] || { echo "bench: the pipeline wrote $lines records, want $RECORDS" >&2; exit 1; }

echo
echo "REST source, $RECORDS records, $PAGE per page, $(date -u +%Y-%m-%d), fastest of $REPEAT runs each, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go env GOVERSION), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| program | records | wall s | records/s | vs baseline (records/s) | CPU s | vs baseline (CPU) | peak RSS MB |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${RESULTS[@]}"
