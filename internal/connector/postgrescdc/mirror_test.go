package postgrescdc_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/mysql"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/connector/postgrescdc"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/runner"
	"github.com/dataaggregator/aggregator/internal/testutil"
	"github.com/dataaggregator/aggregator/internal/transform"
)

type row struct {
	id, qty int64
	name    string
}

// TestMirrorWhileChanging: a table mirrored by postgres_cdc into PostgreSQL and into MariaDB (upsert
// by id) while it changes: inserts, updates, deletes and primary-key moves during the snapshot and
// the stream all show in the copy, which ends equal to the source.
func TestMirrorWhileChanging(t *testing.T) {
	for _, dest := range []string{"postgres", "mysql"} {
		t.Run(dest, func(t *testing.T) {
			f := setup(t)
			f.exec(t, "DROP TABLE items")
			f.exec(t, "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, qty bigint)")
			f.exec(t, "INSERT INTO items SELECT g, 'n'||g, g FROM generate_series(1, 2000) g")
			var dcfg string
			var read func() []row
			var opColumn func() bool
			switch dest {
			case "postgres":
				dst := testutil.Postgres(t)
				dcfg = fmt.Sprintf("{url: %q, schema: %s, table: mirror}", dst.BaseURL, dst.Schema)
				read = func() []row { return pgRows(t, dst.URL, "SELECT id, name, qty FROM mirror ORDER BY id") }
				opColumn = func() bool {
					return len(pgRows(t, dst.URL, "SELECT 1::bigint, column_name::text, 1::bigint FROM information_schema.columns WHERE table_schema = '"+dst.Schema+"' AND column_name = '_op'")) > 0
				}
			case "mysql":
				my := testutil.MySQL(t)
				host, port, _ := net.SplitHostPort(my.Config.Addr)
				dcfg = fmt.Sprintf("{host: %s, port: %s, user: %q, password: %q, database: %s, table: mirror}", host, port, my.Config.User, my.Config.Passwd, my.Database)
				read = func() []row { return myRows(t, my.DSN, "SELECT id, name, qty FROM mirror ORDER BY id") }
				opColumn = func() bool {
					return len(myRows(t, my.DSN, "SELECT 1, column_name, 1 FROM information_schema.columns WHERE table_schema = '"+my.Database+"' AND column_name = '_op'")) > 0
				}
			}
			spec := fmt.Sprintf(`version: 1
name: mirror
sources:
  - id: src
    type: postgres_cdc
    config: {url: %q, slot: %s, tables: [%s.items], max_wait_ms: 20, status_interval: 1}
destinations:
  - id: out
    type: %s
    inputs: [src]
    config: %s
    write: {mode: upsert, key: [id]}
`, f.config["url"], f.slot, f.pg.Schema, dest, dcfg)
			p := plan(t, spec)
			stop := make(chan struct{})
			changed := make(chan error, 1)
			go func() { changed <- changeALot(f.pg.URL) }()
			go func() {
				if err := <-changed; err != nil {
					t.Error(err)
					close(stop)
					return
				}
				want := pgRows(t, f.pg.URL, "SELECT id, name, qty FROM items ORDER BY id")
				deadline := time.Now().Add(60 * time.Second)
				for time.Now().Before(deadline) && !slices.Equal(read(), want) {
					time.Sleep(100 * time.Millisecond) // polls another database: no event to wait on
				}
				close(stop)
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			res, err := engine.Run(ctx, p, engine.Options{Stop: stop, CommitRows: 500, CommitInterval: 100 * time.Millisecond,
				Checkpointer: &runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != engine.Succeeded {
				t.Fatalf("run %s", res.Status)
			}
			want := pgRows(t, f.pg.URL, "SELECT id, name, qty FROM items ORDER BY id")
			got := read()
			if !slices.Equal(got, want) {
				t.Fatalf("the mirror has %d rows, the source %d; first difference: %s", len(got), len(want), firstDiff(got, want))
			}
			if opColumn() {
				t.Error("the destination table has a column _op; the operation field is never written")
			}
			if len(want) < 2000 {
				t.Fatalf("source has %d rows", len(want))
			}
		})
	}
}

// changeALot inserts, updates, deletes and moves keys in many small transactions.
func changeALot(url string) error {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	stmts := []string{
		"INSERT INTO items SELECT g, 'n'||g, g FROM generate_series(2001, 2500) g",
		"UPDATE items SET qty = qty * 10, name = name || '!' WHERE id % 3 = 0",
		"DELETE FROM items WHERE id % 5 = 0",
		"UPDATE items SET id = id + 100000 WHERE id % 7 = 0 AND id < 500",
		"INSERT INTO items VALUES (5, 'back', 55)",
		"DELETE FROM items WHERE id BETWEEN 2400 AND 2450",
		"UPDATE items SET qty = NULL WHERE id % 11 = 0",
	}
	for round := 0; round < 3; round++ {
		for _, s := range stmts {
			if round > 0 && s[0] == 'I' {
				s = "INSERT INTO items SELECT g, 'r'||g, g FROM generate_series(" + fmt.Sprint(3000+round*1000) + ", " + fmt.Sprint(3000+round*1000+300) + ") g ON CONFLICT (id) DO UPDATE SET name = 'dup'"
			}
			if _, err := c.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		for i := 0; i < 50; i++ { // small transactions
			if _, err := c.Exec(ctx, "UPDATE items SET qty = coalesce(qty, 0) + 1 WHERE id = $1", int64(i*13+1)); err != nil {
				return err
			}
		}
	}
	return nil
}

func plan(t *testing.T, spec string) *pipeline.Plan {
	t.Helper()
	cr, err := connector.NewRegistry(postgrescdc.New(), postgres.New(), mysql.New())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pipeline.Parse([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Validate(context.Background(), s, pipeline.Env{Connectors: cr, Transforms: tr})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func pgRows(t *testing.T, url, query string) []row {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Error(err)
		return nil
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, query)
	if err != nil {
		return nil // not created yet
	}
	var out []row
	for rows.Next() {
		var r row
		var qty *int64
		if err := rows.Scan(&r.id, &r.name, &qty); err != nil {
			t.Error(err)
			return nil
		}
		if qty != nil {
			r.qty = *qty
		} else {
			r.qty = -1
		}
		out = append(out, r)
	}
	return out
}

func myRows(t *testing.T, dsn, query string) []row {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Error(err)
		return nil
	}
	defer db.Close()
	rows, err := db.Query(query)
	if err != nil {
		return nil // not created yet
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		var qty sql.NullInt64
		if err := rows.Scan(&r.id, &r.name, &qty); err != nil {
			t.Error(err)
			return nil
		}
		r.qty = -1
		if qty.Valid {
			r.qty = qty.Int64
		}
		out = append(out, r)
	}
	return out
}

func firstDiff(got, want []row) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}
