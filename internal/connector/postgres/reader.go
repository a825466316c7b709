package postgres

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// reader reads a table, view or query. With a key it reads in keyset chunks, one query per chunk,
// emitting each chunk in batches as its rows arrive; without one it streams a single query.
type reader struct {
	pool    *pgxpool.Pool
	log     *slog.Logger
	secrets []string

	display string // schema.table or "query"
	from    string // quoted relation or (query)
	cols    []column
	schema  *record.Schema
	exprs   string // the select list

	key       []int // indices of the key columns
	cursor    int   // index of the cursor column; -1 for full refresh
	batchSize int   // rows per batch
	chunk     int   // rows per keyset query
	chunked   bool
	inChunk   int // rows read from the current keyset query

	// position after the last emitted row
	pos sqlkit.Position

	stream pgx.Rows // open result of a streamed read
	done   bool
	nrows  int64

	// a chunk of a partitioned run: the range predicate with $1.. and its bounds
	rangeWhere string
	rangeArgs  []any
}

// Open starts a read of the configured table or query (or the stream's table).
func (c *Connector) Open(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	return sqlkit.Hand(ctx, c.kit(env), raw, func(cfg Config, pool *pgxpool.Pool) (connector.Reader, error) {
		return newReader(ctx, pool, cfg, env, req)
	})
}

func newReader(ctx context.Context, pool *pgxpool.Pool, cfg Config, env connector.Env, req connector.ReadRequest) (*reader, error) {
	r := &reader{pool: pool, log: sqlkit.Logger(env), secrets: cfg.secrets(), cursor: -1, chunk: cfg.BatchSize}
	if r.chunk <= 0 {
		r.chunk = defaultChunk
	}
	// Batches are small (the engine's size, else defaultBatch) whatever the chunk: the engine holds
	// a few batches in flight, so their size, not the chunk's, sets the memory a read needs.
	r.batchSize = min(r.chunk, defaultBatch)
	if req.BatchSize > 0 {
		r.batchSize = req.BatchSize
		r.chunk = max(r.chunk, req.BatchSize)
	}
	keyNames := cfg.Key
	switch {
	case cfg.Query != "":
		cols, err := describeQuery(ctx, pool, cfg.Query)
		if err != nil {
			return nil, wrap("postgres source", err)
		}
		r.cols, r.display = cols, "query"
		r.from = "(" + strings.TrimRight(strings.TrimSpace(cfg.Query), ";") + ")"
	default:
		name := cfg.Table
		if name == "" {
			name = req.Stream
		}
		if name == "" {
			return nil, connector.ConfigError(errors.New("table: required (or query, or a stream name)"))
		}
		t, err := findTable(ctx, pool, cfg.Schema, name)
		if err != nil {
			return nil, wrap("postgres source", err)
		}
		r.cols, r.display, r.from = t.cols, t.display(), t.qualified()
		if len(keyNames) == 0 {
			keyNames = t.pk
		}
	}
	fs := make([]record.Field, len(r.cols))
	exprs := make([]string, len(r.cols))
	for i, c := range r.cols {
		fs[i] = c.field()
		exprs[i] = c.selectExpr("q")
	}
	s, err := record.NewSchema(fs...)
	if err != nil {
		return nil, fmt.Errorf("postgres source %s: %w", r.display, err)
	}
	r.schema, r.exprs = s, strings.Join(exprs, ", ")
	for _, k := range keyNames {
		i := s.Index(k)
		if i < 0 {
			return nil, connector.ConfigError(fmt.Errorf("key: column %q is not in %s (columns: %s)", k, r.display, joinNames(s.Names())))
		}
		r.key = append(r.key, i)
	}
	r.chunked = len(r.key) > 0
	if req.Mode == connector.Incremental {
		if req.CursorField == "" {
			return nil, connector.ConfigError(errors.New("sync.cursor_field: required for an incremental read"))
		}
		r.cursor = s.Index(req.CursorField)
		if r.cursor < 0 {
			return nil, connector.ConfigError(fmt.Errorf("sync.cursor_field: column %q is not in %s (columns: %s)", req.CursorField, r.display, joinNames(s.Names())))
		}
		if err := r.checkNullCursor(ctx, cfg.NullCursor); err != nil {
			return nil, err
		}
	}
	if req.Range != nil {
		if err := r.setRange(*req.Range); err != nil {
			return nil, err
		}
	}
	st, err := sqlkit.ParseState(req.State, req.CursorField, r.keyNames())
	if err != nil {
		return nil, connector.ConfigError(fmt.Errorf("postgres source %s: %w", r.display, err))
	}
	cur, key, err := st.Values()
	if err != nil {
		return nil, connector.ConfigError(fmt.Errorf("postgres source %s: %w", r.display, err))
	}
	switch {
	case r.cursor >= 0 && st.Cursor != nil:
		switch {
		case !r.chunked:
			r.pos.Set, r.pos.Cursor = true, cur
		case len(key) == len(r.key):
			r.pos.Set, r.pos.Cursor, r.pos.Key = true, cur, key
		}
		// a state without the key cannot place a keyset read: read everything again (nothing is lost)
	case r.cursor < 0 && r.chunked && len(key) == len(r.key):
		r.pos.Set, r.pos.Key = true, key
	}
	return r, nil
}

// setRange restricts the read to a chunk's key range (the bounds travel as text cast to the column's
// type, as the keyset position does).
func (r *reader) setRange(rg connector.KeyRange) error {
	i := r.schema.Index(rg.Field)
	if i < 0 {
		return connector.ConfigError(fmt.Errorf("partition.key: column %q is not in %s", rg.Field, r.display))
	}
	c := r.cols[i]
	n := 0
	cond, vals, err := sqlkit.RangeWhere(rg, "q."+q(c.name), r.schema.Fields[i].Kind, func() string {
		n++
		return "$" + strconv.Itoa(n) + "::text::" + c.format
	})
	if err != nil {
		return connector.ConfigError(fmt.Errorf("postgres source %s: %w", r.display, err))
	}
	r.rangeWhere = cond
	for _, v := range vals {
		r.rangeArgs = append(r.rangeArgs, rangeText(v))
	}
	return nil
}

// rangeText is a range bound as PostgreSQL reads it.
func rangeText(v record.Value) string {
	switch v.Kind() {
	case record.KindTimestamp:
		return v.AsTime().UTC().Format(time.RFC3339Nano)
	case record.KindDate:
		return v.AsTime().UTC().Format("2006-01-02")
	}
	return v.String()
}

// Partitions splits the read into key ranges when the config has partition
// (sqlkit.PartitionConfig): it reads the key's smallest and largest values (and the row count for
// chunk_rows) and cuts the range into chunks of equal width.
func (c *Connector) Partitions(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) ([]connector.KeyRange, error) {
	return sqlkit.Use(ctx, c.kit(env), raw, func(cfg Config, pool *pgxpool.Pool) ([]connector.KeyRange, error) {
		p := cfg.Partition
		if p == nil {
			return nil, nil
		}
		if p.Chunks > 0 && p.ChunkRows > 0 {
			return nil, connector.ConfigError(errors.New("partition: set chunks or chunk_rows, not both"))
		}
		req.State, req.Range = nil, nil
		r, err := newReader(ctx, pool, cfg, env, req)
		if err != nil {
			return nil, err
		}
		i := r.schema.Index(p.Key)
		if i < 0 {
			return nil, connector.ConfigError(fmt.Errorf("partition.key: column %q is not in %s (columns: %s)", p.Key, r.display, joinNames(r.schema.Names())))
		}
		kind := r.schema.Fields[i].Kind
		col := "q." + q(p.Key)
		var expr string
		switch kind {
		case record.KindInt:
			expr = "%s(" + col + ")::bigint"
		case record.KindDate:
			expr = "(%s(" + col + ") - date '1970-01-01')::bigint"
		case record.KindTimestamp:
			expr = "(extract(epoch from %s(" + col + ")) * 1000000)::bigint"
		default:
			return nil, connector.ConfigError(fmt.Errorf("partition.key: column %q is %s (%s); a partition key must be an integer, date or timestamp column", p.Key, kind, r.cols[i].format))
		}
		sql := "SELECT " + fmt.Sprintf(expr, "min") + ", " + fmt.Sprintf(expr, "max") + ", "
		if p.ChunkRows > 0 {
			sql += "count(*)"
		} else {
			sql += "0::bigint"
		}
		sql += " FROM " + r.from + " AS q"
		var lo, hi *int64
		var rows int64
		if err := pool.QueryRow(ctx, sql).Scan(&lo, &hi, &rows); err != nil {
			return nil, sqlkit.Scrub(wrap("postgres source "+r.display+": measure partition key "+p.Key, err), r.secrets...)
		}
		b := sqlkit.Bounds{Kind: kind, Rows: rows}
		if lo != nil && hi != nil {
			switch kind {
			case record.KindTimestamp:
				b.Min, b.Max = record.TimestampMicros(*lo), record.TimestampMicros(*hi)
			case record.KindDate:
				b.Min, b.Max = record.DateFromDays(*lo), record.DateFromDays(*hi)
			default:
				b.Min, b.Max = record.Int(*lo), record.Int(*hi)
			}
		}
		return sqlkit.Split(p.Key, b, p.ChunkCount(rows))
	})
}

func (r *reader) keyNames() []string {
	out := make([]string, len(r.key))
	for i, k := range r.key {
		out[i] = r.cols[k].name
	}
	return out
}

// checkNullCursor counts rows an incremental read cannot place; it warns or fails per null_cursor.
func (r *reader) checkNullCursor(ctx context.Context, policy string) error {
	col := "q." + q(r.cols[r.cursor].name)
	sql := "SELECT count(*) FROM " + r.from + " AS q WHERE " + col + " IS NULL"
	var n int64
	if err := r.pool.QueryRow(ctx, sql).Scan(&n); err != nil {
		return wrap("postgres source "+r.display+": count NULL cursor values", err)
	}
	if n == 0 {
		return nil
	}
	if policy == "fail" {
		return fmt.Errorf("postgres source %s: cursor column %q is NULL in %d row(s); an incremental read cannot place them (null_cursor: fail; use skip to ignore them)", r.display, r.cols[r.cursor].name, n)
	}
	r.log.Warn("incremental read skips rows whose cursor is NULL", "table", r.display, "cursor", r.cols[r.cursor].name, "rows", n)
	return nil
}

// Default rows per keyset query and per batch.
const (
	defaultChunk = 10000
	defaultBatch = 1024
)

func (r *reader) Schema() *record.Schema { return r.schema }

// query builds the read: the select list over the relation, after the saved position, in cursor
// then key order, limited to one batch when chunked.
func (r *reader) query() (string, []any) {
	var b strings.Builder
	b.WriteString("SELECT " + r.exprs + " FROM " + r.from + " AS q")
	var where []string
	var args []any
	var order []int
	if r.rangeWhere != "" {
		where, args = append(where, r.rangeWhere), append(args, r.rangeArgs...)
	}
	if r.cursor >= 0 {
		where = append(where, "q."+q(r.cols[r.cursor].name)+" IS NOT NULL")
		order = append(order, r.cursor)
	}
	if r.chunked {
		order = append(order, r.key...)
	}
	if r.pos.Set {
		var cols []string
		var vals []record.Value
		var idx []int
		if r.cursor >= 0 {
			cols, vals, idx = append(cols, "q."+q(r.cols[r.cursor].name)), append(vals, r.pos.Cursor), append(idx, r.cursor)
		}
		if r.chunked {
			for i, k := range r.key {
				cols, vals, idx = append(cols, "q."+q(r.cols[k].name)), append(vals, r.pos.Key[i]), append(idx, k)
			}
		}
		n := len(args)
		where = append(where, sqlkit.After(cols, func(i int) string {
			n++
			c := r.cols[idx[i]]
			if c.typname == "bytea" {
				return "decode($" + strconv.Itoa(n) + "::text, 'base64')"
			}
			return "$" + strconv.Itoa(n) + "::text::" + c.format
		}))
		for _, v := range sqlkit.AfterArgs(vals) {
			if v.Kind() == record.KindBytes {
				args = append(args, base64.StdEncoding.EncodeToString(v.AsBytes()))
			} else {
				args = append(args, v.String())
			}
		}
	}
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	if len(order) > 0 {
		b.WriteString(" ORDER BY ")
		for i, o := range order {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("q." + q(r.cols[o].name))
		}
	}
	if r.chunked {
		b.WriteString(" LIMIT " + strconv.Itoa(r.chunk))
	}
	return b.String(), args
}

func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	if r.done {
		return nil, io.EOF
	}
	// rows of a chunk already received would otherwise keep coming after a cancel
	if err := ctx.Err(); err != nil {
		return nil, r.readErr(ctx, err)
	}
	rows := r.stream
	bld := record.NewBuilder(r.schema, r.batchSize)
	a := &arena{}
	n := 0
	for n < r.batchSize {
		if rows == nil {
			sql, args := r.query()
			var err error
			if rows, err = r.pool.Query(ctx, sql, args...); err != nil {
				return nil, r.readErr(ctx, err)
			}
			r.stream, r.inChunk = rows, 0
		}
		if !rows.Next() {
			rows.Close()
			r.stream = nil
			if err := rows.Err(); err != nil {
				return nil, r.readErr(ctx, err)
			}
			if r.chunked && r.inChunk == r.chunk {
				rows = nil // a full chunk: the next one starts after its last key
				continue
			}
			r.done = true
			break
		}
		n++
		r.nrows++
		r.inChunk++
		fds := rows.FieldDescriptions()
		raw := rows.RawValues()
		row := bld.Row(r.nrows)
		var bad error
		badCol := ""
		for i := range r.cols {
			v, err := decode(a, raw[i], fds[i].DataTypeOID, fds[i].Format, r.schema.Fields[i].Kind)
			if err != nil && bad == nil {
				bad, badCol = err, r.cols[i].name
			}
			row[i] = v
		}
		r.pos.Advance(row, r.cursor, r.key, r.chunked)
		if bad != nil {
			vals := map[string]string{}
			for i, c := range r.cols {
				vals[c.name] = row[i].String()
			}
			bld.Unrow()
			bld.Reject(record.Reject{Source: r.display, Pos: r.nrows, Field: badCol, Reason: fmt.Sprintf("column %q: %v", badCol, bad), Values: vals})
		}
	}
	if r.chunked && r.stream != nil && r.inChunk == r.chunk {
		// the chunk is read: free its connection now; the next Next starts the next chunk
		r.stream.Close()
		if err := r.stream.Err(); err != nil {
			r.stream = nil
			return nil, r.readErr(ctx, err)
		}
		r.stream = nil
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

func (r *reader) readErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("postgres source %s: read cancelled: %w", r.display, ctx.Err())
	}
	if isUndefinedTable(err) {
		return fmt.Errorf("postgres source %s: the table was dropped or renamed during the read: %w", r.display, connector.ErrNotFound)
	}
	return sqlkit.Scrub(wrap("postgres source "+r.display+": read", err), r.secrets...)
}

func (r *reader) State() (json.RawMessage, error) {
	cursorField := ""
	if r.cursor >= 0 {
		cursorField = r.cols[r.cursor].name
	}
	var keyFields []string
	if r.chunked {
		keyFields = r.keyNames()
	}
	return r.pos.State(cursorField, keyFields)
}

func (r *reader) Close() error {
	if r.stream != nil {
		r.stream.Close()
		r.stream = nil
	}
	r.pool.Close()
	return nil
}
