package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Run runs the whole suite against the harness's connector, one subtest per case.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if err := h.defaults(); err != nil {
		t.Fatal(err)
	}
	r := &runner{h: h, spec: h.Connector.Spec()}
	r.src, _ = h.Connector.(connector.Source)
	r.dst, _ = h.Connector.(connector.Destination)
	if !r.spec.Source {
		r.src = nil
	}
	if !r.spec.Destination {
		r.dst = nil
	}

	t.Run("Spec", r.testSpec)
	if !r.canWrite() || !r.canRead() {
		t.Fatalf("connector %q cannot both put and get rows: a source-only connector needs Harness.Seed, a destination-only one Harness.Fetch", r.spec.Name)
	}
	t.Run("RoundTrip", r.testRoundTrip)
	t.Run("UnsupportedKinds", r.testUnsupportedKinds)
	t.Run("EmptyStream", r.testEmpty)
	t.Run("Check", r.testCheck)
	t.Run("Discover", r.testDiscover)
	if r.src != nil {
		t.Run("LargeStream", r.testLarge)
		t.Run("Cancel", r.testCancel)
		t.Run("ResumeRead", r.testResumeRead)
	}
	if r.dst != nil {
		t.Run("WriteModes", r.testWriteModes)
		t.Run("ResumeWrite", r.testResumeWrite)
	}
}

func (r *runner) testSpec(t *testing.T) {
	s := r.spec
	if s.Name == "" || s.Title == "" {
		t.Errorf("spec needs a Name and a Title, got %q / %q", s.Name, s.Title)
	}
	if !s.Source && !s.Destination {
		t.Errorf("spec %q is neither a source nor a destination", s.Name)
	}
	if _, ok := r.h.Connector.(connector.Source); ok != s.Source {
		t.Errorf("spec.Source = %v but implements connector.Source = %v", s.Source, ok)
	}
	if _, ok := r.h.Connector.(connector.Destination); ok != s.Destination {
		t.Errorf("spec.Destination = %v but implements connector.Destination = %v", s.Destination, ok)
	}
	if s.Destination && len(s.WriteModes) == 0 {
		t.Errorf("destination %q declares no write modes", s.Name)
	}
	for _, m := range s.WriteModes {
		if m != connector.Append && m != connector.Overwrite && m != connector.Upsert {
			t.Errorf("unknown write mode %q", m)
		}
	}
	if len(s.Config.Params) == 0 {
		t.Errorf("spec %q has no config parameters", s.Name)
	}
	if _, err := json.Marshal(s.Config.JSONSchema()); err != nil {
		t.Errorf("config JSON Schema does not encode: %v", err)
	}
	for _, p := range s.Config.Params {
		if p.Description == "" {
			t.Errorf("config parameter %q has no description", p.Name)
		}
	}
}

// kindField names the round-trip column of a kind.
func kindField(k record.Kind) string { return "c_" + k.String() }

func mustTime(s string) time.Time {
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return ts
}

// sampleValues are the values of each kind written in the round trip, one per value row.
func sampleValues() map[record.Kind][]record.Value {
	day := func(s string) record.Value { return record.Date(mustTime(s + "T00:00:00Z")) }
	ts := func(s string) record.Value { return record.Timestamp(mustTime(s)) }
	return map[record.Kind][]record.Value{
		record.KindBool:    {record.Bool(true), record.Bool(false), record.Bool(true)},
		record.KindInt:     {record.Int(42), record.Int(-9223372036854775808), record.Int(9223372036854775807)},
		record.KindFloat:   {record.Float(3.25), record.Float(-5e-08), record.Float(1e300)},
		record.KindDecimal: {record.MustDecimal("12345678901234567890.0123456789"), record.MustDecimal("-0.5"), record.MustDecimal("0.000001")},
		record.KindString:  {record.String("hello"), record.String(""), record.String(" Grüße, \"quoted\";\nline2\ttab ✓ 日本語 🎉 ")},
		record.KindBytes:   {record.Bytes([]byte{0, 1, 2, 0xfe, 0xff}), record.Bytes([]byte{}), record.Bytes([]byte("\x00\n,\"'\\"))},
		record.KindDate:    {day("2024-02-29"), day("1969-07-20"), day("1900-01-01")},
		record.KindTimestamp: {ts("2024-03-01T12:34:56.123456Z"), ts("1955-11-05T06:15:00Z"),
			ts("1900-01-01T00:00:00.000001Z")},
		record.KindJSON: {record.JSON(`{"a":1,"b":[true,null,"x\u00e9"]}`), record.JSON(`[]`), record.JSON(`"str"`)},
	}
}

// roundTripData builds the round-trip schema and rows for the kinds the destination supports: an id,
// one column per kind, three rows of values and a fourth row of NULLs.
func (r *runner) roundTripData() (*record.Schema, []record.Row, []Expect) {
	fields := []record.Field{{Name: "id", Kind: record.KindInt}}
	expects := []Expect{r.h.Kinds[record.KindInt]}
	var kinds []record.Kind
	for _, k := range record.Kinds() {
		if k == record.KindNull || r.h.Kinds[k].Unsupported != "" {
			continue
		}
		kinds = append(kinds, k)
		fields = append(fields, record.Field{Name: kindField(k), Kind: k, Nullable: true})
		expects = append(expects, r.h.Kinds[k])
	}
	s := record.MustSchema(fields...)
	samples := sampleValues()
	rows := make([]record.Row, 4)
	for i := range rows {
		row := make(record.Row, len(fields))
		row[0] = record.Int(int64(i + 1))
		for j, k := range kinds {
			if i < 3 {
				row[j+1] = samples[k][i]
			}
		}
		rows[i] = row
	}
	return s, rows, expects
}

func expectedRows(t *testing.T, rows []record.Row, expects []Expect, names []string) []record.Row {
	t.Helper()
	out := make([]record.Row, len(rows))
	for i, row := range rows {
		o := make(record.Row, len(row))
		for j, v := range row {
			e, err := expects[j].expected(v)
			if err != nil {
				t.Fatalf("harness Expect for field %q cannot convert %q: %v", names[j], v.String(), err)
			}
			o[j] = e
		}
		out[i] = o
	}
	return out
}

func (r *runner) testRoundTrip(t *testing.T) {
	tg := r.h.NewTarget(t)
	s, rows, expects := r.roundTripData()
	r.put(t, tg, connector.Append, s, rows)
	gotSchema, got, _ := r.get(t, tg, s)
	if gotSchema == nil {
		t.Fatal("read returned no schema")
	}
	names := s.Names()
	if !r.h.TypedRead {
		for j, n := range names {
			f, ok := gotSchema.Field(n)
			if !ok {
				t.Fatalf("read schema lacks field %q (has: %s)", n, strings.Join(gotSchema.Names(), ", "))
			}
			if f.Kind != expects[j].Kind {
				t.Errorf("field %q read as %s, harness declares %s", n, f.Kind, expects[j].Kind)
			}
		}
	}
	got = project(t, gotSchema, got, names)
	if r.h.Unordered {
		sortByID(got)
	}
	compareRows(t, names, expectedRows(t, rows, expects, names), got)
}

func (r *runner) testUnsupportedKinds(t *testing.T) {
	for _, k := range record.Kinds() {
		e := r.h.Kinds[k]
		if k == record.KindNull || e.Unsupported == "" {
			continue
		}
		if r.dst == nil {
			t.Fatalf("kind %s declared unsupported, but only a destination can refuse a kind", k)
		}
		t.Run(k.String(), func(t *testing.T) {
			tg := r.h.NewTarget(t)
			name := kindField(k)
			s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: name, Kind: k, Nullable: true})
			v := sampleValues()[k][0]
			err := r.tryWrite(t, tg, s, []record.Row{{record.Int(1), v}})
			if err == nil {
				t.Fatalf("writing a %s field succeeded; the harness declares it unsupported (%s)", k, e.Unsupported)
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error for unsupported kind %s does not name the field %q: %v", k, name, err)
			}
		})
	}
}

// tryWrite writes rows in append mode and returns the first error of open, write, commit or close.
func (r *runner) tryWrite(t *testing.T, tg Target, s *record.Schema, rows []record.Row) error {
	ctx := t.Context()
	w, err := r.dst.OpenWriter(ctx, tg.Env, tg.Dest, connector.WriteRequest{Stream: tg.Stream, Mode: connector.Append, Key: []string{"id"}, Schema: s, RunID: runID()})
	if err != nil {
		return err
	}
	if err := w.Write(ctx, batchOf(s, rows)); err != nil {
		_ = w.Abort(ctx)
		return err
	}
	if err := w.Commit(ctx); err != nil {
		_ = w.Abort(ctx)
		return err
	}
	return w.Close(ctx)
}

func (r *runner) testEmpty(t *testing.T) {
	tg := r.h.NewTarget(t)
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString, Nullable: true})
	r.put(t, tg, connector.Append, s, nil)
	_, rows, _ := r.get(t, tg, s)
	if len(rows) != 0 {
		t.Fatalf("empty stream read back %d rows", len(rows))
	}
}

// seqData is a stream of n rows with ids from..from+n-1.
func seqData(from int64, n int) (*record.Schema, []record.Row) {
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString, Nullable: true})
	vals := make([]record.Value, 2*n)
	rows := make([]record.Row, n)
	for i := range rows {
		id := from + int64(i)
		row := record.Row(vals[2*i : 2*i+2 : 2*i+2])
		row[0] = record.Int(id)
		row[1] = record.String(fmt.Sprintf("name %d, \"quoted\"", id))
		rows[i] = row
	}
	return s, rows
}

func (r *runner) testLarge(t *testing.T) {
	tg := r.h.NewTarget(t)
	s, rows := seqData(1, r.h.LargeRows)
	r.put(t, tg, connector.Append, s, rows)
	gs, got, st := r.get(t, tg, s)
	r.checkIDs(t, gs, got, 1, int64(r.h.LargeRows))
	if st.maxBatch > r.h.BatchSize {
		t.Errorf("a batch held %d rows; asked for at most %d (memory must stay bounded)", st.maxBatch, r.h.BatchSize)
	}
	if minBatches := (r.h.LargeRows + r.h.BatchSize - 1) / r.h.BatchSize; st.batches < minBatches {
		t.Errorf("read %d rows in %d batches; want at least %d batches of at most %d rows", len(got), st.batches, minBatches, r.h.BatchSize)
	}
	want := project(t, s, rows, []string{"name"})
	gotNames := project(t, gs, got, []string{"id", "name"})
	if r.h.Unordered {
		sortByID(gotNames)
	}
	for i := range want {
		if !gotNames[i][1].Equal(want[i][0]) {
			t.Fatalf("row %d: name %q, want %q", i, gotNames[i][1].String(), want[i][0].String())
		}
	}
}

func (r *runner) mediumRows() int { return 10*r.h.BatchSize + 7 }

func (r *runner) testCancel(t *testing.T) {
	tg := r.h.NewTarget(t)
	s, rows := seqData(1, r.mediumRows())
	r.put(t, tg, connector.Append, s, rows)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rd, err := r.src.Open(ctx, tg.Env, tg.Source, r.readRequest(tg, s))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rd.Close()
	b, err := rd.Next(ctx)
	if err != nil || b.Len() == 0 {
		t.Fatalf("first Next: %d rows, err %v", b.Len(), err)
	}
	cancel()
	type result struct {
		rows int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		b, err := rd.Next(ctx)
		done <- result{b.Len(), err}
	}()
	select {
	case res := <-done:
		if !errors.Is(res.err, context.Canceled) {
			t.Fatalf("Next after cancel returned %d rows and %s; want an error wrapping context.Canceled", res.rows, describe(res.err))
		}
	case <-time.After(r.h.Timeout):
		t.Fatalf("Next did not return within %v of the context being cancelled", r.h.Timeout)
	}
}

func (r *runner) testResumeRead(t *testing.T) {
	tg := r.h.NewTarget(t)
	n := r.mediumRows()
	s, rows := seqData(1, n)
	r.put(t, tg, connector.Append, s, rows)
	ctx := t.Context()
	req := r.readRequest(tg, s)

	rd, err := r.src.Open(ctx, tg.Env, tg.Source, req)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var first []record.Row
	schema := rd.Schema()
	for range 3 {
		b, err := rd.Next(ctx)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		schema = b.Schema
		first = append(first, b.Rows...)
	}
	state, err := rd.State()
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	stateJSON(t, state)
	if err := rd.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	req.State = state
	rd2, err := r.src.Open(ctx, tg.Env, tg.Source, req)
	if err != nil {
		t.Fatalf("Open with state %s: %v", state, err)
	}
	s2, rest, _ := r.drain(t, ctx, rd2)
	final, err := rd2.State()
	if err != nil {
		t.Fatalf("State at the end: %v", err)
	}
	if err := rd2.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	all := append(project(t, schema, first, []string{"id"}), project(t, s2, rest, []string{"id"})...)
	r.checkIDs(t, record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}), all, 1, int64(n))

	// Resuming from the state after the last batch reads nothing more.
	req.State = final
	rd3, err := r.src.Open(ctx, tg.Env, tg.Source, req)
	if err != nil {
		t.Fatalf("Open with the final state %s: %v", final, err)
	}
	defer rd3.Close()
	if _, more, _ := r.drain(t, ctx, rd3); len(more) != 0 {
		t.Fatalf("resuming from the final state read %d rows again", len(more))
	}
}

func (r *runner) hasMode(m connector.WriteMode) bool { return slices.Contains(r.spec.WriteModes, m) }

func (r *runner) testWriteModes(t *testing.T) {
	for _, m := range []connector.WriteMode{connector.Append, connector.Overwrite, connector.Upsert} {
		if r.hasMode(m) {
			continue
		}
		t.Run("refuses_"+string(m), func(t *testing.T) {
			tg := r.h.NewTarget(t)
			s, _ := seqData(1, 0)
			w, err := r.dst.OpenWriter(t.Context(), tg.Env, tg.Dest, connector.WriteRequest{Stream: tg.Stream, Mode: m, Key: []string{"id"}, Schema: s, RunID: runID()})
			if err == nil {
				_ = w.Abort(t.Context())
				t.Fatalf("OpenWriter accepted undeclared mode %s", m)
			}
			if !errors.Is(err, connector.ErrUnsupported) {
				t.Fatalf("OpenWriter(%s) = %s; want an error wrapping connector.ErrUnsupported", m, describe(err))
			}
		})
	}
	if r.hasMode(connector.Append) {
		t.Run("append", r.testAppend)
	}
	if r.hasMode(connector.Overwrite) {
		t.Run("overwrite", r.testOverwrite)
	}
	if r.hasMode(connector.Upsert) {
		t.Run("upsert", r.testUpsert)
	}
}

func (r *runner) testAppend(t *testing.T) {
	ctx := t.Context()
	tg := r.h.NewTarget(t)
	s, a := seqData(1, 5)
	r.put(t, tg, connector.Append, s, a)
	_, b := seqData(6, 5)
	r.put(t, tg, connector.Append, s, b)
	gs, got, _ := r.get(t, tg, s)
	r.checkIDs(t, gs, got, 1, 10)

	// Abort keeps what was committed and drops what was not.
	w := r.openWriter(t, ctx, tg, connector.WriteRequest{Mode: connector.Append, Schema: s})
	_, c := seqData(11, 3)
	r.writeBatches(t, ctx, w, s, c)
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	_, d := seqData(14, 3)
	r.writeBatches(t, ctx, w, s, d)
	if err := w.Abort(ctx); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	gs, got, _ = r.get(t, tg, s)
	r.checkIDs(t, gs, got, 1, 13)
}

func (r *runner) testOverwrite(t *testing.T) {
	ctx := t.Context()
	tg := r.h.NewTarget(t)
	s, a := seqData(1, 5)
	r.put(t, tg, connector.Overwrite, s, a)

	// Until Close, readers see the old data; Close swaps in the new.
	w := r.openWriter(t, ctx, tg, connector.WriteRequest{Mode: connector.Overwrite, Schema: s})
	_, b := seqData(101, 4)
	r.writeBatches(t, ctx, w, s, b)
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	gs, got, _ := r.get(t, tg, s)
	r.checkIDs(t, gs, got, 1, 5)
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	gs, got, _ = r.get(t, tg, s)
	r.checkIDs(t, gs, got, 101, 104)

	// Abort leaves the old data intact, even after a Commit.
	w = r.openWriter(t, ctx, tg, connector.WriteRequest{Mode: connector.Overwrite, Schema: s})
	_, c := seqData(201, 3)
	r.writeBatches(t, ctx, w, s, c)
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	gs, got, _ = r.get(t, tg, s)
	r.checkIDs(t, gs, got, 101, 104)

	// Overwriting with nothing leaves an empty target.
	r.put(t, tg, connector.Overwrite, s, nil)
	if _, got, _ := r.get(t, tg, s); len(got) != 0 {
		t.Fatalf("overwrite with no rows left %d rows", len(got))
	}
}

func (r *runner) testUpsert(t *testing.T) {
	tg := r.h.NewTarget(t)
	s, a := seqData(1, 5)
	r.put(t, tg, connector.Upsert, s, a)
	b := []record.Row{{record.Int(3), record.String("three, updated")}, {record.Int(6), record.String("six")}}
	r.put(t, tg, connector.Upsert, s, b)
	gs, got, _ := r.get(t, tg, s)
	got = project(t, gs, got, []string{"id", "name"})
	sortByID(got)
	want := slices.Clone(a)
	want[2] = b[0]
	want = append(want, b[1])
	compareRows(t, []string{"id", "name"}, want, got)
}

// testResumeWrite kills a writer after commits and resumes it with the same run id: every row must be
// there exactly once, and nothing written after the resumed-from commit may survive.
func (r *runner) testResumeWrite(t *testing.T) {
	for _, m := range []connector.WriteMode{connector.Append, connector.Overwrite} {
		if !r.hasMode(m) {
			continue
		}
		t.Run(string(m), func(t *testing.T) {
			ctx := t.Context()
			tg := r.h.NewTarget(t)
			s, old := seqData(1, 3)
			r.put(t, tg, connector.Append, s, old)
			run := runID()
			w := r.openWriter(t, ctx, tg, connector.WriteRequest{Mode: m, Schema: s, RunID: run})
			rw, resumable := w.(connector.ResumableWriter)
			commit := func(rows []record.Row) json.RawMessage {
				r.writeBatches(t, ctx, w, s, rows)
				if err := w.Commit(ctx); err != nil {
					t.Fatalf("Commit: %v", err)
				}
				if !resumable {
					return nil
				}
				tok, err := rw.CommitState()
				if err != nil {
					t.Fatalf("CommitState: %v", err)
				}
				stateJSON(t, tok)
				return tok
			}
			_, b1 := seqData(101, 3)
			_, b2 := seqData(104, 3)
			_, b3 := seqData(107, 3)
			_, rest := seqData(110, 4)
			tok1 := commit(b1)
			commit(b2) // committed, but (for a ResumableWriter) the checkpoint was never saved
			r.writeBatches(t, ctx, w, s, b3)
			if r.h.Crash != nil {
				r.h.Crash(t, w)
			}

			w2 := r.openWriter(t, ctx, tg, connector.WriteRequest{Mode: m, Schema: s, RunID: run, Resume: true})
			var again []record.Row
			if rw2, ok := w2.(connector.ResumableWriter); ok && resumable {
				if err := rw2.ResumeAt(ctx, tok1); err != nil {
					t.Fatalf("ResumeAt: %v", err)
				}
				again = slices.Concat(b2, b3, rest)
			} else {
				again = slices.Concat(b3, rest)
			}
			r.writeBatches(t, ctx, w2, s, again)
			if err := w2.Commit(ctx); err != nil {
				t.Fatalf("Commit after resume: %v", err)
			}
			if err := w2.Close(ctx); err != nil {
				t.Fatalf("Close after resume: %v", err)
			}
			gs, got, _ := r.get(t, tg, s)
			if m == connector.Append {
				ids := project(t, gs, got, []string{"id"})
				if r.h.Unordered {
					sortByID(ids)
				}
				if len(ids) < 3 {
					t.Fatalf("append resume lost the old rows: %d rows", len(ids))
				}
				r.checkIDs(t, gs, got[:3], 1, 3)
				got = got[3:]
			}
			r.checkIDs(t, gs, got, 101, 113)
		})
	}
}

func (r *runner) testCheck(t *testing.T) {
	ch, ok := r.h.Connector.(connector.Checker)
	if !ok {
		t.Fatalf("connector %q does not implement connector.Checker", r.spec.Name)
	}
	ctx := t.Context()
	tg := r.h.NewTarget(t)
	if r.dst != nil {
		if err := ch.Check(ctx, tg.Env, tg.Dest); err != nil {
			t.Errorf("Check(destination config of a fresh target): %v", err)
		}
	}
	s, rows := seqData(1, 3)
	r.put(t, tg, connector.Append, s, rows)
	if r.src != nil {
		if err := ch.Check(ctx, tg.Env, tg.Source); err != nil {
			t.Errorf("Check(source config after writing): %v", err)
		}
	}
	bad := make(map[string]any, len(tg.Source)+1)
	for k, v := range tg.Source {
		bad[k] = v
	}
	bad["no_such_option"] = true
	err := ch.Check(ctx, tg.Env, bad)
	if err == nil || !errors.Is(err, connector.ErrConfig) || !strings.Contains(err.Error(), "no_such_option") {
		t.Errorf("Check(config with an unknown key) = %s; want a connector.ErrConfig naming no_such_option", describe(err))
	}
	for _, bc := range r.h.BadConfigs {
		t.Run(bc.Name, func(t *testing.T) {
			err := ch.Check(ctx, tg.Env, bc.Config(tg))
			if err == nil {
				t.Fatalf("Check accepted a bad config")
			}
			if !strings.Contains(err.Error(), bc.Want) {
				t.Fatalf("Check error %q does not contain %q", err, bc.Want)
			}
		})
	}
}

func (r *runner) testDiscover(t *testing.T) {
	d, ok := r.h.Connector.(connector.Discoverer)
	if !ok {
		if r.src != nil {
			t.Fatalf("source %q does not implement connector.Discoverer", r.spec.Name)
		}
		return
	}
	tg := r.h.NewTarget(t)
	s, rows, expects := r.roundTripData()
	r.put(t, tg, connector.Append, s, rows)
	cat, err := d.Discover(t.Context(), tg.Env, tg.Source)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if cat == nil || len(cat.Streams) == 0 {
		t.Fatal("Discover found no stream")
	}
	st := cat.Streams[0]
	if tg.Stream != "" {
		i := slices.IndexFunc(cat.Streams, func(s connector.Stream) bool { return s.Name == tg.Stream })
		if i < 0 {
			t.Fatalf("Discover did not list stream %q", tg.Stream)
		}
		st = cat.Streams[i]
	}
	if st.Name == "" || st.Schema == nil {
		t.Fatalf("stream without a name or schema: %+v", st)
	}
	for j, f := range s.Fields {
		got, ok := st.Schema.Field(f.Name)
		if !ok {
			t.Errorf("discovered schema lacks field %q (has: %s)", f.Name, strings.Join(st.Schema.Names(), ", "))
			continue
		}
		if !r.h.TypedRead && got.Kind != expects[j].Kind {
			t.Errorf("discovered field %q as %s, harness declares %s", f.Name, got.Kind, expects[j].Kind)
		}
	}
	if _, err := json.Marshal(cat); err != nil {
		t.Errorf("catalog does not encode as JSON: %v", err)
	}
}
