package conformance_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// memConn is an in-memory connector: tables of typed rows. It is the suite's own subject (it must pass)
// and, with a fault switched on, the proof that the suite catches that fault.
type memConn struct {
	fault string
	mu    sync.Mutex
	data  map[string]*table
	stage map[string]*staging
}

type table struct {
	schema *record.Schema
	rows   []record.Row
}

type staging struct {
	base int // append: rows in the table before this run
	rows []record.Row
	n    int // rows committed
}

func newMem(fault string) *memConn {
	return &memConn{fault: fault, data: map[string]*table{}, stage: map[string]*staging{}}
}

type memConfig struct {
	Table string
}

var memSpec = configspec.Describe(func(c *memConfig, b *configspec.Builder) {
	b.String(&c.Table, "table").Required().Min(1).Doc("Table name.")
})

func (m *memConn) Spec() connector.Spec {
	return connector.Spec{Name: "memory", Title: "Memory", Category: "test", Source: true, Destination: true,
		WriteModes: []connector.WriteMode{connector.Append, connector.Overwrite, connector.Upsert}, Config: memSpec}
}

func (m *memConn) decode(raw map[string]any) (memConfig, error) {
	var c memConfig
	if err := connector.DecodeConfig(m.Spec(), raw, &c); err != nil {
		return c, err
	}
	return c, nil
}

func (m *memConn) Check(_ context.Context, _ connector.Env, raw map[string]any) error {
	_, err := m.decode(raw)
	return err
}

func (m *memConn) Discover(_ context.Context, _ connector.Env, raw map[string]any) (*connector.Catalog, error) {
	c, err := m.decode(raw)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.data[c.Table]
	if !ok {
		return nil, fmt.Errorf("table %q: %w", c.Table, connector.ErrNotFound)
	}
	return &connector.Catalog{Streams: []connector.Stream{{Name: c.Table, Kind: "table", Schema: t.schema, PrimaryKey: []string{"id"}}}}, nil
}

func (m *memConn) Open(_ context.Context, _ connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	c, err := m.decode(raw)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	t, ok := m.data[c.Table]
	var rows []record.Row
	if ok {
		rows = slices.Clone(t.rows)
	}
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("table %q: %w", c.Table, connector.ErrNotFound)
	}
	r := &memReader{m: m, schema: t.schema, rows: rows, size: req.BatchSize}
	if r.size <= 0 || m.fault == "ignore_batch_size" {
		r.size = len(rows) + 1
	}
	if len(req.State) > 0 {
		var st struct{ Offset int }
		if err := json.Unmarshal(req.State, &st); err != nil {
			return nil, err
		}
		r.off = st.Offset
	}
	return r, nil
}

type memReader struct {
	m      *memConn
	schema *record.Schema
	rows   []record.Row
	off    int
	size   int
}

func (r *memReader) Schema() *record.Schema { return r.schema }
func (r *memReader) Next(ctx context.Context) (*record.Batch, error) {
	if r.m.fault != "ignore_cancel" {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if r.off >= len(r.rows) {
		return nil, io.EOF
	}
	end := min(r.off+r.size, len(r.rows))
	b := record.NewBatch(r.schema, end-r.off)
	for _, row := range r.rows[r.off:end] {
		b.Rows = append(b.Rows, slices.Clone(row))
	}
	r.off = end
	return b, nil
}
func (r *memReader) State() (json.RawMessage, error) {
	off := r.off
	if r.m.fault == "stale_state" {
		off = 0
	}
	return json.Marshal(map[string]int{"offset": off})
}
func (r *memReader) Close() error { return nil }

func (m *memConn) OpenWriter(_ context.Context, _ connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	c, err := m.decode(raw)
	if err != nil {
		return nil, err
	}
	for _, f := range req.Schema.Fields {
		if f.Kind == record.KindJSON && m.fault == "refuse_json" {
			return nil, fmt.Errorf("field %s: json is not supported", f.Name)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.data[c.Table]
	if !ok {
		t = &table{schema: req.Schema}
		m.data[c.Table] = t
	}
	st := m.stage[req.RunID]
	if st == nil || !req.Resume {
		st = &staging{base: len(t.rows)}
		m.stage[req.RunID] = st
	}
	st.rows = st.rows[:st.n] // what was not committed is gone
	if req.Mode == connector.Append {
		t.rows = t.rows[:st.base+st.n]
	}
	return &memWriter{m: m, t: t, st: st, mode: req.Mode, run: req.RunID, schema: req.Schema}, nil
}

type memWriter struct {
	m      *memConn
	t      *table
	st     *staging
	mode   connector.WriteMode
	run    string
	schema *record.Schema
}

func (w *memWriter) Write(ctx context.Context, b *record.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, row := range b.Rows {
		row = slices.Clone(row)
		if w.m.fault == "lose_nulls" {
			for i, v := range row {
				if v.IsNull() {
					row[i] = record.String("")
				}
			}
		}
		w.st.rows = append(w.st.rows, row)
	}
	return nil
}

func (w *memWriter) Commit(context.Context) error {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	switch {
	case w.mode == connector.Append:
		w.t.rows = append(w.t.rows[:w.st.base+w.st.n], w.st.rows[w.st.n:]...)
	case w.mode == connector.Upsert:
		for _, row := range w.st.rows[w.st.n:] {
			i := slices.IndexFunc(w.t.rows, func(r record.Row) bool { return r[0].Equal(row[0]) })
			if i >= 0 {
				w.t.rows[i] = row
			} else {
				w.t.rows = append(w.t.rows, row)
			}
		}
	case w.m.fault == "overwrite_early":
		w.t.rows = slices.Clone(w.st.rows)
	}
	w.st.n = len(w.st.rows)
	return nil
}

func (w *memWriter) CommitState() (json.RawMessage, error) {
	return json.Marshal(map[string]int{"n": w.st.n})
}

func (w *memWriter) ResumeAt(_ context.Context, tok json.RawMessage) error {
	var t struct{ N int }
	if err := json.Unmarshal(tok, &t); err != nil {
		return err
	}
	if w.m.fault == "ignore_resume_token" {
		return nil
	}
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	if t.N > w.st.n {
		return errors.New("token ahead of the commits")
	}
	w.st.n = t.N
	w.st.rows = w.st.rows[:t.N]
	if w.mode == connector.Append {
		w.t.rows = w.t.rows[:w.st.base+t.N]
	}
	return nil
}

func (w *memWriter) Close(ctx context.Context) error {
	if err := w.Commit(ctx); err != nil {
		return err
	}
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	if w.mode == connector.Overwrite {
		w.t.rows = slices.Clone(w.st.rows)
		w.t.schema = w.schema
	}
	delete(w.m.stage, w.run)
	return nil
}

func (w *memWriter) Abort(context.Context) error {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	w.st.rows = w.st.rows[:w.st.n]
	delete(w.m.stage, w.run)
	return nil
}
