package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

var people = record.MustSchema(
	record.Field{Name: "id", Kind: record.KindInt},
	record.Field{Name: "name", Kind: record.KindString, Nullable: true},
)

func person(id int64, name string) record.Row { return record.Row{record.Int(id), record.String(name)} }

func (e *env) rowsOf(t *testing.T, sql string) []string {
	t.Helper()
	rows, err := e.conn.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func TestAppendCreatesTableAndCommits(t *testing.T) {
	t.Parallel()
	e := setup(t)
	write(t, e.with("table", "people"), connector.WriteRequest{Mode: connector.Append, Schema: people},
		batchOf(people, person(1, "a"), person(2, "b")), batchOf(people, person(3, "c")))
	write(t, e.with("table", "people"), connector.WriteRequest{Mode: connector.Append, Schema: people}, batchOf(people, person(4, "d")))
	if got := strings.Join(e.rowsOf(t, "SELECT id, name FROM people ORDER BY id"), ","); got != "1a,2b,3c,4d" {
		t.Fatalf("rows = %s", got)
	}
}

func TestUncommittedWritesAreInvisibleAndAbortDiscards(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{}, e.with("table", "people"), connector.WriteRequest{Mode: connector.Append, Schema: people})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, batchOf(people, person(1, "a"))); err != nil {
		t.Fatal(err)
	}
	if got := e.rowsOf(t, "SELECT id FROM people"); len(got) != 0 {
		t.Fatalf("rows visible before Commit: %v", got)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.rowsOf(t, "SELECT id FROM people"); len(got) != 1 {
		t.Fatalf("rows after Commit: %v", got)
	}
	if err := w.Write(ctx, batchOf(people, person(2, "b"))); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.rowsOf(t, "SELECT id FROM people"); len(got) != 1 {
		t.Fatalf("rows after Abort: %v (the uncommitted row must be gone)", got)
	}
}

func TestOverwriteIsAtomic(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE people (id bigint PRIMARY KEY, name text NOT NULL)`)
	e.exec(t, `INSERT INTO people VALUES (1, 'old1'), (2, 'old2')`)
	ctx := context.Background()
	cfg := e.with("table", "people")
	req := connector.WriteRequest{Mode: connector.Overwrite, Schema: people, RunID: "run-1"}

	// a run that fails: the old table is intact, the staging table gone
	w, err := New().OpenWriter(ctx, connector.Env{}, cfg, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, batchOf(people, person(7, "new"))); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.rowsOf(t, "SELECT id, name FROM people ORDER BY id"), ","); got != "1old1,2old2" {
		t.Fatalf("old table changed before the swap: %s", got)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.rowsOf(t, "SELECT id, name FROM people ORDER BY id"), ","); got != "1old1,2old2" {
		t.Fatalf("old table after a failed overwrite: %s", got)
	}
	if got := e.rowsOf(t, fmt.Sprintf("SELECT tablename FROM pg_tables WHERE schemaname = '%s' AND tablename LIKE '_agg_stage%%'", e.pg.Schema)); len(got) != 0 {
		t.Fatalf("staging tables left behind: %v", got)
	}

	// a run that succeeds: the table is replaced, keeping its constraints
	write(t, cfg, req, batchOf(people, person(10, "x"), person(11, "y")))
	if got := strings.Join(e.rowsOf(t, "SELECT id, name FROM people ORDER BY id"), ","); got != "10x,11y" {
		t.Fatalf("after overwrite: %s", got)
	}
	if got := e.rowsOf(t, fmt.Sprintf("SELECT is_nullable FROM information_schema.columns WHERE table_schema = '%s' AND table_name = 'people' AND column_name = 'name'", e.pg.Schema)); len(got) != 1 || got[0] != "NO" {
		t.Errorf("NOT NULL constraint lost in the swap: %v", got)
	}

	// a dependent view: the swap replaces the rows in one transaction instead
	e.exec(t, `CREATE VIEW people_v AS SELECT * FROM people`)
	write(t, cfg, connector.WriteRequest{Mode: connector.Overwrite, Schema: people, RunID: "run-2"}, batchOf(people, person(20, "z")))
	if got := strings.Join(e.rowsOf(t, "SELECT id, name FROM people_v"), ","); got != "20z" {
		t.Fatalf("view after overwrite: %s", got)
	}
}

func TestUpsert(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cfg := e.with("table", "people")
	req := connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id"}, Schema: people, RunID: "r"}
	write(t, cfg, req, batchOf(people, person(1, "a"), person(2, "b")))
	// an update, an insert, and the same key twice in one batch: the last one wins
	write(t, cfg, req, batchOf(people, person(2, "B"), person(3, "c"), person(3, "C")))
	if got := strings.Join(e.rowsOf(t, "SELECT id, name FROM people ORDER BY id"), ","); got != "1a,2B,3C" {
		t.Fatalf("after upsert: %s", got)
	}
	// a table without a unique key on the upsert columns is refused clearly
	e.exec(t, `CREATE TABLE nokey (id bigint, name text)`)
	_, err := New().OpenWriter(context.Background(), connector.Env{}, e.with("table", "nokey"), req)
	if !errors.Is(err, connector.ErrConfig) || !strings.Contains(err.Error(), "needs a primary key or unique index") {
		t.Fatalf("err = %v", err)
	}
}

func TestSchemaEvolution(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cfg := e.with("table", "people")
	write(t, cfg, connector.WriteRequest{Mode: connector.Append, Schema: people}, batchOf(people, person(1, "a")))
	wider := record.MustSchema(append(append([]record.Field{}, people.Fields...), record.Field{Name: "Score Δ", Kind: record.KindDecimal, Precision: 6, Scale: 2, Nullable: true})...)
	write(t, cfg, connector.WriteRequest{Mode: connector.Append, Schema: wider}, batchOf(wider, record.Row{record.Int(2), record.String("b"), record.MustDecimal("12.50")}))
	if got := strings.Join(e.rowsOf(t, `SELECT id, name, "Score Δ"::text FROM people ORDER BY id`), ","); got != "1a<nil>,2b12.50" {
		t.Fatalf("after evolution: %s", got)
	}
	incompatible := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "Score Δ", Kind: record.KindBytes})
	_, err := New().OpenWriter(context.Background(), connector.Env{}, cfg, connector.WriteRequest{Mode: connector.Append, Schema: incompatible})
	if err == nil || !strings.Contains(err.Error(), `column "Score Δ": the source type is bytes but the destination column is numeric(6,2) (decimal)`) {
		t.Fatalf("err = %v", err)
	}
}

// TestBadRowsAreIsolated: rows the table refuses come back as RowError entries naming table, key and
// column; every other row is written. With copy_buffer_rows 0 they come back from their Write with
// their index; by default the rows are buffered and the table's verdict comes back from Commit, which
// commits every other row. A row that cannot be converted comes back from its Write either way.
func TestBadRowsAreIsolated(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		config   []any
		atWrite  string // problems returned by the Write
		atCommit string // problems returned by Commit ("": none)
	}{
		{"one COPY per write", []any{"copy_buffer_rows", 0}, "9:name,19:age,49:name,79:", ""},
		{"buffered", nil, "19:age", "-1:name,-1:name,-1:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			e.exec(t, `CREATE TABLE people (id bigint PRIMARY KEY, name varchar(5) NOT NULL, age int CHECK (age >= 0))`)
			s := record.MustSchema(
				record.Field{Name: "id", Kind: record.KindInt},
				record.Field{Name: "name", Kind: record.KindString, Nullable: true},
				record.Field{Name: "age", Kind: record.KindString, Nullable: true},
			)
			var rows []record.Row
			for i := int64(1); i <= 100; i++ {
				rows = append(rows, record.Row{record.Int(i), record.String("ok"), record.String("30")})
			}
			rows[9][1] = record.Null                  // id 10: NOT NULL
			rows[19][2] = record.String("abc")        // id 20: not an int
			rows[49][1] = record.String("too long!!") // id 50: varchar(5)
			rows[79][2] = record.String("-1")         // id 80: CHECK
			ctx := context.Background()
			w, err := New().OpenWriter(ctx, connector.Env{}, e.with(append([]any{"table", "people"}, c.config...)...), connector.WriteRequest{Mode: connector.Append, Schema: s})
			if err != nil {
				t.Fatal(err)
			}
			err = w.Write(ctx, batchOf(s, rows...))
			var re *connector.RowError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *connector.RowError", err)
			}
			if got := problemList(re); got != c.atWrite {
				t.Errorf("write: problems = %v (%+v)", got, re.Rows)
			}
			err = w.Commit(ctx)
			if c.atCommit == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				var atCommit *connector.RowError
				if !errors.As(err, &atCommit) {
					t.Fatalf("commit: err = %v, want *connector.RowError", err)
				}
				if got := problemList(atCommit); got != c.atCommit {
					t.Errorf("commit: problems = %v (%+v)", got, atCommit.Rows)
				}
				re.Rows = append(re.Rows, atCommit.Rows...)
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"key id=10, column name", "key id=20, column age", "key id=50", "key id=80"} {
				found := false
				for _, p := range re.Rows {
					found = found || strings.Contains(p.Reason, "table "+e.pg.Schema+".people, "+want)
				}
				if !found {
					t.Errorf("no problem mentions %q: %+v", want, re.Rows)
				}
			}
			if n := e.rowsOf(t, "SELECT count(*) FROM people"); n[0] != "96" {
				t.Fatalf("rows written = %s, want 96", n[0])
			}
		})
	}
}

// problemList is "index:field" of each problem, comma-separated.
func problemList(re *connector.RowError) string {
	var got []string
	for _, p := range re.Rows {
		got = append(got, fmt.Sprintf("%d:%s", p.Index, p.Field))
	}
	return strings.Join(got, ",")
}

func TestInjectionThroughNamesAndCursor(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE victim (id int)`)
	table := `x"; DROP TABLE victim; --`
	col := `name"); DROP TABLE victim; --`
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: col, Kind: record.KindString, Nullable: true}, record.Field{Name: "select", Kind: record.KindString})
	cursorVal := `'; DROP TABLE victim; --`
	write(t, e.with("table", table), connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id"}, Schema: s},
		batchOf(s, record.Row{record.Int(1), record.String(`'); DROP TABLE victim; --`), record.String(cursorVal)}, record.Row{record.Int(2), record.String("b"), record.String("zzz")}))
	rows, rs, _ := readAll(t, e.with("table", table), connector.ReadRequest{})
	if len(rows) != 2 || rows[0][rs.Index(col)].Str() != `'); DROP TABLE victim; --` {
		t.Fatalf("round trip = %v", rows)
	}
	// the cursor value travels as a parameter: resuming after it reads only the row after it
	st := fmt.Sprintf(`{"cursor":{"kind":"string","value":%q},"cursor_field":"select","key":[{"kind":"int","value":"1"}],"key_fields":["id"]}`, cursorVal)
	rows, _, _ = readAll(t, e.with("table", table), connector.ReadRequest{Mode: connector.Incremental, CursorField: "select", State: []byte(st)})
	if len(rows) != 1 || rows[0][0].AsInt() != 2 {
		t.Fatalf("incremental after an injection cursor = %v", rows)
	}
	// a table name that tries to escape fails as not found, nothing else
	_, err := New().Open(context.Background(), connector.Env{}, e.with("table", `victim"; DROP TABLE victim; --`), connector.ReadRequest{})
	if !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if got := e.rowsOf(t, "SELECT count(*) FROM victim"); got[0] != "0" {
		t.Fatalf("victim: %v", got)
	}
}

func TestWriteTableDroppedMidRun(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{}, e.with("table", "people"), connector.WriteRequest{Mode: connector.Append, Schema: people})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(ctx)
	if err := w.Write(ctx, batchOf(people, person(1, "a"))); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	e.exec(t, `DROP TABLE people`)
	// Write may buffer: the load, and so the error, may come with the Commit
	err = w.Write(ctx, batchOf(people, person(2, "b")))
	if err == nil {
		err = w.Commit(ctx)
	}
	if !errors.Is(err, connector.ErrNotFound) || !strings.Contains(err.Error(), e.pg.Schema+".people") {
		t.Fatalf("err = %v, want ErrNotFound naming the table", err)
	}
}

// TestBufferedBadRows: rows buffered across Writes are loaded by one COPY in the background while
// later Writes encode theirs; a bad row comes back from the next Write (or Commit's next Write) with
// Index -1 and a message naming table, key and column; every good row is written.
func TestBufferedBadRows(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE people (id bigint PRIMARY KEY, name varchar(5) NOT NULL)`)
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{}, e.with("table", "people"), connector.WriteRequest{Mode: connector.Append, Schema: people})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(ctx)
	w.(*writer).flushRows = 4
	reasons := func(err error) []string {
		t.Helper()
		if err == nil {
			return nil
		}
		var re *connector.RowError
		if !errors.As(err, &re) {
			t.Fatalf("err = %v, want *connector.RowError", err)
		}
		var got []string
		for _, p := range re.Rows {
			got = append(got, fmt.Sprintf("%d:%s:%s", p.Index, p.Field, p.Reason))
		}
		return got
	}
	refused := func(got []string, ids ...int) {
		t.Helper()
		if len(got) != len(ids) {
			t.Fatalf("problems = %q, want ids %v", got, ids)
		}
		for i, id := range ids {
			if want := fmt.Sprintf("-1:name:table %s.people, key id=%d, column name: ", e.pg.Schema, id); !strings.HasPrefix(got[i], want) {
				t.Errorf("problem %d = %q, want prefix %q", i, got[i], want)
			}
		}
	}
	// 2 rows buffered, nothing loaded yet
	refused(reasons(w.Write(ctx, batchOf(people, person(1, "a"), person(2, "too long")))))
	if n := e.rowsOf(t, "SELECT count(*) FROM people"); n[0] != "0" {
		t.Fatalf("rows visible before commit = %s", n[0])
	}
	// 4 rows: their load starts in the background
	refused(reasons(w.Write(ctx, batchOf(people, person(3, "c"), person(4, "also long")))))
	refused(reasons(w.Write(ctx, batchOf(people, person(5, "e"), person(6, "longer!")))))
	// 4 more: the next load waits for the first, whose bad rows come back now
	refused(reasons(w.Write(ctx, batchOf(people, person(7, "g"), person(8, "longest")))), 2, 4)
	// the second load's bad rows, found by Commit, come back from it; the good rows are committed
	refused(reasons(w.Commit(ctx)), 6, 8)
	if n := e.rowsOf(t, "SELECT string_agg(id::text, ',' ORDER BY id) FROM people"); n[0] != "1,3,5,7" {
		t.Fatalf("rows after commit = %s, want 1,3,5,7", n[0])
	}
	refused(reasons(w.Write(ctx, batchOf(people, person(9, "i")))))
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.rowsOf(t, "SELECT string_agg(id::text, ',' ORDER BY id) FROM people"); n[0] != "1,3,5,7,9" {
		t.Fatalf("rows after close = %s, want 1,3,5,7,9", n[0])
	}
}

// TestAbortDuringBackgroundLoad: Abort waits for the load in flight and rolls everything back.
func TestAbortDuringBackgroundLoad(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{}, e.with("table", "people"), connector.WriteRequest{Mode: connector.Append, Schema: people})
	if err != nil {
		t.Fatal(err)
	}
	w.(*writer).flushRows = 2
	for i := int64(0); i < 5; i++ {
		if err := w.Write(ctx, batchOf(people, person(2*i, "a"), person(2*i+1, "b"))); err != nil {
			t.Fatal(err)
		}
	}
	if w.(*writer).inflight == nil {
		t.Fatal("no load in flight after a full buffer")
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.rowsOf(t, "SELECT count(*) FROM people"); n[0] != "0" {
		t.Fatalf("rows after abort = %s, want 0", n[0])
	}
}
