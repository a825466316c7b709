package sqlkit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// OrdColumn is the ordinal column of an upsert staging table: the last row of a key wins.
const OrdColumn = "__aggregator_ord"

// WriteOptions configure a Writer.
type WriteOptions struct {
	Schema  string // the namespace (database or schema); "" resolves with Dialect.CurrentSchema
	Table   string
	Req     connector.WriteRequest
	Log     *slog.Logger
	Secrets []string
}

// Writer writes batches through database/sql with a Dialect: it creates or evolves the table,
// loads with Dialect.Load inside a transaction per commit interval, isolates rows the table refuses
// (returned as *connector.RowError), stages overwrites and swaps them in atomically on Close.
type Writer struct {
	db   *sql.DB
	conn *sql.Conn
	tx   *sql.Tx
	d    Dialect
	o    WriteOptions

	display string
	schema  *record.Schema
	cols    []Col // the destination column of each field
	keyIdx  []int
	load    string // quoted table rows are loaded into
	ord     bool
	merge   []Stmt
	staging string

	ops   Ops    // takes OpField out of upsert batches
	marks *Marks // nil when the request names no node (a writer used outside a pipeline run)
	// closedBefore: an earlier attempt of the run closed this destination (its marker is closed)
	closedBefore bool

	// rows of earlier Writes not loaded yet (a Buffering dialect, append and overwrite): loaded
	// together when they reach bufRows rows or bufBytes bytes, and at Commit
	bufRows, bufBytes int
	pend              [][]any
	pendMeta          []pendingRow
	pendBytes         int

	// a TextLoading dialect (textload.go): two buffers of load text, the one Writes encode rows
	// into (fill), the one a background load streams (loading, while inflight is set; it may be
	// fill), and the rows those loads could not write
	text     TextLoading
	conv     record.Row // one row's converted values, reused
	bufs     [2]textBuf
	fill     *textBuf
	loading  *textBuf
	inflight chan loadResult
	deferred []connector.RowProblem
}

// TextLoading is an optional capability of a Buffering dialect that loads rows from text (MySQL's
// LOAD DATA): the Writer encodes each buffered row into that text as it arrives, so that it holds
// bytes rather than driver arguments (a few bytes per value instead of an interface, a boxed value
// and a reference to the engine's strings), and a background load streams it to the database as it
// grows (textload.go). A row AppendText cannot carry goes as driver arguments through Load. When
// LoadText refuses the text (it would have changed a value), DecodeText gives the rows back as
// driver arguments and Load loads them, isolating the rows the table refuses.
type TextLoading interface {
	Buffering
	// AppendText appends one row (values already of their columns' kinds) to text, and one tag per
	// value to tags (what DecodeText needs to rebuild the exact driver arguments). ok is false, with
	// text and tags unchanged, when a value cannot travel as text; err (with the index of the value)
	// when a value cannot be stored at all.
	AppendText(text, tags []byte, row record.Row, cols []Col) (textOut, tagsOut []byte, ok bool, field int, err error)
	// LoadText loads the rows of text r gives (until io.EOF) into table; rows, called once r is
	// read to its end, is how many rows it held. ok is false, with nothing loaded and no error,
	// when the database refused the load or it would have changed a value.
	LoadText(ctx context.Context, tx *sql.Tx, table string, cols []Col, r io.Reader, rows func() int) (ok bool, err error)
	// DecodeText gives back the driver arguments of the rows of text (cols values each).
	DecodeText(text, tags []byte, cols int) ([][]any, error)
}

// Buffering is an optional capability of a Dialect whose Load costs much less per row when it loads
// many rows at once (one LOAD DATA statement): the Writer gathers the rows of several Writes of an
// append or overwrite and loads them with one Load when they reach LoadBuffer's rows or bytes (an
// estimate: RowBytes), and at the latest at Commit, in the transaction that stores the commit marker.
// Rows such a load refuses come back from that Write or Commit with Index -1, their source position
// and key.
type Buffering interface {
	LoadBuffer() (rows, bytes int)
}

// pendingRow is what a problem report needs of a buffered row.
type pendingRow struct {
	pos  int64
	keys []record.Value
}

// RowBytes estimates the size of a row of driver arguments.
func RowBytes(r []any) int {
	n := 3
	for _, a := range r {
		switch t := a.(type) {
		case string:
			n += len(t) + 1
		case []byte:
			n += 2*len(t) + 1
		default:
			n += 12
		}
	}
	return n
}

var _ connector.MarkedWriter = (*Writer)(nil)

// NewWriter opens a writer on a dedicated connection of db (which it closes when done).
func NewWriter(ctx context.Context, db *sql.DB, d Dialect, o WriteOptions) (*Writer, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if err := CheckIdent("table", o.Table, d.MaxIdent()); err != nil {
		db.Close()
		return nil, connector.ConfigError(fmt.Errorf("table: %w", err))
	}
	switch o.Req.Mode {
	case "":
		o.Req.Mode = connector.Append
	case connector.Append, connector.Overwrite:
	case connector.Upsert:
		if len(o.Req.Key) == 0 {
			db.Close()
			return nil, connector.ConfigError(errors.New("write.key: upsert needs a key"))
		}
	default:
		db.Close()
		return nil, fmt.Errorf("write mode %q: %w", o.Req.Mode, connector.ErrUnsupported)
	}
	if o.Req.RunID == "" {
		o.Req.RunID = RandomID()
	}
	w := &Writer{db: db, d: d, o: o}
	for i := range w.bufs {
		w.bufs[i].more.L = &w.bufs[i].mu
	}
	w.fill = &w.bufs[0]
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, w.err("connect", err)
	}
	w.conn = conn
	if w.o.Schema == "" {
		s, err := d.CurrentSchema(ctx, conn)
		if err != nil {
			w.release(ctx)
			return nil, w.err("find schema", err)
		}
		w.o.Schema = s
	}
	w.display = w.o.Schema + "." + w.o.Table
	if o.Req.Node != "" {
		if err := w.openMarks(ctx); err != nil {
			w.release(ctx)
			return nil, err
		}
	}
	if o.Req.Schema != nil && !w.closedBefore {
		if err := w.prepare(ctx, w.ops.Schema(o.Req.Schema, o.Req.Mode)); err != nil {
			w.release(ctx)
			return nil, err
		}
	}
	return w, nil
}

func (w *Writer) target() string { return Qualified(w.d.Quote, w.o.Schema, w.o.Table) }

// openMarks creates the marker table when missing, purges old markers and, on resume, reads this
// run's marker.
func (w *Writer) openMarks(ctx context.Context) error {
	w.marks = NewMarks(w.d.Quote, w.d.Placeholder, w.o.Schema, w.o.Req.RunID, w.o.Req.Node, w.display)
	t, err := w.find(ctx, MarkTable)
	if err != nil {
		return w.err("read commit marker table", err)
	}
	if t == nil {
		if err := w.run(ctx, Stmt{SQL: w.d.CreateTable(w.marks.Table(), MarkSchema(), MarkKey)}); err != nil {
			// another writer may have created it at the same moment
			if t, ferr := w.find(ctx, MarkTable); ferr != nil || t == nil {
				return w.err("create commit marker table "+MarkTable, err)
			}
		}
	}
	if err := w.run(ctx, w.marks.Purge(time.Now())); err != nil {
		return w.err("purge old commit markers", err)
	}
	if !w.o.Req.Resume {
		return nil
	}
	var mk connector.Marker
	sel := w.marks.Select()
	switch err := w.conn.QueryRowContext(ctx, sel.SQL, sel.Args...).Scan(&mk.Rows, &mk.Closed); {
	case errors.Is(err, sql.ErrNoRows):
		w.marks.Found(mk, false)
	case err != nil:
		return w.err("read commit marker", err)
	default:
		w.marks.Found(mk, true)
		w.closedBefore = mk.Closed
	}
	return nil
}

// SetMarker sets the marker the next Commit or Close stores with the rows.
func (w *Writer) SetMarker(m connector.Marker) {
	if w.marks != nil {
		w.marks.Set(m)
	}
}

// Committed is this run's marker read when the writer was opened to resume.
func (w *Writer) Committed(context.Context) (connector.Marker, bool, error) {
	if w.marks == nil {
		return connector.Marker{}, false, nil
	}
	m, ok := w.marks.Committed()
	return m, ok, nil
}

// resumedRows is the number of rows an earlier attempt of the run committed (0: none or not resuming).
func (w *Writer) resumedRows() int64 {
	if w.marks == nil || !w.o.Req.Resume {
		return 0
	}
	m, _ := w.marks.Committed()
	return m.Rows
}

func (w *Writer) q() Queryer {
	if w.tx != nil {
		return w.tx
	}
	return w.conn
}

func (w *Writer) find(ctx context.Context, name string) (*Table, error) {
	ts, err := w.d.Tables(ctx, w.q(), w.o.Schema, name)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.Name == name {
			return t, nil
		}
	}
	return nil, nil
}

func (w *Writer) run(ctx context.Context, stmts ...Stmt) error {
	for _, s := range stmts {
		if s.SQL == "" {
			continue
		}
		if _, err := w.q().ExecContext(ctx, s.SQL, s.Args...); err != nil {
			return err
		}
	}
	return nil
}

// prepare creates or evolves the destination for rows of schema s.
func (w *Writer) prepare(ctx context.Context, s *record.Schema) error {
	for _, f := range s.Fields {
		if err := CheckIdent("column", f.Name, w.d.MaxIdent()); err != nil {
			return connector.ConfigError(fmt.Errorf("table %s: %w", w.display, err))
		}
	}
	for _, k := range w.o.Req.Key {
		if s.Index(k) < 0 {
			return connector.ConfigError(fmt.Errorf("write.key: field %q is not in the input (fields: %s)", k, strings.Join(s.Names(), ", ")))
		}
	}
	existing, err := w.find(ctx, w.o.Table)
	if err != nil {
		return w.err("read table", err)
	}
	into := existing
	loadName := w.o.Table
	switch w.o.Req.Mode {
	case connector.Overwrite:
		if w.staging == "" {
			w.staging = StagingName("_agg_stage_", w.o.Table, w.o.Req.RunID, w.d.MaxIdent())
			st, err := w.find(ctx, w.staging)
			if err != nil {
				return w.err("read staging table", err)
			}
			stg := Qualified(w.d.Quote, w.o.Schema, w.staging)
			if st != nil && w.o.Req.Resume {
				into = st
			} else if n := w.resumedRows(); n > 0 {
				return fmt.Errorf("%s destination %s: the staging table %s holding the %d rows the interrupted run committed is gone; the run must start afresh", w.d.Name(), w.display, w.staging, n)
			} else {
				if err := w.run(ctx, Stmt{SQL: "DROP TABLE IF EXISTS " + stg}); err != nil {
					return w.err("drop old staging table", err)
				}
				if existing != nil {
					err = w.run(ctx, w.d.CreateLike(stg, w.target())...)
				} else {
					err = w.run(ctx, Stmt{SQL: w.d.CreateTable(stg, s, w.o.Req.Key)})
				}
				if err != nil {
					return w.err("create staging table", err)
				}
				if into, err = w.find(ctx, w.staging); err != nil || into == nil {
					return w.err("read staging table", errors.Join(err, errors.New("staging table not found after creating it")))
				}
			}
		} else if into, err = w.find(ctx, w.staging); err != nil || into == nil {
			return w.err("read staging table", errors.Join(err, errors.New("staging table is gone")))
		}
		w.load, loadName = Qualified(w.d.Quote, w.o.Schema, w.staging), w.staging
	default:
		if existing == nil {
			if err := w.run(ctx, Stmt{SQL: w.d.CreateTable(w.target(), s, w.o.Req.Key)}); err != nil {
				return w.err("create table", err)
			}
			if into, err = w.find(ctx, w.o.Table); err != nil || into == nil {
				return w.err("read table", errors.Join(err, errors.New("table not found after creating it")))
			}
		}
		w.load = w.target()
	}
	cols := make([]Column, len(into.Cols))
	byName := map[string]Col{}
	for i, c := range into.Cols {
		cols[i] = Column{Name: c.Name, Native: c.Native, Kind: c.Kind, Nullable: c.Nullable}
		byName[Fold(c.Name)] = c
	}
	plan, err := Evolve(w.display, s, cols, Fold)
	if err != nil {
		return err
	}
	for _, f := range plan.Add {
		f.Nullable = true
		if err := w.run(ctx, Stmt{SQL: w.d.AddColumn(w.load, f)}); err != nil {
			return w.err(fmt.Sprintf("add column %q", f.Name), err)
		}
		w.o.Log.Info("added column to destination table", "table", w.display, "column", f.Name, "type", w.d.DDLType(f, false))
	}
	if len(plan.Add) > 0 {
		t, err := w.find(ctx, loadName)
		if err != nil || t == nil {
			return w.err("read table", errors.Join(err, errors.New("table not found after adding columns")))
		}
		for _, c := range t.Cols {
			byName[Fold(c.Name)] = c
		}
	}
	w.schema = s
	w.cols = make([]Col, len(s.Fields))
	for i, f := range s.Fields {
		w.cols[i] = byName[Fold(f.Name)]
	}
	keyNames := w.o.Req.Key
	if len(keyNames) == 0 && existing != nil {
		keyNames = existing.PK
	}
	w.keyIdx = w.keyIdx[:0]
	for _, k := range keyNames {
		if i := s.Index(k); i >= 0 {
			w.keyIdx = append(w.keyIdx, i)
		}
	}
	w.bufRows, w.bufBytes, w.text = 0, 0, nil
	if b, ok := w.d.(Buffering); ok && w.o.Req.Mode != connector.Upsert {
		w.bufRows, w.bufBytes = b.LoadBuffer()
		if t, ok := b.(TextLoading); ok && w.bufRows > 0 {
			w.text = t
		}
	}
	if w.o.Req.Mode == connector.Upsert {
		ok, err := w.d.HasUniqueKey(ctx, w.q(), into, w.o.Req.Key)
		if err != nil {
			return w.err("read indexes", err)
		}
		if !ok {
			return connector.ConfigError(fmt.Errorf("table %s: upsert by (%s) needs a primary key or unique index on exactly those columns; create one or choose write.key to match", w.display, strings.Join(w.o.Req.Key, ", ")))
		}
		load, ord, setup, merge, err := w.d.Upsert(ctx, w.q(), w.target(), s, w.o.Req.Key)
		if err != nil {
			return w.err("prepare upsert", err)
		}
		if err := w.run(ctx, setup...); err != nil {
			return w.err("prepare upsert", err)
		}
		w.load, w.ord, w.merge = load, ord, merge
	}
	return nil
}

// Write loads a batch; rows the table refuses come back as *connector.RowError, all others are written.
func (w *Writer) Write(ctx context.Context, b *record.Batch) error {
	if b == nil || len(b.Rows) == 0 {
		return nil
	}
	b, dels := w.ops.Split(b, w.o.Req.Mode)
	if w.closedBefore {
		return fmt.Errorf("%s destination %s: an earlier attempt of run %s finished this destination; nothing more can be written", w.d.Name(), w.display, w.o.Req.RunID)
	}
	var problems []connector.RowProblem
	if w.schema == nil || (b.Schema != w.schema && !b.Schema.Equal(w.schema)) {
		ps, err := w.flush(ctx) // buffered rows go in with the columns they were converted for
		if err != nil {
			return err
		}
		problems = append(problems, ps...)
		if err := w.prepare(ctx, b.Schema); err != nil {
			return err
		}
	}
	if err := w.begin(ctx); err != nil {
		return err
	}
	if w.text != nil {
		problems = append(problems, w.addText(b)...)
		if err := w.pumpText(ctx); err != nil {
			return err
		}
		problems = append(problems, w.deferred...)
		w.deferred = w.deferred[:0]
		if len(problems) > 0 {
			sort.SliceStable(problems, func(i, j int) bool { return problems[i].Index < problems[j].Index })
			return &connector.RowError{Rows: problems}
		}
		return nil
	}
	args := make([][]any, len(b.Rows))
	idx := make([]int, 0, len(b.Rows))
	for i, row := range b.Rows {
		a, field, err := w.rowArgs(row, i)
		if err != nil {
			problems = append(problems, w.rowProblem(b, i, field, err.Error()))
			continue
		}
		args[i] = a
		idx = append(idx, i)
	}
	if w.bufRows > 0 {
		for _, i := range idx {
			w.pend = append(w.pend, args[i])
			w.pendMeta = append(w.pendMeta, pendingRow{pos: b.PosOf(i), keys: w.keysOf(b.Rows[i])})
			w.pendBytes += RowBytes(args[i])
		}
		if len(w.pend) >= w.bufRows || w.pendBytes >= w.bufBytes {
			ps, err := w.flush(ctx)
			if err != nil {
				return err
			}
			problems = append(problems, ps...)
		}
	} else {
		bad := map[int]error{}
		var pick []bool
		if dels != nil {
			pick = make([]bool, len(idx))
			for n, i := range idx {
				pick[n] = dels[i]
			}
		}
		err := Segments(len(idx), pick, func(seg []int, del bool) error {
			rows := make([]int, len(seg))
			for n, s := range seg {
				rows[n] = idx[s]
			}
			if del {
				return w.deleteRows(ctx, args, rows)
			}
			b, err := w.loadRows(ctx, args, rows)
			maps.Copy(bad, b)
			return err
		})
		if err != nil {
			return err
		}
		for i, e := range bad {
			field, reason := w.d.Problem(e)
			problems = append(problems, w.rowProblem(b, i, field, reason))
		}
	}
	if len(problems) > 0 {
		sort.Slice(problems, func(i, j int) bool { return problems[i].Index < problems[j].Index })
		return &connector.RowError{Rows: problems}
	}
	return nil
}

func (w *Writer) begin(ctx context.Context) error {
	if w.tx == nil {
		tx, err := w.conn.BeginTx(ctx, nil)
		if err != nil {
			return w.err("begin", err)
		}
		w.tx = tx
	}
	return nil
}

// loadRows loads the rows idx of args (then merges them for an upsert); it returns the rows the
// table refused, by index, with their errors.
func (w *Writer) loadRows(ctx context.Context, args [][]any, idx []int) (map[int]error, error) {
	var upsertKey []string
	if w.o.Req.Mode == connector.Upsert && len(w.merge) == 0 {
		upsertKey = w.o.Req.Key
	}
	load := func(ctx context.Context, sub []int) error {
		if sp := w.d.Savepoint(); sp != "" {
			if _, err := w.tx.ExecContext(ctx, sp); err != nil {
				return err
			}
		}
		rows := make([][]any, len(sub))
		for n, i := range sub {
			rows[n] = args[i]
		}
		cols := w.cols
		if w.ord {
			cols = append(append([]Col{}, w.cols...), Col{Name: OrdColumn, Type: "bigint", Kind: record.KindInt})
		}
		if err := w.d.Load(ctx, w.tx, w.load, cols, rows, upsertKey); err != nil {
			if rb := w.d.RollbackTo(); rb != "" {
				if _, rerr := w.tx.ExecContext(ctx, rb); rerr != nil {
					return errors.Join(err, rerr)
				}
			}
			return err
		}
		if rel := w.d.Release(); rel != "" {
			_, err := w.tx.ExecContext(ctx, rel)
			return err
		}
		return nil
	}
	bad, err := Isolate(ctx, idx, nil, load, w.d.IsData, w.d.RowHint)
	if err != nil {
		return nil, w.err("load rows", err)
	}
	for _, m := range w.merge {
		if _, err := w.tx.ExecContext(ctx, m.SQL, m.Args...); err != nil {
			return nil, w.err("merge rows by key ("+strings.Join(w.o.Req.Key, ", ")+")", err)
		}
	}
	return bad, nil
}

// deleteRows deletes the rows with the keys of the rows idx of args (an upsert's records whose
// OpField says delete), in the open transaction.
func (w *Writer) deleteRows(ctx context.Context, args [][]any, idx []int) error {
	const perStmt = 200
	for start := 0; start < len(idx); start += perStmt {
		part := idx[start:min(start+perStmt, len(idx))]
		var sb strings.Builder
		sb.WriteString("DELETE FROM " + w.target() + " WHERE ")
		params := make([]any, 0, len(part)*len(w.keyIdx))
		for n, i := range part {
			if n > 0 {
				sb.WriteString(" OR ")
			}
			sb.WriteByte('(')
			for m, k := range w.keyIdx {
				if m > 0 {
					sb.WriteString(" AND ")
				}
				params = append(params, args[i][k])
				sb.WriteString(w.d.Quote(w.cols[k].Name) + " = " + w.d.Placeholder(len(params)))
			}
			sb.WriteByte(')')
		}
		if _, err := w.tx.ExecContext(ctx, sb.String(), params...); err != nil {
			return w.err("delete rows by key ("+strings.Join(w.o.Req.Key, ", ")+")", err)
		}
	}
	return nil
}

// flush loads the buffered rows in the open transaction (after the background load, if any); the
// rows refused come back as problems with Index -1.
func (w *Writer) flush(ctx context.Context) ([]connector.RowProblem, error) {
	if w.loading == w.fill {
		w.fill.seal() // its load ends with these rows
	}
	if err := w.wait(); err != nil {
		return nil, err
	}
	problems := w.deferred
	w.deferred = nil
	if len(w.pend) == 0 && len(w.fill.meta) == 0 {
		return problems, nil
	}
	if err := w.begin(ctx); err != nil {
		return nil, err
	}
	if len(w.fill.meta) > 0 {
		w.fill.seal()
		ps, err := w.loadText(ctx, w.fill)
		w.fill.reset()
		if err != nil {
			return nil, err
		}
		problems = append(problems, ps...)
	}
	if len(w.pend) == 0 {
		return problems, nil
	}
	ps, err := w.loadArgs(ctx, w.pend, w.pendMeta)
	if err != nil {
		return nil, err
	}
	problems = append(problems, ps...)
	clear(w.pend)
	w.pend, w.pendMeta, w.pendBytes = w.pend[:0], w.pendMeta[:0], 0
	return problems, nil
}

// loadArgs loads buffered rows of driver arguments; the rows refused come back as problems with
// Index -1.
func (w *Writer) loadArgs(ctx context.Context, rows [][]any, meta []pendingRow) ([]connector.RowProblem, error) {
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	bad, err := w.loadRows(ctx, rows, idx)
	if err != nil {
		return nil, err
	}
	var problems []connector.RowProblem
	if len(bad) > 0 {
		names := make([]string, len(w.keyIdx))
		for n, k := range w.keyIdx {
			names[n] = w.schema.Fields[k].Name
		}
		ids := make([]int, 0, len(bad))
		for i := range bad {
			ids = append(ids, i)
		}
		sort.Ints(ids)
		for _, i := range ids {
			field, reason := w.d.Problem(bad[i])
			m := meta[i]
			problems = append(problems, Problem(w.display, names, m.keys, m.pos, -1, field, reason, w.o.Secrets...))
		}
	}
	return problems, nil
}

// addText encodes the rows of b into the fill buffer (a row the text cannot carry joins the
// driver-argument buffer); it returns the rows that cannot be written, with their batch index.
func (w *Writer) addText(b *record.Batch) []connector.RowProblem {
	var problems []connector.RowProblem
	if cap(w.conv) < len(w.cols) {
		w.conv = make(record.Row, len(w.cols))
	}
	conv := w.conv[:len(w.cols)]
	f := w.fill
	if f.text == nil {
		// room for the budget and one more batch's rows, so that the buffer does not double past it
		f.text = make([]byte, 0, w.bufBytes+w.bufBytes/4)
	}
	for i, row := range b.Rows {
		bad := -1
		var err error
		for j, v := range row {
			if conv[j], err = Convert(v, w.cols[j].Kind); err != nil {
				bad = j
				break
			}
		}
		var ok bool
		if bad < 0 {
			f.text, f.tags, ok, bad, err = w.text.AppendText(f.text, f.tags, conv, w.cols)
		}
		if err != nil {
			problems = append(problems, w.rowProblem(b, i, w.cols[bad].Name, err.Error()))
			continue
		}
		meta := pendingRow{pos: b.PosOf(i), keys: w.keysOf(row)}
		if ok {
			f.meta = append(f.meta, meta)
			continue
		}
		a, field, err := w.rowArgs(row, i)
		if err != nil {
			problems = append(problems, w.rowProblem(b, i, field, err.Error()))
			continue
		}
		w.pend = append(w.pend, a)
		w.pendMeta = append(w.pendMeta, meta)
		w.pendBytes += RowBytes(a)
	}
	clear(conv) // no reference to the batch's values stays behind
	if f == w.loading {
		f.publish()
	}
	return problems
}

func (w *Writer) keysOf(row record.Row) []record.Value {
	if len(w.keyIdx) == 0 {
		return nil
	}
	keys := make([]record.Value, len(w.keyIdx))
	for n, k := range w.keyIdx {
		keys[n] = row[k]
	}
	return keys
}

func (w *Writer) rowArgs(row record.Row, i int) ([]any, string, error) {
	n := len(row)
	if w.ord {
		n++
	}
	out := make([]any, n)
	for j, v := range row {
		c := w.cols[j]
		cv, err := Convert(v, c.Kind)
		if err != nil {
			return nil, c.Name, err
		}
		a, err := w.d.Arg(cv, c)
		if err != nil {
			return nil, c.Name, err
		}
		out[j] = a
	}
	if w.ord {
		out[len(row)] = int64(i)
	}
	return out, "", nil
}

func (w *Writer) rowProblem(b *record.Batch, i int, field, reason string) connector.RowProblem {
	names := make([]string, len(w.keyIdx))
	keys := make([]record.Value, len(w.keyIdx))
	for n, k := range w.keyIdx {
		names[n], keys[n] = w.schema.Fields[k].Name, b.Rows[i][k]
	}
	return Problem(w.display, names, keys, b.PosOf(i), i, field, reason, w.o.Secrets...)
}

// Commit loads the buffered rows and commits the open transaction, with the marker set by SetMarker
// when it changed. Buffered rows the table refused come back as a *connector.RowError after the
// commit (every other row is committed).
func (w *Writer) Commit(ctx context.Context) error {
	problems, err := w.flush(ctx)
	if err != nil {
		return err
	}
	if err := w.commit(ctx); err != nil {
		return err
	}
	if len(problems) > 0 {
		return &connector.RowError{Rows: problems}
	}
	return nil
}

func (w *Writer) commit(ctx context.Context) error {
	dirty := w.marks != nil && w.marks.Dirty()
	if w.tx == nil && !dirty {
		return nil
	}
	if w.tx == nil {
		tx, err := w.conn.BeginTx(ctx, nil)
		if err != nil {
			return w.err("begin", err)
		}
		w.tx = tx
	}
	if dirty {
		if err := w.run(ctx, w.marks.Store(time.Now())...); err != nil {
			_ = w.tx.Rollback()
			w.tx = nil
			return w.err("store commit marker", err)
		}
	}
	tx := w.tx
	w.tx = nil
	if err := tx.Commit(); err != nil {
		return w.err("commit", err)
	}
	if dirty {
		w.marks.Stored()
	}
	return nil
}

// Close commits (storing the closed marker) and, for overwrite, swaps the staging table in. When an
// earlier attempt of the run closed the destination, Close only completes its swap if it was cut short.
func (w *Writer) Close(ctx context.Context) (err error) {
	defer w.release(ctx)
	var refused *connector.RowError
	defer func() {
		if err == nil && refused != nil {
			err = refused
		}
	}()
	if w.closedBefore {
		if w.o.Req.Mode != connector.Overwrite {
			return nil
		}
		w.staging = StagingName("_agg_stage_", w.o.Table, w.o.Req.RunID, w.d.MaxIdent())
		st, err := w.find(ctx, w.staging)
		if err != nil {
			return w.err("read staging table", err)
		}
		if st == nil { // swapped in by the earlier attempt
			w.staging = ""
			return nil
		}
	} else if w.o.Req.Mode == connector.Overwrite && w.staging == "" {
		// nothing was written and the schema is unknown: an overwrite with no rows empties the table,
		// in the transaction that stores the closed marker
		if t, err := w.find(ctx, w.o.Table); err == nil && t != nil {
			if w.tx == nil {
				tx, err := w.conn.BeginTx(ctx, nil)
				if err != nil {
					return w.err("begin", err)
				}
				w.tx = tx
			}
			if err := w.run(ctx, Stmt{SQL: "DELETE FROM " + w.target()}); err != nil {
				return w.err("empty table", err)
			}
		}
		return w.Commit(ctx)
	} else {
		if err := w.Commit(ctx); err != nil {
			var re *connector.RowError
			if !errors.As(err, &re) {
				return err
			}
			refused = re // committed without these rows: finish, then report them
		}
		if w.o.Req.Mode != connector.Overwrite {
			return nil // the deferred function reports refused rows
		}
	}
	existing, err := w.find(ctx, w.o.Table)
	if err != nil {
		w.dropStaging(ctx)
		return w.err("swap staging table into place (the old table is unchanged)", err)
	}
	tx, err := w.conn.BeginTx(ctx, nil)
	if err == nil {
		w.tx = tx
		err = w.run(ctx, w.d.Swap(w.o.Schema, w.staging, w.o.Table, existing != nil)...)
		w.tx = nil
		if err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
	}
	if err != nil {
		w.dropStaging(ctx)
		return w.err("swap staging table into place (the old table is unchanged)", err)
	}
	w.staging = ""
	return nil
}

// Abort rolls back and drops the staging table; committed rows of append and upsert stay.
func (w *Writer) Abort(ctx context.Context) error {
	defer w.release(ctx)
	w.stopLoad()
	if w.tx != nil {
		_ = w.tx.Rollback()
		w.tx = nil
	}
	w.dropStaging(ctx)
	return nil
}

func (w *Writer) dropStaging(ctx context.Context) {
	if w.staging == "" || w.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := w.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+Qualified(w.d.Quote, w.o.Schema, w.staging)); err != nil {
		w.o.Log.Warn("could not drop staging table", "table", w.staging, "error", ScrubString(err.Error(), w.o.Secrets...))
		return
	}
	w.staging = ""
}

func (w *Writer) release(ctx context.Context) {
	w.stopLoad() // the transaction is the background load's until it ends
	if w.tx != nil {
		_ = w.tx.Rollback()
		w.tx = nil
	}
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
	if w.db != nil {
		_ = w.db.Close()
		w.db = nil
	}
}

func (w *Writer) err(what string, err error) error {
	prefix := w.d.Name() + " destination " + w.display + ": " + what
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", prefix, err)
	case w.d.IsTransient(err):
		return Scrub(fmt.Errorf("%s: %w (%w)", prefix, err, connector.ErrTransient), w.o.Secrets...)
	case w.d.IsUndefinedTable(err):
		return Scrub(fmt.Errorf("%s: %w (%w)", prefix, err, connector.ErrNotFound), w.o.Secrets...)
	}
	return Scrub(fmt.Errorf("%s: %w", prefix, err), w.o.Secrets...)
}

// Namespace is the schema (database) the writer writes into.
func (w *Writer) Namespace() string { return w.o.Schema }

// Problem is the RowProblem of a refused row: its message names the table (display), the row (by
// its key values when keyNames is set, else its source position, else its index in the batch;
// index -1 is a row of an earlier batch), the column when field is set, and the reason, scrubbed of
// secrets.
func Problem(display string, keyNames []string, keys []record.Value, pos int64, index int, field, reason string, secrets ...string) connector.RowProblem {
	var where string
	switch {
	case len(keyNames) > 0:
		parts := make([]string, len(keyNames))
		for n, k := range keyNames {
			parts[n] = k + "=" + keys[n].String()
		}
		where = "key " + strings.Join(parts, ", ")
	case pos > 0:
		where = fmt.Sprintf("source row %d", pos)
	case index >= 0:
		where = fmt.Sprintf("batch row %d", index)
	default:
		where = "a row of an earlier batch"
	}
	msg := "table " + display + ", " + where
	if field != "" {
		msg += ", column " + field
	}
	p := connector.RowProblem{Index: index, Field: field, Reason: ScrubString(msg+": "+reason, secrets...)}
	if index < 0 {
		p.Pos = pos
	}
	return p
}
