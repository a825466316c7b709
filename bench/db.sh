#!/usr/bin/env bash
# Database benchmarks (make bench). Each pipeline runs beside its baseline in the same run:
#   1. CSV -> PostgreSQL with `aggregator run` (COPY)      vs  psql "\copy ... FROM file CSV HEADER"
#      (three times: with the CSV source's default 1,024-row batches, with --batch-size 10000, and with
#      no declared types: the source infers them and the destination creates the table from them)
#   2. PostgreSQL -> PostgreSQL table copy                  vs  psql "\copy (SELECT ...) TO STDOUT" | psql "\copy ... FROM STDIN"
#   3. PostgreSQL -> MariaDB (LOAD DATA LOCAL INFILE)       vs  psql "\copy ... TO STDOUT" | mariadb "LOAD DATA LOCAL INFILE"
#      (both into a new table of the same definition)
#   4. upsert of 1,000,000 rows, 10% changed (PostgreSQL)   vs  psql: \copy into a temp table + INSERT ... ON CONFLICT
# The input is bench/gen's 1,000,000-row CSV (10 mixed columns, quoted commas and newlines, 0.5% duplicate
# ids). Every measurement runs REPEAT times, baseline and pipeline alternating; the table shows the median
# wall time of each, and the largest peak RSS seen (GNU time's %M, the biggest process of the command).
# Environment: ROWS (1000000), REPEAT (3), BENCH_DIR (/tmp/aggregator-bench), BIN (bin/aggregator),
# PGURL (postgres://postgres@127.0.0.1:5432/test), MYSQL_HOST (127.0.0.1), MYSQL_PORT (3306), MYSQL_USER (root),
# ONLY (run only the pairs whose title contains this text, e.g. ONLY="CSV -> PostgreSQL"; skips the row checks),
# SCHEMA (bench_db: the PostgreSQL schema and MariaDB database, dropped and recreated; give each concurrent run its own),
# BIN_B (a second binary, e.g. the change against BIN as the old one: each repeat then runs the baseline, then BIN
# and BIN_B in turns (BIN_B first in even repeats), and a second table gives each binary's wall and user+sys CPU
# of every run and its peak RSS).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
REPEAT=${REPEAT:-3}
DIR=${BENCH_DIR:-/tmp/aggregator-bench}
BIN=${BIN:-bin/aggregator}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432/test}
MYSQL_HOST=${MYSQL_HOST:-127.0.0.1}
MYSQL_PORT=${MYSQL_PORT:-3306}
MYSQL_USER=${MYSQL_USER:-root}
SCHEMA=${SCHEMA:-bench_db}
BIN_B=${BIN_B:-}
TIME=/usr/bin/time
for tool in "$TIME" psql mariadb; do
  command -v "$tool" > /dev/null || { echo "bench/db.sh: $tool is needed" >&2; exit 1; }
done

mkdir -p "$DIR/db"
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/aggregator
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
[ -z "$BIN_B" ] || BIN_B=$(cd "$(dirname "$BIN_B")" && pwd)/$(basename "$BIN_B")
go build -o "$DIR/gen" ./bench/gen
if [ ! -s "$DIR/in.csv" ] || [ "$(cat "$DIR/in.csv.rows" 2>/dev/null)" != "$ROWS" ]; then
  echo "generating in.csv ($ROWS rows)..." >&2
  "$DIR/gen" -rows "$ROWS" -format csv -out "$DIR/in.csv"
  echo "$ROWS" > "$DIR/in.csv.rows"
fi
W=$DIR/db # working directory: pipelines, state files, and the CSV the file source may read
cp "$DIR/in.csv" "$W/in.csv"

pg() { psql -X -q -v ON_ERROR_STOP=1 "$PGURL" "$@"; }
my() { mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" "$@"; }
# my_settle waits (at most 60 s) until InnoDB has flushed the previous load's dirty pages, so that each
# MariaDB measurement pays for its own load only (unsettled, the same LOAD DATA took 3.3 to 4.8 s).
my_settle() {
  local dirty
  for _ in $(seq 60); do
    dirty=$(my -N -e "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'" | awk '{ print $2 }')
    [ "${dirty:-0}" -lt 200 ] && return 0
    sleep 1
  done
}
COLS="id bigint, customer text, email text, country text, amount numeric(12,2), quantity bigint, price double precision, created_at timestamptz, active boolean, note text"

echo "preparing tables in schema $SCHEMA and MariaDB database $SCHEMA..." >&2
pg -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA;
  CREATE TABLE $SCHEMA.from_csv ($COLS);
  CREATE TABLE $SCHEMA.copy_dst (rid bigint PRIMARY KEY, $COLS);
  CREATE TABLE $SCHEMA.up_dst (rid bigint PRIMARY KEY, $COLS);"
pg -c "\copy $SCHEMA.from_csv FROM '$W/in.csv' CSV HEADER"
pg -c "CREATE TABLE $SCHEMA.src AS SELECT row_number() OVER () AS rid, * FROM $SCHEMA.from_csv;
  ALTER TABLE $SCHEMA.src ADD PRIMARY KEY (rid);
  CREATE TABLE $SCHEMA.src_changed AS SELECT * FROM $SCHEMA.src;
  UPDATE $SCHEMA.src_changed SET amount = amount + 1, note = 'changed' WHERE rid % 10 = 0;
  ALTER TABLE $SCHEMA.src_changed ADD PRIMARY KEY (rid);"
pg -c "VACUUM ANALYZE $SCHEMA.src" -c "VACUUM ANALYZE $SCHEMA.src_changed"
my -e "DROP DATABASE IF EXISTS $SCHEMA; CREATE DATABASE $SCHEMA CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  CREATE TABLE $SCHEMA.base (rid BIGINT PRIMARY KEY, id BIGINT, customer LONGTEXT, email LONGTEXT, country LONGTEXT, amount DECIMAL(12,2),
  quantity BIGINT, price DOUBLE, created_at DATETIME(6), active BOOLEAN, note LONGTEXT) ENGINE=InnoDB;"

MYCFG="{host: $MYSQL_HOST, port: $MYSQL_PORT, user: $MYSQL_USER, database: $SCHEMA"
cat > "$W/csv-pg.yaml" <<YAML
version: 1
name: bench-csv-pg
sources:
  - id: in
    type: csv
    config: {path: in.csv, types: {id: int, amount: decimal, quantity: int, price: float, created_at: timestamp, active: bool}}
destinations:
  - {id: out, type: postgres, inputs: [in], config: {url: "$PGURL", schema: $SCHEMA, table: from_csv}, write: {mode: append}}
YAML
cat > "$W/csv-pg-infer.yaml" <<YAML
version: 1
name: bench-csv-pg-infer
sources:
  - {id: in, type: csv, config: {path: in.csv}}
destinations:
  - {id: out, type: postgres, inputs: [in], config: {url: "$PGURL", schema: $SCHEMA, table: inferred}, write: {mode: append}}
YAML
cat > "$W/pg-pg.yaml" <<YAML
version: 1
name: bench-pg-pg
sources:
  - {id: in, type: postgres, config: {url: "$PGURL", schema: $SCHEMA, table: src}}
destinations:
  - {id: out, type: postgres, inputs: [in], config: {url: "$PGURL", schema: $SCHEMA, table: copy_dst}, write: {mode: append}}
YAML
cat > "$W/pg-maria.yaml" <<YAML
version: 1
name: bench-pg-maria
sources:
  - {id: in, type: postgres, config: {url: "$PGURL", schema: $SCHEMA, table: src}}
destinations:
  - {id: out, type: mysql, inputs: [in], config: $MYCFG, table: pipeline_dst}, write: {mode: append}}
YAML
cat > "$W/pg-upsert.yaml" <<YAML
version: 1
name: bench-pg-upsert
sources:
  - {id: in, type: postgres, config: {url: "$PGURL", schema: $SCHEMA, table: src_changed}}
destinations:
  - {id: out, type: postgres, inputs: [in], config: {url: "$PGURL", schema: $SCHEMA, table: up_dst}, write: {mode: upsert, key: [rid]}}
YAML
cat > "$W/upsert.sql" <<SQL
BEGIN;
CREATE TEMP TABLE s (LIKE $SCHEMA.up_dst);
\copy s FROM pstdin
INSERT INTO $SCHEMA.up_dst SELECT * FROM s ON CONFLICT (rid) DO UPDATE SET id = EXCLUDED.id, customer = EXCLUDED.customer,
  email = EXCLUDED.email, country = EXCLUDED.country, amount = EXCLUDED.amount, quantity = EXCLUDED.quantity, price = EXCLUDED.price,
  created_at = EXCLUDED.created_at, active = EXCLUDED.active, note = EXCLUDED.note;
COMMIT;
SQL
PGMY_SELECT="SELECT rid, id, customer, email, country, amount, quantity, price, created_at AT TIME ZONE 'UTC', active::int, note FROM $SCHEMA.src"

run() { echo "$BIN" run -f "$1" --fresh --state "$W/state-$1.json" --data-dir "$W/data" --progress none "${@:2}"; }

# timed name command...: runs the command once in $W; sets WALL, CPU (user + sys s) and RSS (MB)
timed() {
  local out="$W/time.$$" user sys
  if ! (cd "$W" && "$TIME" -f "%e %M %U %S" -o "$out" "$@" > "$W/last.log" 2>&1); then
    echo "bench: $1 failed:" >&2; cat "$W/last.log" >&2; exit 1
  fi
  read -r WALL RSS user sys < "$out"
  RSS=$(awk -v k="$RSS" 'BEGIN { printf "%.0f", k / 1024 }')
  CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  rm -f "$out"
}

RESULTS=()
AB=()
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# pair title reset baseline-label baseline-cmd -- pipeline-cmd: alternate REPEAT times, keep the median walls
pair() {
  local title=$1 reset=$2 blabel=$3; shift 3
  [ -z "${ONLY:-}" ] || [[ "$title" == *"$ONLY"* ]] || return 0
  local bcmd=() pcmd=()
  while [ "$1" != "--" ]; do bcmd+=("$1"); shift; done; shift
  pcmd=("$@")
  local bwalls=() pwalls=() bbest pbest brss=0 prss=0
  local pcpus=() qwalls=() qcpus=() qrss=0
  for i in $(seq "$REPEAT"); do
    eval "$reset"
    timed "${bcmd[@]}"
    echo "  $title, $blabel #$i: ${WALL}s, ${RSS} MB" >&2
    bwalls+=("$WALL"); [ "$RSS" -gt "$brss" ] && brss=$RSS
    # with BIN_B, every other repeat runs it before BIN, so that neither always follows the other's load
    for which in $([ -z "$BIN_B" ] && echo a || { [ $((i % 2)) = 1 ] && echo a b || echo b a; }); do
      eval "$reset"
      if [ "$which" = a ]; then
        timed "${pcmd[@]}"
        echo "  $title, aggregator #$i: ${WALL}s, ${CPU}s CPU, ${RSS} MB" >&2
        pwalls+=("$WALL"); pcpus+=("$CPU"); [ "$RSS" -gt "$prss" ] && prss=$RSS
      else
        timed "$BIN_B" "${pcmd[@]:1}"
        echo "  $title, aggregator BIN_B #$i: ${WALL}s, ${CPU}s CPU, ${RSS} MB" >&2
        qwalls+=("$WALL"); qcpus+=("$CPU"); [ "$RSS" -gt "$qrss" ] && qrss=$RSS
      fi
    done
  done
  if [ -n "$BIN_B" ]; then
    local ifs=$IFS; IFS=/
    AB+=("| $title | BIN | ${pwalls[*]} | $(median "${pwalls[@]}") | ${pcpus[*]} | $(median "${pcpus[@]}") | $prss |")
    AB+=("| $title | BIN_B | ${qwalls[*]} | $(median "${qwalls[@]}") | ${qcpus[*]} | $(median "${qcpus[@]}") | $qrss |")
    IFS=$ifs
  fi
  bbest=$(median "${bwalls[@]}")
  pbest=$(median "${pwalls[@]}")
  local brps prps ratio
  brps=$(awk -v r="$ROWS" -v w="$bbest" 'BEGIN { printf "%.0f", r / w }')
  prps=$(awk -v r="$ROWS" -v w="$pbest" 'BEGIN { printf "%.0f", r / w }')
  ratio=$(awk -v a="$prps" -v b="$brps" 'BEGIN { printf "%.2fx", a / b }')
  RESULTS+=("| $title | ${blabel//|/\\|} | $bbest | $brps | $brss | $pbest | $prps | $prss | $ratio |")
  echo "$title: aggregator ${pbest}s ($prps rows/s, $prss MB) vs $blabel ${bbest}s ($brps rows/s, $brss MB): $ratio" >&2
}

pair "CSV -> PostgreSQL" "pg -c 'TRUNCATE $SCHEMA.from_csv'" 'psql \copy FROM file CSV' \
  psql -X -q "$PGURL" -c "\copy $SCHEMA.from_csv FROM 'in.csv' CSV HEADER" -- $(run csv-pg.yaml)
pair "CSV -> PostgreSQL, --batch-size 10000" "pg -c 'TRUNCATE $SCHEMA.from_csv'" 'psql \copy FROM file CSV' \
  psql -X -q "$PGURL" -c "\copy $SCHEMA.from_csv FROM 'in.csv' CSV HEADER" -- $(run csv-pg.yaml --batch-size 10000)
pair "CSV -> PostgreSQL, types inferred" "pg -c 'TRUNCATE $SCHEMA.from_csv; DROP TABLE IF EXISTS $SCHEMA.inferred'" 'psql \copy FROM file CSV' \
  psql -X -q "$PGURL" -c "\copy $SCHEMA.from_csv FROM 'in.csv' CSV HEADER" -- $(run csv-pg-infer.yaml)
pair "PostgreSQL -> PostgreSQL" "pg -c 'TRUNCATE $SCHEMA.copy_dst'" 'psql \copy TO STDOUT | psql \copy FROM STDIN' \
  sh -c "psql -X -q '$PGURL' -c '\copy (SELECT * FROM $SCHEMA.src) TO STDOUT' | psql -X -q '$PGURL' -c '\copy $SCHEMA.copy_dst FROM STDIN'" -- $(run pg-pg.yaml)
# Both load into a new table of the same definition (base: rid the primary key), as InnoDB's work per
# row depends on it (a table without a primary key costs more: the hidden row id).
pair "PostgreSQL -> MariaDB" "my -e 'DROP TABLE IF EXISTS $SCHEMA.psql_dst, $SCHEMA.pipeline_dst; CREATE TABLE $SCHEMA.psql_dst LIKE $SCHEMA.base; CREATE TABLE $SCHEMA.pipeline_dst LIKE $SCHEMA.base'; my_settle" \
  'psql \copy TO STDOUT | mariadb LOAD DATA LOCAL INFILE' \
  sh -c "psql -X -q '$PGURL' -c \"\\copy ($PGMY_SELECT) TO STDOUT\" | mariadb --local-infile=1 -h $MYSQL_HOST -P $MYSQL_PORT -u $MYSQL_USER -e \"LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE $SCHEMA.psql_dst\"" \
  -- $(run pg-maria.yaml)
pair "Upsert by key, 10% of rows changed (PostgreSQL)" "pg -c 'TRUNCATE $SCHEMA.up_dst; INSERT INTO $SCHEMA.up_dst SELECT * FROM $SCHEMA.src' -c 'VACUUM ANALYZE $SCHEMA.up_dst'" \
  'psql \copy to a temp table + INSERT ON CONFLICT' \
  sh -c "psql -X -q '$PGURL' -c '\copy (SELECT * FROM $SCHEMA.src_changed) TO STDOUT' | psql -X -q -v ON_ERROR_STOP=1 '$PGURL' -f upsert.sql" -- $(run pg-upsert.yaml)

# the pipelines must have moved every row
check() { [ -n "${ONLY:-}" ] || [ "$1" = "$2" ] || { echo "bench: $3 holds $1 rows, want $2" >&2; exit 1; }; }
check "$(pg -At -c "SELECT count(*) FROM $SCHEMA.copy_dst")" "$ROWS" copy_dst
[ -n "${ONLY:-}" ] || check "$(my -N -e "SELECT COUNT(*) FROM $SCHEMA.pipeline_dst")" "$ROWS" pipeline_dst
[ -n "${ONLY:-}" ] || check "$(pg -At -c "SELECT count(*) FROM $SCHEMA.inferred")" "$ROWS" inferred
check "$(pg -At -c "SELECT count(*) FROM $SCHEMA.up_dst WHERE note = 'changed'")" "$((ROWS / 10))" "up_dst (changed rows)"

pg -c "SET client_min_messages = warning; DROP SCHEMA $SCHEMA CASCADE"
my -e "DROP DATABASE $SCHEMA"
rm -rf "$W"

echo
echo "Database pipelines, $(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go env GOVERSION), $(psql -X -At "$PGURL" -c 'SHOW server_version' | cut -d' ' -f1) / MariaDB $(mariadb -N -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -e 'SELECT VERSION()' | cut -d- -f1), median of $REPEAT, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| pipeline ($ROWS rows) | baseline | baseline s | baseline rows/s | baseline RSS MB | aggregator s | aggregator rows/s | aggregator RSS MB | vs baseline |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${RESULTS[@]}"
if [ -n "$BIN_B" ]; then
  echo
  echo "BIN = $BIN, BIN_B = $BIN_B (each repeat: the baseline, then BIN and BIN_B, BIN_B first in even repeats)"
  echo
  echo "| pipeline | binary | wall s (runs) | wall s median | CPU s user+sys (runs) | CPU s median | peak RSS MB |"
  echo "|---|---|---|---:|---|---:|---:|"
  printf '%s\n' "${AB[@]}"
fi
