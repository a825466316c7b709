package postgres

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, conformance.Harness{
		Connector: New(),
		NewTarget: func(t *testing.T) conformance.Target {
			pg := testutil.Postgres(t)
			name := "Conformance ✓ \"t\""
			return conformance.Target{
				Source: map[string]any{"url": pg.URL, "schema": pg.Schema, "table": name},
				Dest:   map[string]any{"url": pg.URL},
				Stream: name,
			}
		},
		Kinds: map[record.Kind]conformance.Expect{
			record.KindBool:      conformance.Exact(record.KindBool),
			record.KindInt:       conformance.Exact(record.KindInt),
			record.KindFloat:     conformance.Exact(record.KindFloat),
			record.KindDecimal:   conformance.Exact(record.KindDecimal),
			record.KindString:    conformance.Exact(record.KindString),
			record.KindBytes:     conformance.Exact(record.KindBytes),
			record.KindDate:      conformance.Exact(record.KindDate),
			record.KindTimestamp: conformance.Exact(record.KindTimestamp),
			record.KindJSON:      conformance.Exact(record.KindJSON),
		},
		Crash: func(t *testing.T, w connector.Writer) {
			crash(t, w)
		},
		BadConfigs: []conformance.BadConfig{
			{Name: "missing table", Config: func(tg conformance.Target) map[string]any {
				return map[string]any{"url": tg.Source["url"], "table": "no_such_table"}
			}, Want: `table "no_such_table" not found`},
			{Name: "refused port", Config: func(tg conformance.Target) map[string]any {
				return map[string]any{"host": "127.0.0.1", "port": testutil.FreePort(t)}
			}, Want: "connection refused"},
		},
	})
}

// crash drops the writer's connection without committing, as a dying process would.
func crash(t *testing.T, w connector.Writer) {
	t.Helper()
	pw, ok := w.(*writer)
	if !ok {
		t.Fatalf("crash: %T is not the postgres writer", w)
	}
	c := pw.conn.Hijack()
	pw.conn, pw.tx = nil, nil
	_ = c.Close(t.Context())
	pw.pool.Close()
}
