package mysql

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

type env struct {
	my  testutil.MY
	db  *sql.DB
	cfg map[string]any
}

// configOf turns the test database into a connector config.
func configOf(t *testing.T, my testutil.MY) map[string]any {
	t.Helper()
	host, port, err := net.SplitHostPort(my.Config.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return map[string]any{"host": host, "port": p, "user": my.Config.User, "password": my.Config.Passwd, "database": my.Database}
}

// setup gives the test its own database, a handle on it and a connector config.
func setup(t *testing.T) *env {
	t.Helper()
	my := testutil.MySQL(t)
	db, err := sql.Open("mysql", my.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &env{my: my, db: db, cfg: configOf(t, my)}
}

func (e *env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := e.db.Exec(sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (e *env) with(kv ...any) map[string]any {
	m := map[string]any{}
	for k, v := range e.cfg {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func (e *env) strings(t *testing.T, query string) []string {
	t.Helper()
	rows, err := e.db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s.String)
	}
	return out
}

func readAll(t *testing.T, cfg map[string]any, req connector.ReadRequest) ([]record.Row, *record.Schema, []byte) {
	t.Helper()
	ctx := context.Background()
	r, err := New().Open(ctx, connector.Env{}, cfg, req)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer r.Close()
	var rows []record.Row
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		if len(b.Rejects) > 0 {
			t.Fatalf("rejects: %+v", b.Rejects)
		}
		rows = append(rows, b.Rows...)
	}
	st, err := r.State()
	if err != nil {
		t.Fatal(err)
	}
	return rows, r.Schema(), st
}

func write(t *testing.T, cfg map[string]any, req connector.WriteRequest, batches ...*record.Batch) {
	t.Helper()
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{}, cfg, req)
	if err != nil {
		t.Fatalf("open writer: %v", err)
	}
	for _, b := range batches {
		if err := w.Write(ctx, b); err != nil {
			_ = w.Abort(ctx)
			t.Fatalf("write: %v", err)
		}
		if err := w.Commit(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
}

func batchOf(s *record.Schema, rows ...record.Row) *record.Batch {
	return &record.Batch{Schema: s, Rows: rows}
}
