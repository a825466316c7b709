package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// Test doubles of the connector SDK: "gen" generates rows id 1..rows (name "n<id>"); every bad_every-th
// row is rejected by the reader; "mem" writes into a table of a memDB, with commits, resume tokens and
// atomic overwrite; failing rows (name in fail_names) come back as a RowError.

var genSchema = record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString})

type genConn struct {
	// block makes the reader wait for ctx after emitting this many rows (an unbounded stream); 0: never.
	opened chan struct{}
	// blockAt, when set, replaces block_after (read at each Next), so that a test moves the end of a
	// stream without changing the spec.
	blockAt *atomic.Int64
}

var genSpec = configspec.Spec{Params: []configspec.Param{
	{Name: "rows", Type: configspec.Integer, Required: true},
	{Name: "bad_every", Type: configspec.Integer},
	{Name: "fail_after", Type: configspec.Integer},
	{Name: "block_after", Type: configspec.Integer},
	{Name: "path", Type: configspec.String},
}}

func (genConn) Spec() connector.Spec {
	return connector.Spec{Name: "gen", Source: true, Config: genSpec}
}

func intCfg(c map[string]any, k string) int64 {
	switch v := c[k].(type) {
	case int:
		return int64(v)
	case int64:
		return v
	case uint64:
		return int64(v)
	case float64:
		return int64(v)
	}
	return 0
}

func (g genConn) Open(_ context.Context, _ connector.Env, cfg map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	rd := &genReader{total: intCfg(cfg, "rows"), badEvery: intCfg(cfg, "bad_every"), failAfter: intCfg(cfg, "fail_after"),
		blockAfter: intCfg(cfg, "block_after"), size: req.BatchSize, path: fmt.Sprint(cfg["path"]), blockAt: g.blockAt}
	if rd.size == 0 {
		rd.size = 100
	}
	if req.State != nil {
		var st struct{ Next int64 }
		if err := json.Unmarshal(req.State, &st); err != nil {
			return nil, err
		}
		rd.next = st.Next
	}
	if g.opened != nil {
		g.opened <- struct{}{}
	}
	return rd, nil
}

type genReader struct {
	next, total, badEvery, failAfter, blockAfter int64
	size                                         int
	path                                         string
	blockAt                                      *atomic.Int64
}

func (r *genReader) Schema() *record.Schema { return genSchema }

func (r *genReader) Next(ctx context.Context) (*record.Batch, error) {
	if r.blockAt != nil {
		r.blockAfter = r.blockAt.Load()
	}
	if r.blockAfter > 0 && r.next >= r.blockAfter {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if r.failAfter > 0 && r.next >= r.failAfter {
		return nil, errors.New("disk on fire")
	}
	if r.next >= r.total {
		return nil, io.EOF
	}
	b := record.NewBuilder(genSchema, r.size)
	for r.next < r.total && b.Len() < r.size && (r.blockAfter == 0 || r.next < r.blockAfter) {
		r.next++
		if r.badEvery > 0 && r.next%r.badEvery == 0 {
			b.Reject(record.Reject{Source: r.path, Pos: r.next, Field: "id", Reason: "not a number"})
			continue
		}
		row := b.Row(r.next)
		row[0], row[1] = record.Int(r.next), record.String("n"+strconv.FormatInt(r.next, 10))
		b.AddBytes(10)
	}
	out := b.Take()
	if out == nil {
		out = &record.Batch{Schema: genSchema}
	}
	return out, nil
}

func (r *genReader) State() (json.RawMessage, error) {
	return json.Marshal(struct{ Next int64 }{r.next})
}
func (r *genReader) Close() error { return nil }

// streamConn is gen declared unbounded (a stream).
type streamConn struct{ genConn }

func (streamConn) Spec() connector.Spec {
	return connector.Spec{Name: "stream", Source: true, Unbounded: true, Config: genSpec}
}

// memDB holds the tables mem destinations write; one per test.
type memDB struct {
	mu     sync.Mutex
	tables map[string][]record.Row
	aborts int
	opens  int
	// onCommit, when set, runs after each commit of a mem writer
	onCommit func()
}

type memConn struct{ db *memDB }

func (memConn) Spec() connector.Spec {
	return connector.Spec{Name: "mem", Destination: true,
		WriteModes: []connector.WriteMode{connector.Append, connector.Overwrite},
		Config: configspec.Spec{Params: []configspec.Param{
			{Name: "table", Type: configspec.String, Required: true},
			{Name: "fail_names", Type: configspec.Array},
			{Name: "refuse_at_commit", Type: configspec.Boolean},
		}}}
}

func (m memConn) OpenWriter(_ context.Context, _ connector.Env, cfg map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	m.db.mu.Lock()
	m.db.opens++
	m.db.mu.Unlock()
	w := &memWriter{db: m.db, table: cfg["table"].(string), mode: req.Mode, fail: map[string]bool{}}
	w.atCommit, _ = cfg["refuse_at_commit"].(bool)
	if l, ok := cfg["fail_names"].([]any); ok {
		for _, n := range l {
			w.fail[n.(string)] = true
		}
	}
	if req.Mode == connector.Append {
		w.committed = len(m.db.tables[w.table])
	}
	return w, nil
}

type memWriter struct {
	db        *memDB
	table     string
	mode      connector.WriteMode
	fail      map[string]bool
	atCommit  bool                   // refuse failing rows at Commit (a buffering writer) instead of at Write
	refused   []connector.RowProblem // rows refused since the last Commit, when atCommit
	pending   []record.Row
	staged    []record.Row // overwrite: everything, swapped in at Close
	committed int          // append: rows of the table that are committed
}

func (w *memWriter) Write(_ context.Context, b *record.Batch) error {
	var re connector.RowError
	for i, row := range b.Rows {
		if w.fail[row[1].Str()] {
			if w.atCommit {
				w.refused = append(w.refused, connector.RowProblem{Index: -1, Field: "name", Reason: "refused by the table at commit",
					Pos: b.PosOf(i), Values: b.TextValues(i)})
				continue
			}
			re.Rows = append(re.Rows, connector.RowProblem{Index: i, Field: "name", Reason: "refused by the table"})
			continue
		}
		w.pending = append(w.pending, append(record.Row(nil), row...))
	}
	if len(re.Rows) > 0 {
		return &re
	}
	return nil
}

func (w *memWriter) Commit(context.Context) error {
	if f := w.db.onCommit; f != nil {
		defer f()
	}
	w.db.mu.Lock()
	defer w.db.mu.Unlock()
	if w.mode == connector.Overwrite {
		w.staged = append(w.staged, w.pending...)
	} else {
		w.db.tables[w.table] = append(w.db.tables[w.table][:w.committed], w.pending...)
		w.committed = len(w.db.tables[w.table])
	}
	w.pending = nil
	if len(w.refused) > 0 {
		re := &connector.RowError{Rows: w.refused}
		w.refused = nil
		return re
	}
	return nil
}

func (w *memWriter) CommitState() (json.RawMessage, error) {
	return json.Marshal(w.committed)
}

func (w *memWriter) ResumeAt(_ context.Context, tok json.RawMessage) error {
	var n int
	if err := json.Unmarshal(tok, &n); err != nil {
		return err
	}
	w.db.mu.Lock()
	defer w.db.mu.Unlock()
	if n > len(w.db.tables[w.table]) {
		return fmt.Errorf("token %d beyond %d rows", n, len(w.db.tables[w.table]))
	}
	w.db.tables[w.table] = w.db.tables[w.table][:n]
	w.committed = n
	return nil
}

func (w *memWriter) Close(ctx context.Context) error {
	if err := w.Commit(ctx); err != nil {
		return err
	}
	if w.mode == connector.Overwrite {
		w.db.mu.Lock()
		w.db.tables[w.table] = w.staged
		w.db.mu.Unlock()
	}
	return nil
}

func (w *memWriter) Abort(context.Context) error {
	w.db.mu.Lock()
	w.db.aborts++
	w.db.mu.Unlock()
	w.pending, w.staged = nil, nil
	return nil
}

// Test transformation nodes.

// rejectNode rejects rows whose name is in its config's names, and passes the rest.
func rejectDef() transform.Definition {
	return transform.Definition{
		Spec: transform.Spec{Name: "reject", MinInputs: 1, MaxInputs: 1, Config: configspec.Spec{Params: []configspec.Param{{Name: "every", Type: configspec.Integer}}}},
		New: func(cfg map[string]any) (transform.Node, error) {
			return &rejectNode{every: intCfg(cfg, "every")}, nil
		},
	}
}

type rejectNode struct{ every int64 }

func (n *rejectNode) Init(in []*record.Schema) (*record.Schema, error) { return in[0], nil }
func (n *rejectNode) Process(_ context.Context, _ int, b *record.Batch, out transform.Output) error {
	keep := b.Rows[:0]
	pos := b.Pos[:0]
	for i, row := range b.Rows {
		if n.every > 0 && row[0].AsInt()%n.every == 0 {
			if err := out.Reject(record.Reject{Pos: b.PosOf(i), Field: "id", Reason: "divisible", Values: b.TextValues(i)}); err != nil {
				return err
			}
			continue
		}
		keep = append(keep, row)
		pos = append(pos, b.PosOf(i))
	}
	b.Rows, b.Pos = keep, pos
	return out.Emit(b)
}
func (n *rejectNode) Flush(context.Context, transform.Output) error { return nil }

// countNode is stateful: it emits one row with the number of rows seen, at Flush.
func countDef() transform.Definition {
	return transform.Definition{
		Spec: transform.Spec{Name: "count", MinInputs: 1, MaxInputs: 1},
		New:  func(map[string]any) (transform.Node, error) { return &countNode{}, nil },
	}
}

type countNode struct{ n int64 }

func (c *countNode) Init([]*record.Schema) (*record.Schema, error) { return genSchema, nil }
func (c *countNode) Process(_ context.Context, _ int, b *record.Batch, _ transform.Output) error {
	c.n += int64(b.Len())
	return nil
}
func (c *countNode) Flush(_ context.Context, out transform.Output) error {
	b := record.NewBuilder(genSchema, 1)
	r := b.Row(0)
	r[0], r[1] = record.Int(c.n), record.String("count")
	return out.Emit(b.Take())
}
func (c *countNode) Stateful() bool { return true }

// orderNode records the order its inputs arrive in and declares input 1 a lookup input.
func orderDef(log *[]int) transform.Definition {
	return transform.Definition{
		Spec: transform.Spec{Name: "order", MinInputs: 2, MaxInputs: 2},
		New:  func(map[string]any) (transform.Node, error) { return &orderNode{log: log}, nil },
	}
}

type orderNode struct{ log *[]int }

func (o *orderNode) Init(in []*record.Schema) (*record.Schema, error) { return in[0], nil }
func (o *orderNode) Process(_ context.Context, i int, b *record.Batch, out transform.Output) error {
	*o.log = append(*o.log, i)
	if i == 0 {
		return out.Emit(b)
	}
	return nil
}
func (o *orderNode) Flush(context.Context, transform.Output) error { return nil }
func (o *orderNode) LookupInputs() []int                           { return []int{1} }

// memCheckpointer keeps checkpoints in memory; onSave runs after each save.
type memCheckpointer struct {
	mu     sync.Mutex
	cp     *Checkpoint
	saves  int
	onSave func(cp *Checkpoint)
}

func (m *memCheckpointer) Load(context.Context) (*Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cp == nil {
		return nil, nil
	}
	b, _ := json.Marshal(m.cp) // a copy, through JSON like a real store
	var cp Checkpoint
	return &cp, json.Unmarshal(b, &cp)
}

func (m *memCheckpointer) Save(_ context.Context, cp *Checkpoint) error {
	m.mu.Lock()
	m.cp = cp
	m.saves++
	f := m.onSave
	m.mu.Unlock()
	if f != nil {
		f(cp)
	}
	return nil
}

// memSink collects dead letters; it is resumable by count.
type memSink struct {
	rows      []record.Reject
	committed int
}

func (s *memSink) Put(_ context.Context, r []record.Reject) error {
	s.rows = append(s.rows, r...)
	return nil
}
func (s *memSink) Commit(context.Context) (json.RawMessage, error) {
	s.committed = len(s.rows)
	return json.Marshal(s.committed)
}
func (s *memSink) ResumeAt(_ context.Context, tok json.RawMessage) error {
	var n int
	if err := json.Unmarshal(tok, &n); err != nil {
		return err
	}
	s.rows = s.rows[:n]
	return nil
}

type fixture struct {
	db  *memDB
	env pipeline.Env
	log []int
}

func setup(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{db: &memDB{tables: map[string][]record.Row{}}}
	cr, err := connector.NewRegistry(genConn{}, streamConn{}, memConn{f.db})
	if err != nil {
		t.Fatal(err)
	}
	defs := append(transform.Builtins(), rejectDef(), countDef(), orderDef(&f.log))
	tr, err := transform.NewRegistry(defs...)
	if err != nil {
		t.Fatal(err)
	}
	f.env = pipeline.Env{Connectors: cr, Transforms: tr}
	return f
}

func (f *fixture) plan(t *testing.T, spec string) *pipeline.Plan {
	t.Helper()
	s, err := pipeline.Parse([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Validate(context.Background(), s, f.env)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) table(name string) []record.Row {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	return append([]record.Row(nil), f.db.tables[name]...)
}

// ids returns the id column of rows.
func ids(rows []record.Row) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r[0].AsInt()
	}
	return out
}

func stat(res *Result, id string) NodeStats {
	for _, n := range res.Nodes {
		if n.ID == id {
			return n
		}
	}
	return NodeStats{}
}

// ctxSink is a memSink that, like a database, refuses work on a cancelled context.
type ctxSink struct{ memSink }

func (s *ctxSink) Put(ctx context.Context, r []record.Reject) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.memSink.Put(ctx, r)
}

func (s *ctxSink) Commit(ctx context.Context) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.memSink.Commit(ctx)
}
