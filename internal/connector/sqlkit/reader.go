package sqlkit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// ReadOptions configure a Reader.
type ReadOptions struct {
	Display    string // what messages call the source: "db.table" or "query"
	From       string // the quoted relation, or "(query)"
	Cols       []Col
	Key        []string // keyset chunking and incremental tie-breaker; empty: one streamed query
	BatchSize  int
	Req        connector.ReadRequest
	NullCursor string // "skip" (default) or "fail"
	Log        *slog.Logger
	Secrets    []string
}

// Reader reads a table or query through database/sql: keyset chunks (one query per batch) when
// there is a key, else one streamed query. It implements connector.Reader.
type Reader struct {
	db      *sql.DB
	d       Dialect
	o       ReadOptions
	schema  *record.Schema
	exprs   string
	key     []int
	cursor  int
	chunked bool

	pos Position

	stream *sql.Rows
	done   bool
	nrows  int64
	scan   []any
	vals   []any
}

var _ connector.Reader = (*Reader)(nil)

// NewReader prepares a read; it checks the key, the cursor field and the checkpoint state.
func NewReader(ctx context.Context, db *sql.DB, d Dialect, o ReadOptions) (*Reader, error) {
	r := &Reader{db: db, d: d, o: o, cursor: -1}
	if r.o.BatchSize <= 0 {
		r.o.BatchSize = 10000
	}
	if o.Req.BatchSize > 0 {
		r.o.BatchSize = o.Req.BatchSize
	}
	if r.o.Log == nil {
		r.o.Log = slog.New(slog.DiscardHandler)
	}
	fs := make([]record.Field, len(o.Cols))
	exprs := make([]string, len(o.Cols))
	for i, c := range o.Cols {
		fs[i] = c.Field()
		exprs[i] = d.SelectExpr(c, "q")
	}
	s, err := record.NewSchema(fs...)
	if err != nil {
		return nil, fmt.Errorf("%s source %s: %w", d.Name(), o.Display, err)
	}
	r.schema, r.exprs = s, strings.Join(exprs, ", ")
	for _, k := range o.Key {
		i := s.Index(k)
		if i < 0 {
			return nil, connector.ConfigError(fmt.Errorf("key: column %q is not in %s (columns: %s)", k, o.Display, strings.Join(s.Names(), ", ")))
		}
		r.key = append(r.key, i)
	}
	r.chunked = len(r.key) > 0
	if o.Req.Mode == connector.Incremental {
		if o.Req.CursorField == "" {
			return nil, connector.ConfigError(errors.New("sync.cursor_field: required for an incremental read"))
		}
		r.cursor = s.Index(o.Req.CursorField)
		if r.cursor < 0 {
			return nil, connector.ConfigError(fmt.Errorf("sync.cursor_field: column %q is not in %s (columns: %s)", o.Req.CursorField, o.Display, strings.Join(s.Names(), ", ")))
		}
		if err := r.checkNullCursor(ctx); err != nil {
			return nil, err
		}
	}
	st, err := ParseState(o.Req.State, o.Req.CursorField, r.keyNames())
	if err != nil {
		return nil, connector.ConfigError(fmt.Errorf("%s source %s: %w", d.Name(), o.Display, err))
	}
	cur, key, err := st.Values()
	if err != nil {
		return nil, connector.ConfigError(fmt.Errorf("%s source %s: %w", d.Name(), o.Display, err))
	}
	switch {
	case r.cursor >= 0 && st.Cursor != nil:
		r.pos.Set, r.pos.Cursor = true, cur
		if r.chunked && len(key) == len(r.key) {
			r.pos.Key = key
		} else if r.chunked {
			r.pos.Set = false // a state without the key cannot place a keyset read: start over
		}
	case r.cursor < 0 && r.chunked && len(key) == len(r.key):
		r.pos.Set, r.pos.Key = true, key
	}
	r.scan = make([]any, len(o.Cols))
	r.vals = make([]any, len(o.Cols))
	for i := range r.scan {
		r.scan[i] = &r.vals[i]
	}
	return r, nil
}

func (r *Reader) keyNames() []string {
	out := make([]string, len(r.key))
	for i, k := range r.key {
		out[i] = r.o.Cols[k].Name
	}
	return out
}

func (r *Reader) checkNullCursor(ctx context.Context) error {
	col := "q." + r.d.Quote(r.o.Cols[r.cursor].Name)
	var n int64
	if err := r.db.QueryRowContext(ctx, r.d.Select("COUNT(*)", r.o.From, col+" IS NULL", "", 0)).Scan(&n); err != nil {
		return r.err(ctx, "count NULL cursor values", err)
	}
	if n == 0 {
		return nil
	}
	if r.o.NullCursor == "fail" {
		return fmt.Errorf("%s source %s: cursor column %q is NULL in %d row(s); an incremental read cannot place them (null_cursor: fail; use skip to ignore them)", r.d.Name(), r.o.Display, r.o.Cols[r.cursor].Name, n)
	}
	r.o.Log.Warn("incremental read skips rows whose cursor is NULL", "table", r.o.Display, "cursor", r.o.Cols[r.cursor].Name, "rows", n)
	return nil
}

// Schema is the schema of the batches.
func (r *Reader) Schema() *record.Schema { return r.schema }

// Query returns the next read's SQL and arguments (exported for tests of the SQL generation).
func (r *Reader) Query() (string, []any, error) {
	var where []string
	var args []any
	var order []int
	if r.cursor >= 0 {
		where = append(where, "q."+r.d.Quote(r.o.Cols[r.cursor].Name)+" IS NOT NULL")
		order = append(order, r.cursor)
	}
	if r.chunked {
		order = append(order, r.key...)
	}
	n := 0
	next := func() string { n++; return r.d.Placeholder(n) }
	if rg := r.o.Req.Range; rg != nil {
		i := r.schema.Index(rg.Field)
		if i < 0 {
			return "", nil, connector.ConfigError(fmt.Errorf("partition.key: column %q is not in %s", rg.Field, r.o.Display))
		}
		cond, vals, err := RangeWhere(*rg, "q."+r.d.Quote(rg.Field), r.o.Cols[i].Kind, next)
		if err != nil {
			return "", nil, fmt.Errorf("%s source %s: %w", r.d.Name(), r.o.Display, err)
		}
		if cond != "" {
			where = append(where, cond)
		}
		for _, v := range vals {
			a, err := r.d.Arg(v, r.o.Cols[i])
			if err != nil {
				return "", nil, fmt.Errorf("range bound for %q: %w", rg.Field, err)
			}
			args = append(args, a)
		}
	}
	if r.pos.Set {
		var cols []string
		var vals []record.Value
		var idx []int
		if r.cursor >= 0 {
			cols, vals, idx = append(cols, "q."+r.d.Quote(r.o.Cols[r.cursor].Name)), append(vals, r.pos.Cursor), append(idx, r.cursor)
		}
		if r.chunked {
			for i, k := range r.key {
				cols, vals, idx = append(cols, "q."+r.d.Quote(r.o.Cols[k].Name)), append(vals, r.pos.Key[i]), append(idx, k)
			}
		}
		where = append(where, After(cols, func(int) string { return next() }))
		ai := AfterArgs(idx)
		for i, v := range AfterArgs(vals) {
			a, err := r.d.Arg(v, r.o.Cols[ai[i]])
			if err != nil {
				return "", nil, fmt.Errorf("checkpoint value for %q: %w", r.o.Cols[ai[i]].Name, err)
			}
			args = append(args, a)
		}
	}
	ob := make([]string, len(order))
	for i, o := range order {
		ob[i] = "q." + r.d.Quote(r.o.Cols[o].Name)
	}
	limit := 0
	if r.chunked {
		limit = r.o.BatchSize
	}
	return r.d.Select(r.exprs, r.o.From, strings.Join(where, " AND "), strings.Join(ob, ", "), limit), args, nil
}

// Next returns the next batch, io.EOF at the end.
func (r *Reader) Next(ctx context.Context) (*record.Batch, error) {
	if r.done {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, r.err(ctx, "read", err)
	}
	rows := r.stream
	if rows == nil {
		sqlText, args, err := r.Query()
		if err != nil {
			return nil, err
		}
		rows, err = r.db.QueryContext(ctx, sqlText, args...)
		if err != nil {
			return nil, r.err(ctx, "read", err)
		}
		if !r.chunked {
			r.stream = rows
		}
	}
	bld := record.NewBuilder(r.schema, r.o.BatchSize)
	n := 0
	for n < r.o.BatchSize && rows.Next() {
		if err := rows.Scan(r.scan...); err != nil {
			rows.Close()
			r.stream = nil
			return nil, r.err(ctx, "read", err)
		}
		n++
		r.nrows++
		row := bld.Row(r.nrows)
		var bad error
		badCol := ""
		for i, c := range r.o.Cols {
			v, err := r.d.Decode(r.vals[i], c)
			if err != nil && bad == nil {
				bad, badCol = err, c.Name
			}
			row[i] = v
		}
		r.pos.Advance(row, r.cursor, r.key, r.chunked)
		if bad != nil {
			vals := map[string]string{}
			for i, c := range r.o.Cols {
				vals[c.Name] = row[i].String()
			}
			bld.Unrow()
			bld.Reject(record.Reject{Source: r.o.Display, Pos: r.nrows, Field: badCol, Reason: fmt.Sprintf("column %q: %v", badCol, bad), Values: vals})
		}
	}
	if r.chunked || n < r.o.BatchSize {
		err := rows.Err()
		rows.Close()
		r.stream = nil
		if err != nil {
			return nil, r.err(ctx, "read", err)
		}
		if n < r.o.BatchSize {
			r.done = true
		}
	}
	b := bld.Take()
	if b == nil {
		if r.done {
			return nil, io.EOF
		}
		b = record.NewBatch(r.schema, 0)
	}
	return b, nil
}

func (r *Reader) err(ctx context.Context, what string, err error) error {
	prefix := r.d.Name() + " source " + r.o.Display
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %s cancelled: %w", prefix, what, ctx.Err())
	case r.d.IsUndefinedTable(err):
		return fmt.Errorf("%s: the table was dropped or renamed during the read: %w", prefix, connector.ErrNotFound)
	case r.d.IsTransient(err):
		return Scrub(fmt.Errorf("%s: %s: %w (%w)", prefix, what, err, connector.ErrTransient), r.o.Secrets...)
	}
	return Scrub(fmt.Errorf("%s: %s: %w", prefix, what, err), r.o.Secrets...)
}

// State is the checkpoint after the last batch.
func (r *Reader) State() (json.RawMessage, error) {
	cursorField := ""
	if r.cursor >= 0 {
		cursorField = r.o.Cols[r.cursor].Name
	}
	var keyFields []string
	if r.chunked {
		keyFields = r.keyNames()
	}
	return r.pos.State(cursorField, keyFields)
}

// Close ends the read and closes the database handle.
func (r *Reader) Close() error {
	if r.stream != nil {
		r.stream.Close()
		r.stream = nil
	}
	return r.db.Close()
}
