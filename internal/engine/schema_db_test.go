package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/mysql"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/schemachange"
	"github.com/dataaggregator/aggregator/internal/testutil"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// schemaDB is a real database holding a source table src and a destination table dst, and the
// statements that change src between two runs.
type schemaDB struct {
	typ    string
	cfg    map[string]any
	exec   func(t *testing.T, q string)
	count  func(t *testing.T, q string) int64
	addCol string // adds the column note (text)
	retype string // changes qty from an integer to a decimal
}

func schemaDBs(t *testing.T, fn func(t *testing.T, db schemaDB)) {
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := testutil.Postgres(t)
		conn, err := pgx.Connect(context.Background(), pg.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		db := schemaDB{typ: "postgres", cfg: map[string]any{"url": pg.URL},
			addCol: "ALTER TABLE src ADD COLUMN note text", retype: "ALTER TABLE src ALTER COLUMN qty TYPE numeric(12,2)"}
		db.exec = func(t *testing.T, q string) {
			t.Helper()
			if _, err := conn.Exec(context.Background(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		db.count = func(t *testing.T, q string) int64 {
			t.Helper()
			var n int64
			if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		db.exec(t, "CREATE TABLE src (id bigint PRIMARY KEY, qty integer)")
		fn(t, db)
	})
	t.Run("mariadb", func(t *testing.T) {
		t.Parallel()
		my := testutil.MySQL(t)
		h, p, _ := net.SplitHostPort(my.Config.Addr)
		port, _ := strconv.Atoi(p)
		conn, err := sql.Open("mysql", my.DSN)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		db := schemaDB{typ: "mysql", cfg: map[string]any{"host": h, "port": port, "user": my.Config.User, "password": my.Config.Passwd, "database": my.Database},
			addCol: "ALTER TABLE src ADD COLUMN note TEXT NULL", retype: "ALTER TABLE src MODIFY COLUMN qty DECIMAL(12,2) NULL"}
		db.exec = func(t *testing.T, q string) {
			t.Helper()
			if _, err := conn.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		db.count = func(t *testing.T, q string) int64 {
			t.Helper()
			var n int64
			if err := conn.QueryRow(q).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		db.exec(t, "CREATE TABLE src (id BIGINT PRIMARY KEY, qty INT NULL)")
		fn(t, db)
	})
}

// plan is src -> dst in db under policy, rejected rows to the dead letters.
func (db schemaDB) plan(t *testing.T, policy schemachange.Policy) *pipeline.Plan {
	t.Helper()
	cfg := func(table string) map[string]any {
		m := map[string]any{"table": table}
		for k, v := range db.cfg {
			m[k] = v
		}
		return m
	}
	spec := map[string]any{"version": 1, "name": "schema-" + db.typ,
		"sources":      []any{map[string]any{"id": "in", "type": db.typ, "config": cfg("src")}},
		"destinations": []any{map[string]any{"id": "out", "type": db.typ, "inputs": []string{"in"}, "config": cfg("dst"), "write": map[string]any{"mode": "append", "schema_changes": string(policy)}}},
		"error_policy": map[string]any{"on_reject": "dead_letter"}}
	raw, _ := json.Marshal(spec)
	s, err := pipeline.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := connector.NewRegistry(postgres.New(), mysql.New())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Validate(context.Background(), s, pipeline.Env{Connectors: cr, Transforms: tr})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type rejectSink struct{ rows []record.Reject }

func (s *rejectSink) Put(_ context.Context, rs []record.Reject) error {
	s.rows = append(s.rows, rs...)
	return nil
}
func (s *rejectSink) Commit(context.Context) (json.RawMessage, error) { return nil, nil }

// twoRuns runs the pipeline once, changes the source (a column added with a value in one row, qty
// retyped to a decimal with one fraction), and runs it again with the first run's snapshot.
func twoRuns(t *testing.T, db schemaDB, policy schemachange.Policy, approved []schemachange.Change) (*Result, *rejectSink, error) {
	t.Helper()
	p := db.plan(t, policy)
	db.exec(t, "INSERT INTO src (id, qty) VALUES (1, 10), (2, 20)")
	res, err := Run(context.Background(), p, Options{})
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	snap, ok := res.Schemas["out"]
	if !ok || snap.Schema == nil {
		t.Fatalf("first run recorded no snapshot: %+v", res.Schemas)
	}
	db.exec(t, db.addCol)
	db.exec(t, db.retype)
	db.exec(t, "DELETE FROM src")
	db.exec(t, "INSERT INTO src (id, qty, note) VALUES (3, 30, NULL), (4, 40.5, NULL), (5, 50, 'hello')")
	sink := &rejectSink{}
	res, err = Run(context.Background(), db.plan(t, policy), Options{DeadLetters: sink,
		Schemas: map[string]SchemaInput{"out": {Previous: &snap, Approved: approved}}})
	return res, sink, err
}

func TestSchemaPolicyOnRealTables(t *testing.T) {
	t.Run("evolve adds the column and widens the type", func(t *testing.T) {
		schemaDBs(t, func(t *testing.T, db schemaDB) {
			res, _, err := twoRuns(t, db, "", nil)
			if err != nil {
				t.Fatalf("evolve: %v", err)
			}
			if n := db.count(t, "SELECT COUNT(*) FROM dst"); n != 5 {
				t.Errorf("dst has %d rows, want 5", n)
			}
			if n := db.count(t, "SELECT COUNT(*) FROM dst WHERE note = 'hello' AND qty = 50"); n != 1 {
				t.Errorf("the new column's value is not in dst")
			}
			if n := db.count(t, "SELECT COUNT(*) FROM dst WHERE qty = 40.5"); n != 1 {
				t.Errorf("qty was not widened to hold 40.5")
			}
			if len(res.SchemaDecisions) != 1 || len(res.SchemaDecisions[0].Of(schemachange.Apply)) != 2 {
				t.Errorf("decisions = %+v, want one with two applied changes", res.SchemaDecisions)
			}
		})
	})
	t.Run("fail stops before writing and names each change", func(t *testing.T) {
		schemaDBs(t, func(t *testing.T, db schemaDB) {
			_, _, err := twoRuns(t, db, schemachange.Fail, nil)
			var se *schemachange.Error
			if !errors.As(err, &se) || se.Action != schemachange.Refuse {
				t.Fatalf("err = %v, want a refused schema change", err)
			}
			for _, want := range []string{`column "note": column added`, `column "qty": type widened`, "schema_changes: fail"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if n := db.count(t, "SELECT COUNT(*) FROM dst"); n != 2 {
				t.Errorf("dst has %d rows, want the first run's 2", n)
			}
		})
	})
	t.Run("quarantine writes what fits and dead-letters the rest naming the change", func(t *testing.T) {
		schemaDBs(t, func(t *testing.T, db schemaDB) {
			res, sink, err := twoRuns(t, db, schemachange.Quarantine, nil)
			if err != nil {
				t.Fatalf("quarantine: %v", err)
			}
			if n := db.count(t, "SELECT COUNT(*) FROM dst"); n != 3 {
				t.Errorf("dst has %d rows, want 2 + the one that fits (id 3)", n)
			}
			if n := db.count(t, "SELECT COUNT(*) FROM dst WHERE id = 3 AND qty = 30"); n != 1 {
				t.Errorf("row 3 was not written")
			}
			if len(sink.rows) != 2 || res.Rejected != 2 {
				t.Fatalf("dead letters = %+v (rejected %d), want rows 4 and 5", sink.rows, res.Rejected)
			}
			byField := map[string]string{}
			for _, r := range sink.rows {
				byField[r.Field] = r.Reason
			}
			if !strings.Contains(byField["qty"], `schema change quarantined: column "qty": type widened`) {
				t.Errorf("qty's dead letter: %q", byField["qty"])
			}
			if !strings.Contains(byField["note"], `schema change quarantined: column "note": column added`) {
				t.Errorf("note's dead letter: %q", byField["note"])
			}
		})
	})
	t.Run("review pauses, then an approval applies the changes", func(t *testing.T) {
		schemaDBs(t, func(t *testing.T, db schemaDB) {
			_, _, err := twoRuns(t, db, schemachange.Review, nil)
			var se *schemachange.Error
			if !errors.As(err, &se) || se.Action != schemachange.Pending || len(se.Decision.Changes) != 2 {
				t.Fatalf("err = %v, want two changes awaiting approval", err)
			}
			if n := db.count(t, "SELECT COUNT(*) FROM dst"); n != 2 {
				t.Errorf("dst has %d rows while awaiting approval, want 2", n)
			}
			res, err := Run(context.Background(), db.plan(t, schemachange.Review), Options{DeadLetters: &rejectSink{},
				Schemas: map[string]SchemaInput{"out": {Approved: se.Decision.Changes}}})
			if err != nil {
				t.Fatalf("approved run: %v", err)
			}
			if n := db.count(t, "SELECT COUNT(*) FROM dst WHERE note = 'hello'"); n != 1 || res.RowsWritten != 3 {
				t.Errorf("after approval: note rows %d, written %d", n, res.RowsWritten)
			}
		})
	})
}
