package sqltest

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// ReadAll reads every batch of src; it returns the rows, the reader's schema and the final state.
// A batch with rejects fails the test.
func ReadAll(t *testing.T, src connector.Source, cfg map[string]any, req connector.ReadRequest) ([]record.Row, *record.Schema, []byte) {
	t.Helper()
	ctx := context.Background()
	r, err := src.Open(ctx, connector.Env{}, cfg, req)
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

// Write writes the batches with one writer of dst, committing after each, and closes it.
func Write(t *testing.T, dst connector.Destination, cfg map[string]any, req connector.WriteRequest, batches ...*record.Batch) {
	t.Helper()
	ctx := context.Background()
	w, err := dst.OpenWriter(ctx, connector.Env{}, cfg, req)
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

// With is a copy of base with the key/value pairs kv set.
func With(base map[string]any, kv ...any) map[string]any {
	m := make(map[string]any, len(base)+len(kv)/2)
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// BatchOf is a batch of the rows.
func BatchOf(s *record.Schema, rows ...record.Row) *record.Batch {
	return &record.Batch{Schema: s, Rows: rows}
}
