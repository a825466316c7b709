package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// runner holds the harness and what the connector implements.
type runner struct {
	h    Harness
	spec connector.Spec
	src  connector.Source
	dst  connector.Destination
}

func (r *runner) canWrite() bool { return r.dst != nil || r.h.Seed != nil }
func (r *runner) canRead() bool  { return r.src != nil || r.h.Fetch != nil }

func runID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "conf-" + hex.EncodeToString(b[:])
}

func batchOf(s *record.Schema, rows []record.Row) *record.Batch {
	b := record.NewBatch(s, len(rows))
	for i, row := range rows {
		b.Rows = append(b.Rows, slices.Clone(row))
		b.Pos = append(b.Pos, int64(i+1))
	}
	return b
}

// openWriter opens a writer on the target; failures are fatal.
func (r *runner) openWriter(t *testing.T, ctx context.Context, tg Target, req connector.WriteRequest) connector.Writer {
	t.Helper()
	if req.Stream == "" {
		req.Stream = tg.Stream
	}
	if req.RunID == "" {
		req.RunID = runID()
	}
	if req.Key == nil {
		req.Key = []string{"id"}
	}
	w, err := r.dst.OpenWriter(ctx, tg.Env, tg.Dest, req)
	if err != nil {
		t.Fatalf("OpenWriter(mode %s): %v", req.Mode, err)
	}
	return w
}

// writeBatches writes rows in batches of the harness batch size.
func (r *runner) writeBatches(t *testing.T, ctx context.Context, w connector.Writer, s *record.Schema, rows []record.Row) {
	t.Helper()
	for start := 0; start < len(rows); start += r.h.BatchSize {
		end := min(start+r.h.BatchSize, len(rows))
		if err := w.Write(ctx, batchOf(s, rows[start:end])); err != nil {
			t.Fatalf("Write rows %d..%d: %v", start, end-1, err)
		}
	}
}

// put writes rows into the target with the mode and closes the writer (or seeds, for a source-only connector).
func (r *runner) put(t *testing.T, tg Target, mode connector.WriteMode, s *record.Schema, rows []record.Row) {
	t.Helper()
	ctx := t.Context()
	if r.dst == nil {
		r.h.Seed(t, tg, s, rows)
		return
	}
	if !slices.Contains(r.spec.WriteModes, mode) {
		mode = r.spec.WriteModes[0]
	}
	w := r.openWriter(t, ctx, tg, connector.WriteRequest{Mode: mode, Schema: s})
	r.writeBatches(t, ctx, w, s, rows)
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func (r *runner) readRequest(tg Target, s *record.Schema) connector.ReadRequest {
	req := connector.ReadRequest{Stream: tg.Stream, Mode: connector.FullRefresh, BatchSize: r.h.BatchSize}
	if r.h.TypedRead && s != nil {
		req.Overrides = make(map[string]record.Kind, len(s.Fields))
		for _, f := range s.Fields {
			req.Overrides[f.Name] = f.Kind
		}
	}
	return req
}

// readStats describes how a read arrived.
type readStats struct {
	batches  int
	maxBatch int
}

// drain reads a reader to io.EOF, checking batch shape; rows are the reader's (owned by the caller).
func (r *runner) drain(t *testing.T, ctx context.Context, rd connector.Reader) (*record.Schema, []record.Row, readStats) {
	t.Helper()
	var rows []record.Row
	var st readStats
	schema := rd.Schema()
	for {
		b, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			if b != nil && b.Len() > 0 {
				t.Fatalf("Next returned %d rows together with io.EOF; return them first, then io.EOF", b.Len())
			}
			break
		}
		if err != nil {
			t.Fatalf("Next after %d rows: %v", len(rows), err)
		}
		if b == nil {
			t.Fatalf("Next returned a nil batch and no error after %d rows", len(rows))
		}
		if len(b.Rejects) > 0 {
			t.Fatalf("Next rejected %d rows of valid input; first: %+v", len(b.Rejects), b.Rejects[0])
		}
		if b.Len() == 0 {
			continue
		}
		if b.Schema == nil || (schema != nil && !b.Schema.Equal(schema)) {
			t.Fatalf("batch schema %v differs from Reader.Schema %v", b.Schema, schema)
		}
		for _, row := range b.Rows {
			if len(row) != len(b.Schema.Fields) {
				t.Fatalf("row of %d values in a schema of %d fields", len(row), len(b.Schema.Fields))
			}
		}
		schema = b.Schema
		st.batches++
		st.maxBatch = max(st.maxBatch, b.Len())
		rows = append(rows, b.Rows...)
	}
	return schema, rows, st
}

// get reads everything in the target back (through the source, or Fetch).
func (r *runner) get(t *testing.T, tg Target, written *record.Schema) (*record.Schema, []record.Row, readStats) {
	t.Helper()
	if r.src == nil {
		s, rows := r.h.Fetch(t, tg)
		return s, rows, readStats{}
	}
	ctx := t.Context()
	rd, err := r.src.Open(ctx, tg.Env, tg.Source, r.readRequest(tg, written))
	if err != nil {
		t.Fatalf("Open source: %v", err)
	}
	defer func() {
		if err := rd.Close(); err != nil {
			t.Errorf("Reader.Close: %v", err)
		}
	}()
	s, rows, st := r.drain(t, ctx, rd)
	return s, rows, st
}

// project returns the rows' values for the named fields of s (fields the schema lacks fail the test).
func project(t *testing.T, s *record.Schema, rows []record.Row, names []string) []record.Row {
	t.Helper()
	idx := make([]int, len(names))
	for i, n := range names {
		idx[i] = s.Index(n)
		if idx[i] < 0 {
			t.Fatalf("read schema lacks field %q (has: %s)", n, strings.Join(s.Names(), ", "))
		}
	}
	out := make([]record.Row, len(rows))
	for i, row := range rows {
		p := make(record.Row, len(idx))
		for j, k := range idx {
			p[j] = row[k]
		}
		out[i] = p
	}
	return out
}

// sortByID sorts rows by their first value (the id).
func sortByID(rows []record.Row) {
	slices.SortStableFunc(rows, func(a, b record.Row) int { return record.Compare(a[0], b[0]) })
}

// compareRows checks got against want field by field; names label the columns.
func compareRows(t *testing.T, names []string, want, got []record.Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("read %d rows, want %d", len(got), len(want))
	}
	bad := 0
	for i := range min(len(got), len(want)) {
		for j := range names {
			if !got[i][j].Equal(want[i][j]) {
				t.Errorf("row %d (id %s) field %q: got %s %q, want %s %q", i, want[i][0].String(), names[j],
					got[i][j].Kind(), got[i][j].String(), want[i][j].Kind(), want[i][j].String())
				bad++
			}
		}
		if bad > 20 {
			t.Fatalf("too many differences; stopping")
		}
	}
}

// checkIDs checks that rows hold exactly the ids from..to (in order, unless unordered).
func (r *runner) checkIDs(t *testing.T, s *record.Schema, rows []record.Row, from, to int64) {
	t.Helper()
	ids := project(t, s, rows, []string{"id"})
	if r.h.Unordered {
		sortByID(ids)
	}
	if n := to - from + 1; int64(len(ids)) != n {
		t.Fatalf("read %d rows, want %d (ids %d..%d)", len(ids), n, from, to)
	}
	for i, row := range ids {
		id, err := record.Cast(row[0], record.KindInt)
		if err != nil || id.AsInt() != from+int64(i) {
			t.Fatalf("row %d has id %s, want %d (rows lost, duplicated or out of order)", i, row[0].String(), from+int64(i))
		}
	}
}

// stateJSON checks that a state is valid JSON (or nil).
func stateJSON(t *testing.T, st json.RawMessage) {
	t.Helper()
	if len(st) > 0 && !json.Valid(st) {
		t.Fatalf("State is not valid JSON: %q", st)
	}
}

func describe(err error) string {
	if err == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%v (%T)", err, err)
}
