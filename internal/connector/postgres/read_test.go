package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

func ids(t *testing.T, s *record.Schema, rows []record.Row) []int64 {
	t.Helper()
	i := s.Index("id")
	out := make([]int64, len(rows))
	for n, r := range rows {
		out[n] = r[i].AsInt()
	}
	return out
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestKeysetChunksResumeFromState(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE items (id bigint PRIMARY KEY, name text)`)
	e.exec(t, `INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 10) g`)
	ctx := context.Background()
	cfg := e.with("table", "items", "batch_size", 3)
	r, err := New().Open(ctx, connector.Env{}, cfg, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	var state json.RawMessage
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, b.Len())
		if len(sizes) == 2 {
			if state, err = r.State(); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.Close()
	if got := len(sizes); got < 4 || sizes[0] != 3 || sizes[3] != 1 {
		t.Fatalf("batch sizes = %v, want chunks of 3 (3,3,3,1)", sizes)
	}
	// resume after the second batch: rows 7..10
	rows, s, _ := readAll(t, cfg, connector.ReadRequest{State: state})
	if got := ids(t, s, rows); !equalIDs(got, []int64{7, 8, 9, 10}) {
		t.Fatalf("resumed read = %v, want [7 8 9 10]", got)
	}
}

// TestIncrementalTwice: a second run with the first run's final state reads only rows added or
// changed since, including a row whose cursor equals the last one seen (the key breaks the tie).
func TestIncrementalTwice(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2), updated_at timestamptz)`)
	e.exec(t, `INSERT INTO orders VALUES (1, 10, '2024-01-01T00:00:00Z'), (2, 20, '2024-01-02T00:00:00Z'), (3, 30, '2024-01-02T00:00:00Z'), (4, 40, NULL)`)
	cfg := e.with("table", "orders", "batch_size", 2)
	req := connector.ReadRequest{Mode: connector.Incremental, CursorField: "updated_at"}
	rows, s, state := readAll(t, cfg, req)
	if got := ids(t, s, rows); !equalIDs(got, []int64{1, 2, 3}) {
		t.Fatalf("first run = %v, want [1 2 3] (row 4 has a NULL cursor and is skipped)", got)
	}
	// new row with the same cursor value as the last seen but a higher key, a changed row, an untouched row
	e.exec(t, `INSERT INTO orders VALUES (5, 50, '2024-01-02T00:00:00Z'), (6, 60, '2024-01-05T00:00:00Z')`)
	e.exec(t, `UPDATE orders SET amount = 11, updated_at = '2024-01-03T00:00:00Z' WHERE id = 1`)
	req.State = state
	rows, s, state2 := readAll(t, cfg, req)
	if got := ids(t, s, rows); !equalIDs(got, []int64{5, 1, 6}) {
		t.Fatalf("second run = %v, want [5 1 6] (new and changed rows only, in cursor order)", got)
	}
	req.State = state2
	rows, _, state3 := readAll(t, cfg, req)
	if len(rows) != 0 {
		t.Fatalf("third run read %d rows, want 0", len(rows))
	}
	if string(state3) != string(state2) {
		t.Errorf("state after an empty run = %s, want unchanged %s", state3, state2)
	}
	// null_cursor: fail names the column and count
	_, err := New().Open(context.Background(), connector.Env{}, e.with("table", "orders", "null_cursor", "fail"), connector.ReadRequest{Mode: connector.Incremental, CursorField: "updated_at"})
	if err == nil || !strings.Contains(err.Error(), `cursor column "updated_at" is NULL in 1 row(s)`) {
		t.Fatalf("null_cursor fail: err = %v", err)
	}
}

func TestQueryAndViewSources(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE t (id int PRIMARY KEY, v text)`)
	e.exec(t, `INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 25) g`)
	e.exec(t, `CREATE VIEW odd AS SELECT id, v FROM t WHERE id % 2 = 1`)
	rows, s, _ := readAll(t, e.with("query", "SELECT id, upper(v) AS up FROM t WHERE id > 20;", "batch_size", 2), connector.ReadRequest{})
	if got := ids(t, s, rows); len(got) != 5 || s.Names()[1] != "up" || rows[0][1].Str() != "V21" && rows[0][1].Str() != "V22" {
		t.Fatalf("query read ids %v schema %s first %v", got, s, rows[0])
	}
	rows, s, _ = readAll(t, e.with("table", "odd", "key", []any{"id"}, "batch_size", 4), connector.ReadRequest{})
	if got := ids(t, s, rows); len(got) != 13 || got[12] != 25 {
		t.Fatalf("view read ids %v", got)
	}
	rows, s, state := readAll(t, e.with("query", "SELECT * FROM t", "key", []any{"id"}, "batch_size", 7), connector.ReadRequest{Mode: connector.Incremental, CursorField: "id"})
	if len(rows) != 25 || !strings.Contains(string(state), `"cursor_field":"id"`) {
		t.Fatalf("incremental query: %d rows, state %s", len(rows), state)
	}
	_ = s
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE "Orders ✓" (id bigserial, region text, created date, updated timestamptz, amount numeric(12,2) NOT NULL, PRIMARY KEY (region, id))`)
	e.exec(t, `CREATE VIEW recent AS SELECT id, amount FROM "Orders ✓"`)
	cat, err := New().Discover(context.Background(), connector.Env{}, e.with("schema", e.pg.Schema))
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Streams) != 2 {
		t.Fatalf("streams = %+v, want 2", cat.Streams)
	}
	o, v := cat.Streams[0], cat.Streams[1]
	if o.Name != "Orders ✓" || o.Kind != "table" || o.Namespace != e.pg.Schema || strings.Join(o.PrimaryKey, ",") != "region,id" {
		t.Errorf("table stream = %+v", o)
	}
	if strings.Join(o.CursorCandidates, ",") != "id,created,updated,amount" {
		t.Errorf("cursor candidates = %v", o.CursorCandidates)
	}
	if f, _ := o.Schema.Field("amount"); f.Kind != record.KindDecimal || f.Nullable || f.Precision != 12 || f.Scale != 2 {
		t.Errorf("amount field = %+v", f)
	}
	if v.Name != "recent" || v.Kind != "view" || len(v.PrimaryKey) != 0 {
		t.Errorf("view stream = %+v", v)
	}
}

func TestReadTableDroppedMidRun(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE gone (id int PRIMARY KEY)`)
	e.exec(t, `INSERT INTO gone SELECT generate_series(1, 10)`)
	ctx := context.Background()
	r, err := New().Open(ctx, connector.Env{}, e.with("table", "gone", "batch_size", 4), connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Next(ctx); err != nil {
		t.Fatal(err)
	}
	e.exec(t, `DROP TABLE gone`)
	_, err = r.Next(ctx)
	if !errors.Is(err, connector.ErrNotFound) || !strings.Contains(err.Error(), "dropped or renamed during the read") {
		t.Fatalf("err = %v, want ErrNotFound naming the dropped table", err)
	}
}

func TestReadCancelStopsQuery(t *testing.T) {
	t.Parallel()
	e := setup(t)
	app := testutil.Name("cancel")
	ctx, cancel := context.WithCancel(context.Background())
	r, err := New().Open(ctx, connector.Env{}, e.with("query", "SELECT pg_sleep(60) AS s", "application_name", app), connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	done := make(chan error, 1)
	go func() { _, err := r.Next(ctx); done <- err }()
	// wait until the server runs the query, then cancel the run
	running := func() bool {
		var n int
		if err := e.conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE '%pg_sleep%'", app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !running() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the query never started")
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after the cancel")
	}
	deadline = time.After(10 * time.Second)
	for running() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the query still runs on the server after the cancel")
		}
	}
}

// TestStateWithoutKeyRereads: a state saved before the table had a key cannot place a keyset read;
// the read starts over instead of failing or losing rows.
func TestStateWithoutKeyRereads(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE t (id int, u int)`)
	e.exec(t, `INSERT INTO t SELECT g, g FROM generate_series(1, 5) g`)
	req := connector.ReadRequest{Mode: connector.Incremental, CursorField: "u"}
	_, _, state := readAll(t, e.with("table", "t"), req)
	e.exec(t, `ALTER TABLE t ADD PRIMARY KEY (id)`)
	req.State = state
	rows, _, _ := readAll(t, e.with("table", "t"), req)
	if len(rows) != 5 {
		t.Fatalf("read %d rows, want all 5 again", len(rows))
	}
}

func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	r, err := New().Open(ctx, connector.Env{}, e.with("query", "SELECT pg_sleep(5) AS s", "statement_timeout", 1), connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start := time.Now()
	_, err = r.Next(ctx)
	if err == nil || !strings.Contains(err.Error(), "statement timeout") {
		t.Fatalf("err = %v, want the statement timeout", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("the timeout took %v", d)
	}
}
