package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit/sqltest"
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

func (e *env) with(kv ...any) map[string]any { return sqltest.With(e.cfg, kv...) }

// readAll reads every batch; it returns the rows, the reader's schema and the final state.
func readAll(t *testing.T, cfg map[string]any, req connector.ReadRequest) ([]record.Row, *record.Schema, []byte) {
	t.Helper()
	return sqltest.ReadAll(t, New(), cfg, req)
}

// write writes the batches with one writer and closes it.
func write(t *testing.T, cfg map[string]any, req connector.WriteRequest, batches ...*record.Batch) {
	t.Helper()
	sqltest.Write(t, New(), cfg, req, batches...)
}

func batchOf(s *record.Schema, rows ...record.Row) *record.Batch { return sqltest.BatchOf(s, rows...) }
