package mysql_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/mysql"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit/sqltest"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// wideDDL is a table with 30 columns of every common PostgreSQL type.
const wideDDL = `CREATE TABLE wide (
	id serial PRIMARY KEY, c_small smallint, c_int integer, c_big bigint, c_real real, c_double double precision,
	c_num numeric(38,10), c_num_free numeric, c_money money, c_text text, c_varchar varchar(50), c_char char(5),
	c_bool boolean, c_bytea bytea, c_date date, c_ts timestamp, c_tstz timestamptz, c_time time, c_interval interval,
	c_json json, c_jsonb jsonb, c_uuid uuid, c_int_arr integer[], c_text_arr text[], c_inet inet, c_unicode varchar(200),
	c_empty text, c_big_text text, c_cents numeric(12,2), c_updated timestamptz NOT NULL)`

const wideInsert = `INSERT INTO wide (c_small, c_int, c_big, c_real, c_double, c_num, c_num_free, c_money, c_text, c_varchar, c_char,
	c_bool, c_bytea, c_date, c_ts, c_tstz, c_time, c_interval, c_json, c_jsonb, c_uuid, c_int_arr, c_text_arr, c_inet, c_unicode,
	c_empty, c_big_text, c_cents, c_updated)
SELECT (g % 32000)::smallint, g * 1000, g::bigint * 9000000000000, g / 8.0, g * 1.0e-300 + g, (g || '1234567890123456789012345.0123456789')::numeric(38,10),
	(g / 3.0)::numeric, (g * 1.25)::numeric::money, 'row ' || g || E' "q" \\ \t tab', 'v' || g, 'c' || (g % 10),
	g % 2 = 0, decode(lpad(to_hex(g), 8, '0'), 'hex'), DATE '1950-06-01' + g, TIMESTAMP '1960-01-01 00:00:00.123456' + g * INTERVAL '1 hour',
	TIMESTAMPTZ '2024-01-01T00:00:00Z' + g * INTERVAL '1 minute', TIME '10:00' + g * INTERVAL '1 second', g * INTERVAL '1 day',
	json_build_object('g', g, 'tags', json_build_array('a', g)), jsonb_build_object('g', g, 'nested', jsonb_build_object('x', 'ü')),
	md5(g::text)::uuid, ARRAY[g, g + 1, NULL], ARRAY['x ' || g, 'y"'], ('10.0.' || (g % 256) || '.1')::inet, 'Grüße 日本語 🎉 ' || g,
	'', repeat('long ', 2000) || g, g * 0.01, TIMESTAMPTZ '2024-06-01T00:00:00Z' + g * INTERVAL '1 second'
FROM generate_series($1::int, $2::int) g`

type memCheckpoints struct {
	mu sync.Mutex
	cp *engine.Checkpoint
}

func (m *memCheckpoints) Load(context.Context) (*engine.Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cp, nil
}

func (m *memCheckpoints) Save(_ context.Context, cp *engine.Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cp = cp
	return nil
}

// run validates and runs a pipeline with the database connectors registered.
func run(t *testing.T, yaml string, cps engine.Checkpointer) *engine.Result {
	t.Helper()
	conns, err := connector.NewRegistry(postgres.New(), mysql.New())
	if err != nil {
		t.Fatal(err)
	}
	trs, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := pipeline.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	plan, err := pipeline.Validate(context.Background(), spec, pipeline.Env{Connectors: conns, Transforms: trs})
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	res, err := engine.Run(context.Background(), plan, engine.Options{BatchSize: 64, Checkpointer: cps})
	if err != nil {
		t.Fatalf("run: %v (%+v)", err, res)
	}
	if res.Status != engine.Succeeded {
		t.Fatalf("run %s: %s", res.Status, res.Error)
	}
	return res
}

func myConfig(t *testing.T, my testutil.MY) string {
	host, port, err := net.SplitHostPort(my.Config.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return fmt.Sprintf("{host: %q, port: %d, user: %q, password: %q, database: %q}", host, p, my.Config.User, my.Config.Passwd, my.Database)
}

func readPG(t *testing.T, url, table string) (*record.Schema, []record.Row) {
	t.Helper()
	rows, schema, _ := sqltest.ReadAll(t, postgres.New(), map[string]any{"url": url, "table": table, "key": []any{"id"}}, connector.ReadRequest{})
	return schema, rows
}

// TestPostgresToMariaDBAndBack copies a 30-column table to MariaDB and back with two pipelines and
// compares the result row for row.
func TestPostgresToMariaDBAndBack(t *testing.T) {
	t.Parallel()
	pg := testutil.Postgres(t)
	my := testutil.MySQL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range []string{wideDDL} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, wideInsert, 1, 300); err != nil {
		t.Fatal(err)
	}
	// one row of NULLs in every nullable column
	if _, err := conn.Exec(ctx, `INSERT INTO wide (c_updated) VALUES ('1999-12-31T23:59:59Z')`); err != nil {
		t.Fatal(err)
	}
	run(t, fmt.Sprintf(`version: 1
name: pg-to-maria
sources:
  - {id: src, type: postgres, config: {url: %q, table: wide}}
destinations:
  - {id: out, type: mysql, inputs: [src], config: %s, write: {mode: overwrite, key: [id]}}
`, pg.URL, strings.Replace(myConfig(t, my), "}", ", table: wide}", 1)), nil)
	run(t, fmt.Sprintf(`version: 1
name: maria-to-pg
sources:
  - {id: src, type: mysql, config: %s}
destinations:
  - {id: out, type: postgres, inputs: [src], config: {url: %q, table: wide_back}, write: {mode: overwrite, key: [id]}}
`, strings.Replace(myConfig(t, my), "}", ", table: wide}", 1), pg.URL), nil)

	s1, want := readPG(t, pg.URL, "wide")
	s2, got := readPG(t, pg.URL, "wide_back")
	if len(s1.Fields) != 30 || strings.Join(s1.Names(), ",") != strings.Join(s2.Names(), ",") {
		t.Fatalf("columns differ:\n%s\n%s", s1, s2)
	}
	if len(got) != len(want) || len(want) != 301 {
		t.Fatalf("rows: %d back, %d sent", len(got), len(want))
	}
	for i := range want {
		for j, f := range s1.Fields {
			a, b := want[i][j], got[i][j]
			same := a.Equal(b)
			if !same && a.Kind() == record.KindDecimal && b.Kind() == record.KindDecimal {
				same = record.Compare(a, b) == 0 // unconstrained numeric comes back with DECIMAL(65,30)'s scale
			}
			if !same {
				t.Fatalf("row %d column %s (%s): sent %q (%s), back %q (%s)", i, f.Name, f.Native, a, a.Kind(), b, b.Kind())
			}
		}
	}
}

// TestIncrementalPipelineTwice: the second run moves only the rows added or changed since the first.
func TestIncrementalPipelineTwice(t *testing.T) {
	t.Parallel()
	pg := testutil.Postgres(t)
	my := testutil.MySQL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, wideDDL); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, wideInsert, 1, 200); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`version: 1
name: pg-to-maria-incremental
sources:
  - {id: src, type: postgres, config: {url: %q, table: wide, batch_size: 50}, sync: {mode: incremental, cursor_field: c_updated}}
destinations:
  - {id: out, type: mysql, inputs: [src], config: %s, write: {mode: upsert, key: [id]}}
`, pg.URL, strings.Replace(myConfig(t, my), "}", ", table: wide}", 1))
	cps := &memCheckpoints{}
	if res := run(t, yaml, cps); res.RowsRead != 200 || res.RowsWritten != 200 {
		t.Fatalf("first run read %d wrote %d, want 200", res.RowsRead, res.RowsWritten)
	}
	// change 5 rows, add 3
	if _, err := conn.Exec(ctx, `UPDATE wide SET c_text = 'changed', c_updated = now() WHERE id IN (3, 50, 99, 150, 200)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, wideInsert, 201, 203); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE wide SET c_updated = now() WHERE id > 200`); err != nil {
		t.Fatal(err)
	}
	if res := run(t, yaml, cps); res.RowsRead != 8 || res.RowsWritten != 8 {
		t.Fatalf("second run read %d wrote %d, want 8 (5 changed + 3 new)", res.RowsRead, res.RowsWritten)
	}
	db, err := sql.Open("mysql", my.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, changed int
	if err := db.QueryRow("SELECT COUNT(*), SUM(c_text = 'changed') FROM wide").Scan(&n, &changed); err != nil {
		t.Fatal(err)
	}
	if n != 203 || changed != 5 {
		t.Fatalf("MariaDB holds %d rows, %d changed; want 203 and 5", n, changed)
	}
	if res := run(t, yaml, cps); res.RowsRead != 0 {
		t.Fatalf("third run read %d rows, want 0", res.RowsRead)
	}
}
