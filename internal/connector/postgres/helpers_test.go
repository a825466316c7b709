package postgres

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

type env struct {
	pg   testutil.PG
	conn *pgx.Conn
	cfg  map[string]any
}

// setup gives the test its own schema, a connection to it and a connector config pointing at it.
func setup(t *testing.T) *env {
	t.Helper()
	pg := testutil.Postgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return &env{pg: pg, conn: conn, cfg: map[string]any{"url": pg.URL}}
}

func (e *env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := e.conn.Exec(context.Background(), sql, args...); err != nil {
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

// readAll reads every batch; it returns the rows, the reader's schema and the final state.
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

// write writes the batches with one writer and closes it.
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
