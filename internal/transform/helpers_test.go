package transform

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/dataaggregator/aggregator/internal/record"
)

// collector is an Output that keeps everything.
type collector struct {
	batches  []*record.Batch
	rejects  []record.Reject
	counts   map[Counter]int64
	failWith error // returned by Reject when set
}

func (c *collector) Emit(b *record.Batch) error {
	// Copy: the node may reuse nothing it emitted, but tests read rows after later calls.
	cp := &record.Batch{Schema: b.Schema, Pos: append([]int64(nil), b.Pos...)}
	for _, r := range b.Rows {
		cp.Rows = append(cp.Rows, append(record.Row(nil), r...))
	}
	c.batches = append(c.batches, cp)
	return nil
}

func (c *collector) Reject(r record.Reject) error {
	c.rejects = append(c.rejects, r)
	return c.failWith
}

func (c *collector) Count(k Counter, n int64) {
	if c.counts == nil {
		c.counts = map[Counter]int64{}
	}
	c.counts[k] += n
}

// rows returns every emitted row as text values, field by field.
func (c *collector) rows() [][]string {
	var out [][]string
	for _, b := range c.batches {
		for _, r := range b.Rows {
			s := make([]string, len(r))
			for i, v := range r {
				s[i] = v.String()
				if v.IsNull() {
					s[i] = "<null>"
				}
			}
			out = append(out, s)
		}
	}
	return out
}

// schemaOf builds a schema from "name:kind" pairs.
func schemaOf(t testing.TB, spec ...string) *record.Schema {
	t.Helper()
	var fs []record.Field
	for _, s := range spec {
		name, kind := s, "string"
		for i := 0; i < len(s); i++ {
			if s[i] == ':' {
				name, kind = s[:i], s[i+1:]
			}
		}
		k, err := record.ParseKind(kind)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, record.Field{Name: name, Kind: k, Nullable: true})
	}
	s, err := record.NewSchema(fs...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// batchOf builds a batch; each row is Go values converted with record.FromGo, then cast to the
// schema's kinds.
func batchOf(t testing.TB, s *record.Schema, rows ...[]any) *record.Batch {
	t.Helper()
	b := record.NewBuilder(s, len(rows)+1)
	for i, r := range rows {
		row := b.Row(int64(i + 1))
		for j, x := range r {
			v, err := record.FromGo(x)
			if err != nil {
				t.Fatal(err)
			}
			if v, err = record.Cast(v, s.Fields[j].Kind); err != nil {
				t.Fatal(err)
			}
			row[j] = v
		}
	}
	out := b.Take()
	if out == nil {
		out = record.NewBatch(s, 0)
	}
	return out
}

// setup builds a node of the named type from config and initialises it with the input schemas.
func setup(t testing.TB, typ string, config map[string]any, inputs ...*record.Schema) (Node, *record.Schema) {
	t.Helper()
	n, out, err := build(typ, config, inputs...)
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	return n, out
}

func build(typ string, config map[string]any, inputs ...*record.Schema) (Node, *record.Schema, error) {
	reg, err := NewRegistry(Builtins()...)
	if err != nil {
		return nil, nil, err
	}
	def, err := reg.Get(typ)
	if err != nil {
		return nil, nil, err
	}
	n, err := def.New(config)
	if err != nil {
		return nil, nil, err
	}
	s, err := n.Init(inputs)
	return n, s, err
}

// runNode processes batches on input 0 and flushes.
func runNode(t testing.TB, n Node, batches ...*record.Batch) *collector {
	t.Helper()
	c := &collector{}
	for _, b := range batches {
		if err := n.Process(context.Background(), 0, b, c); err != nil {
			t.Fatalf("process: %v", err)
		}
	}
	if err := n.Flush(context.Background(), c); err != nil {
		t.Fatalf("flush: %v", err)
	}
	return c
}

var errStop = errors.New("stop")

type runtimeMem struct{ heap uint64 }

func (m *runtimeMem) read() {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.heap = s.HeapAlloc
}
