package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// ordColumn is the ordinal column of the upsert staging table (the last row of a key wins).
const ordColumn = "__aggregator_ord"

// delColumn is the upsert temp table's column that marks a row whose sqlkit.OpField said delete.
const delColumn = "__aggregator_delete"

type writer struct {
	pool    *pgxpool.Pool
	conn    *pgxpool.Conn
	tx      pgx.Tx
	log     *slog.Logger
	secrets []string
	req     connector.WriteRequest

	schemaName, tableName string
	display               string

	schema  *record.Schema
	kinds   []record.Kind // the kind each field's destination column stores
	arrays  []bool        // the destination column is an array
	types   []string      // the destination column's type name (pg_type.typname)
	binary  bool          // every destination column takes binary COPY
	convert bool          // some field needs converting
	keyIdx  []int         // key fields (upsert key, else the table's primary key) for messages
	load    string        // quoted table COPY loads into
	copySQL string
	staging string // overwrite: the staging table's name
	tmp     string // upsert: the temp table's name
	merge   string // upsert: INSERT ... ON CONFLICT from tmp
	written int64
	// savepoint is true while the transaction holds the agg_rows savepoint
	savepoint bool

	pend       pending // rows encoded but not yet loaded
	spare      pending // the buffer a background load is sending (owned by it while inflight is set)
	inflight   chan loadResult
	flushRows  int   // load when this many rows are buffered
	flushBytes int   // or this many bytes
	seq        int64 // the number of the current Write
	ordSeq     int64 // upsert: the next row's ordinal
	// deferred are problems found outside a Write (at Commit, or flushing before a schema change),
	// returned by the next Write or Close
	deferred []connector.RowProblem

	ops   sqlkit.Ops    // takes sqlkit.OpField out of upsert batches
	marks *sqlkit.Marks // nil when the request names no node (a writer used outside a pipeline run)
	// closedBefore: an earlier attempt of the run closed this destination (its marker is closed)
	closedBefore bool
}

var _ connector.MarkedWriter = (*writer)(nil)

// OpenWriter opens a writer on the configured table (or the stream's).
func (c *Connector) OpenWriter(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	return sqlkit.Hand(ctx, sqlkit.ForWriter(c.kit(env), Config.tableConfig, req), raw, func(cfg Config, pool *pgxpool.Pool) (connector.Writer, error) {
		name := sqlkit.TableOf(cfg.TableConfig, req)
		if err := sqlkit.CheckIdent("table", name, maxIdent); err != nil {
			return nil, connector.ConfigError(fmt.Errorf("table: %w", err))
		}
		w := &writer{pool: pool, log: sqlkit.Logger(env), secrets: cfg.secrets(), req: req, schemaName: cfg.Schema, tableName: name,
			flushRows: cfg.CopyBufferRows, flushBytes: defaultFlushBytes}
		if w.req.Mode == "" {
			w.req.Mode = connector.Append
		}
		if w.req.RunID == "" {
			w.req.RunID = sqlkit.RandomID()
		}
		if err := w.open(ctx); err != nil {
			w.release(ctx)
			return nil, err
		}
		if req.Node != "" {
			if err := w.openMarks(ctx); err != nil {
				w.release(ctx)
				return nil, err
			}
		}
		if req.Schema != nil && !w.closedBefore {
			if err := w.prepare(ctx, w.ops.Schema(req.Schema, req.Mode)); err != nil {
				w.release(ctx)
				return nil, err
			}
		}
		return w, nil
	})
}

func (w *writer) open(ctx context.Context) error {
	conn, err := w.pool.Acquire(ctx)
	if err != nil {
		return w.err("connect", err)
	}
	w.conn = conn
	if w.schemaName == "" {
		s, err := currentSchema(ctx, conn)
		if err != nil {
			return w.err("find schema", err)
		}
		w.schemaName = s
	}
	w.display = w.schemaName + "." + w.tableName
	return nil
}

func (w *writer) target() string { return sqlkit.Qualified(q, w.schemaName, w.tableName) }

func placeholder(n int) string { return "$" + strconv.Itoa(n) }

// openMarks creates the commit marker table when missing, purges old markers and, on resume, reads
// this run's marker.
func (w *writer) openMarks(ctx context.Context) error {
	w.marks = sqlkit.NewMarks(q, placeholder, w.schemaName, w.req.RunID, w.req.Node, w.display)
	if err := w.exec(ctx, createSQL(w.marks.Table(), sqlkit.MarkSchema(), sqlkit.MarkKey)); err != nil {
		// CREATE TABLE IF NOT EXISTS races with a writer creating it at the same moment
		if _, ferr := findTable(ctx, w.conn, w.schemaName, sqlkit.MarkTable); ferr != nil {
			return w.err("create commit marker table "+sqlkit.MarkTable, err)
		}
	}
	if err := w.run(ctx, w.marks.Purge(time.Now())); err != nil {
		return w.err("purge old commit markers", err)
	}
	if !w.req.Resume {
		return nil
	}
	var mk connector.Marker
	sel := w.marks.Select()
	switch err := w.conn.QueryRow(ctx, sel.SQL, sel.Args...).Scan(&mk.Rows, &mk.Closed); {
	case errors.Is(err, pgx.ErrNoRows):
		w.marks.Found(mk, false)
	case err != nil:
		return w.err("read commit marker", err)
	default:
		w.marks.Found(mk, true)
		w.closedBefore = mk.Closed
	}
	return nil
}

func (w *writer) run(ctx context.Context, stmts ...sqlkit.Stmt) error {
	for _, st := range stmts {
		if err := w.exec(ctx, st.SQL, st.Args...); err != nil {
			return err
		}
	}
	return nil
}

// SetMarker sets the marker the next Commit or Close stores with the rows.
func (w *writer) SetMarker(m connector.Marker) {
	if w.marks != nil {
		w.marks.Set(m)
	}
}

// Committed is this run's marker read when the writer was opened to resume.
func (w *writer) Committed(context.Context) (connector.Marker, bool, error) {
	if w.marks == nil {
		return connector.Marker{}, false, nil
	}
	m, ok := w.marks.Committed()
	return m, ok, nil
}

// resumedRows is the number of rows an earlier attempt of the run committed (0: none or not resuming).
func (w *writer) resumedRows() int64 {
	if w.marks == nil || !w.req.Resume {
		return 0
	}
	m, _ := w.marks.Committed()
	return m.Rows
}

func (w *writer) begin(ctx context.Context) error {
	if w.tx != nil {
		return nil
	}
	tx, err := w.conn.Begin(ctx)
	if err != nil {
		return w.err("begin", err)
	}
	w.tx = tx
	return nil
}

func (w *writer) exec(ctx context.Context, sql string, args ...any) error {
	var err error
	if w.tx != nil {
		_, err = w.tx.Exec(ctx, sql, args...)
	} else {
		_, err = w.conn.Exec(ctx, sql, args...)
	}
	return err
}

// prepare makes the destination ready for rows of schema s: creates or evolves the table, the
// staging table (overwrite) or the temp table (upsert).
func (w *writer) prepare(ctx context.Context, s *record.Schema) error {
	for _, f := range s.Fields {
		if err := sqlkit.CheckIdent("column", f.Name, maxIdent); err != nil {
			return connector.ConfigError(fmt.Errorf("table %s: %w", w.display, err))
		}
	}
	for _, k := range w.req.Key {
		if s.Index(k) < 0 {
			return connector.ConfigError(fmt.Errorf("write.key: field %q is not in the input (fields: %s)", k, joinNames(s.Names())))
		}
	}
	existing, err := findTable(ctx, w.conn, w.schemaName, w.tableName)
	if err != nil && !errors.Is(err, connector.ErrNotFound) {
		return w.err("read table", err)
	}
	into := existing // the table whose columns the load must match
	switch w.req.Mode {
	case connector.Overwrite:
		if w.staging == "" {
			w.staging = sqlkit.StagingName("_agg_stage_", w.tableName, w.req.RunID, maxIdent)
			st, err := findTable(ctx, w.conn, w.schemaName, w.staging)
			switch {
			case err == nil && w.req.Resume:
				into = st // continue the interrupted run's staging table
			case err != nil && !errors.Is(err, connector.ErrNotFound):
				return w.err("read staging table", err)
			case w.resumedRows() > 0:
				return fmt.Errorf("postgres destination %s: the staging table %s holding the %d rows the interrupted run committed is gone; the run must start afresh", w.display, w.staging, w.resumedRows())
			default:
				stg := sqlkit.Qualified(q, w.schemaName, w.staging)
				if err := w.exec(ctx, "DROP TABLE IF EXISTS "+stg); err != nil {
					return w.err("drop old staging table", err)
				}
				if existing != nil {
					err = w.exec(ctx, "CREATE TABLE "+stg+" (LIKE "+w.target()+" INCLUDING ALL)")
				} else {
					err = w.exec(ctx, createSQL(stg, s, w.req.Key))
				}
				if err != nil {
					return w.err("create staging table", err)
				}
				if into, err = findTable(ctx, w.conn, w.schemaName, w.staging); err != nil {
					return w.err("read staging table", err)
				}
			}
		} else if into, err = findTable(ctx, w.conn, w.schemaName, w.staging); err != nil {
			return w.err("read staging table", err)
		}
		w.load = sqlkit.Qualified(q, w.schemaName, w.staging)
	default:
		if existing == nil {
			if err := w.exec(ctx, createSQL(w.target(), s, w.req.Key)); err != nil {
				// CREATE TABLE IF NOT EXISTS races with another writer (a chunk of the same
				// partitioned run) creating it at the same moment
				if _, ferr := findTable(ctx, w.conn, w.schemaName, w.tableName); ferr != nil {
					return w.err("create table", err)
				}
			}
			if into, err = findTable(ctx, w.conn, w.schemaName, w.tableName); err != nil {
				return w.err("read table", err)
			}
		}
		w.load = w.target()
	}
	// evolve: add what the table lacks, refuse what it cannot hold
	cols := make([]sqlkit.Column, len(into.cols))
	byName := map[string]column{}
	for i, c := range into.cols {
		cols[i] = sqlkit.Column{Name: c.name, Native: c.format, Kind: c.kind(), Nullable: !c.notNull}
		byName[c.name] = c
	}
	plan, err := sqlkit.Evolve(w.display, s, cols, nil)
	if err != nil {
		return err
	}
	loadTable := w.load
	// IF NOT EXISTS: the chunks of a partitioned run evolve the same table at once, each from the
	// description it read before the others' ALTER (PostgreSQL makes the second wait for the first
	// to commit, then skips it)
	for _, f := range plan.Add {
		f.Nullable = true
		if err := w.exec(ctx, "ALTER TABLE "+loadTable+" ADD COLUMN IF NOT EXISTS "+q(f.Name)+" "+ddlType(f)); err != nil {
			return w.err(fmt.Sprintf("add column %q", f.Name), err)
		}
		w.log.Info("added column to destination table", "table", w.display, "column", f.Name, "type", ddlType(f))
	}
	w.schema, w.kinds = s, plan.Target
	w.arrays = make([]bool, len(s.Fields))
	w.types = make([]string, len(s.Fields))
	w.convert, w.binary = false, true
	for i, f := range s.Fields {
		if c, ok := byName[f.Name]; ok {
			w.arrays[i], w.types[i] = c.isArray(), c.typname
		} else {
			w.types[i] = typnameOf(f)
		}
		if w.arrays[i] || !binaryTypes[w.types[i]] {
			w.binary = false
		}
		if f.Kind != w.kinds[i] {
			w.convert = true
		}
	}
	format := ""
	if w.binary {
		format = " (FORMAT binary)"
	}
	keyNames := w.req.Key
	if len(keyNames) == 0 && existing != nil {
		keyNames = existing.pk
	}
	w.keyIdx = w.keyIdx[:0]
	for _, k := range keyNames {
		if i := s.Index(k); i >= 0 {
			w.keyIdx = append(w.keyIdx, i)
		}
	}
	names := sqlkit.QuoteAll(q, s.Names())
	if w.req.Mode == connector.Upsert {
		if err := w.prepareUpsert(ctx, s, into); err != nil {
			return err
		}
		w.copySQL = "COPY " + q(w.tmp) + " (" + names + ", " + q(ordColumn)
		if w.ops.Active() {
			w.copySQL += ", " + q(delColumn)
		}
		w.copySQL += ") FROM STDIN" + format
		return nil
	}
	w.copySQL = "COPY " + w.load + " (" + names + ") FROM STDIN" + format
	return nil
}

func (w *writer) prepareUpsert(ctx context.Context, s *record.Schema, t *table) error {
	unique, err := hasUniqueKey(ctx, w.conn, w.target(), w.req.Key)
	if err != nil {
		return w.err("read indexes", err)
	}
	if !unique {
		return connector.ConfigError(fmt.Errorf("table %s: upsert by (%s) needs a primary key or unique index on exactly those columns; create one or choose write.key to match", w.display, joinNames(w.req.Key)))
	}
	w.tmp = sqlkit.StagingName("_agg_upsert_", "", w.req.RunID, maxIdent)
	if err := w.exec(ctx, "DROP TABLE IF EXISTS pg_temp."+q(w.tmp)); err != nil {
		return w.err("drop temp table", err)
	}
	if err := w.exec(ctx, "CREATE TEMP TABLE "+q(w.tmp)+" (LIKE "+w.target()+" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"); err != nil {
		return w.err("create temp table", err)
	}
	if err := w.exec(ctx, "ALTER TABLE "+q(w.tmp)+" ADD COLUMN "+q(ordColumn)+" bigint"); err != nil {
		return w.err("create temp table", err)
	}
	names := sqlkit.QuoteAll(q, s.Names())
	keys := sqlkit.QuoteAll(q, w.req.Key)
	isKey := map[string]bool{}
	for _, k := range w.req.Key {
		isKey[k] = true
	}
	var b strings.Builder
	if w.ops.Active() {
		// the last record of each key wins: a delete removes the row, anything else upserts it
		if err := w.exec(ctx, "ALTER TABLE "+q(w.tmp)+" ADD COLUMN "+q(delColumn)+" boolean"); err != nil {
			return w.err("create temp table", err)
		}
		for _, c := range t.cols {
			if c.notNull && !isKey[c.name] { // a delete carries only the key
				if err := w.exec(ctx, "ALTER TABLE "+q(w.tmp)+" ALTER COLUMN "+q(c.name)+" DROP NOT NULL"); err != nil {
					return w.err("create temp table", err)
				}
			}
		}
		var on []string
		for _, k := range w.req.Key {
			on = append(on, "t."+q(k)+" = l."+q(k))
		}
		b.WriteString("WITH l AS MATERIALIZED (SELECT DISTINCT ON (" + keys + ") * FROM " + q(w.tmp) + " ORDER BY " + keys + ", " + q(ordColumn) + " DESC), " +
			"d AS (DELETE FROM " + w.target() + " t USING l WHERE l." + q(delColumn) + " AND " + strings.Join(on, " AND ") + ") " +
			"INSERT INTO " + w.target() + " (" + names + ") SELECT " + names + " FROM l WHERE NOT l." + q(delColumn) + " ON CONFLICT (" + keys + ") DO ")
	} else {
		b.WriteString("INSERT INTO " + w.target() + " (" + names + ") SELECT DISTINCT ON (" + keys + ") " + names +
			" FROM " + q(w.tmp) + " ORDER BY " + keys + ", " + q(ordColumn) + " DESC ON CONFLICT (" + keys + ") DO ")
	}
	var sets []string
	for _, n := range s.Names() {
		if !isKey[n] {
			sets = append(sets, q(n)+" = EXCLUDED."+q(n))
		}
	}
	if len(sets) == 0 {
		b.WriteString("NOTHING")
	} else {
		b.WriteString("UPDATE SET " + strings.Join(sets, ", "))
	}
	w.merge = b.String()
	return nil
}

// createSQL is CREATE TABLE for a schema (see ddlType), with a primary key when key is given.
func createSQL(name string, s *record.Schema, key []string) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + name + " (")
	isKey := map[string]bool{}
	for _, k := range key {
		isKey[k] = true
	}
	for i, f := range s.Fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(q(f.Name) + " " + ddlType(f))
		if isKey[f.Name] {
			b.WriteString(" NOT NULL")
		}
	}
	if len(key) > 0 {
		b.WriteString(", PRIMARY KEY (" + sqlkit.QuoteAll(q, key) + ")")
	}
	b.WriteString(")")
	return b.String()
}

func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	if b == nil || len(b.Rows) == 0 {
		return nil
	}
	if w.closedBefore {
		return fmt.Errorf("postgres destination %s: an earlier attempt of run %s finished this destination; nothing more can be written", w.display, w.req.RunID)
	}
	b, dels := w.ops.Split(b, w.req.Mode)
	if w.schema == nil || (b.Schema != w.schema && !b.Schema.Equal(w.schema)) {
		// rows buffered for the old schema go first, with the old COPY statement
		bad, err := w.flush(ctx, 0)
		if err != nil {
			return err
		}
		w.deferred = append(w.deferred, bad...)
		if err := w.prepare(ctx, b.Schema); err != nil {
			return err
		}
	}
	if err := w.begin(ctx); err != nil {
		return err
	}
	rows, idx, problems := w.convertRows(b)
	w.seq++
	w.add(b, rows, idx, dels)
	switch {
	case w.flushRows <= 0:
		// unbuffered: this batch's COPY, before returning, so its refused rows carry their index
		bad, err := w.flush(ctx, w.seq)
		if err != nil {
			return err
		}
		problems = append(problems, bad...)
	case w.full():
		if err := w.flushAsync(ctx); err != nil {
			return err
		}
	}
	if len(w.deferred) > 0 {
		problems = append(problems, w.deferred...)
		w.deferred = nil
	}
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Index < problems[j].Index })
		return &connector.RowError{Rows: problems}
	}
	return nil
}

// convertRows casts values to what the destination columns store; rows that cannot be converted
// become problems and are left out of the load.
func (w *writer) convertRows(b *record.Batch) ([]record.Row, []int, []connector.RowProblem) {
	rows := b.Rows
	var problems []connector.RowProblem
	idx := make([]int, 0, len(rows))
	if w.convert {
		rows = make([]record.Row, len(b.Rows))
	}
	for i, r := range b.Rows {
		ok := true
		out := r
		if w.convert {
			out = make(record.Row, len(r))
		}
		for j, v := range r {
			if w.convert && w.kinds[j] != w.schema.Fields[j].Kind {
				cv, err := sqlkit.Convert(v, w.kinds[j])
				if err != nil {
					problems = append(problems, w.rowProblem(b, i, w.schema.Fields[j].Name, err.Error()))
					ok = false
					break
				}
				v = cv
				out[j] = v
			} else if w.convert {
				out[j] = v
			}
			switch v.Kind() {
			case record.KindString, record.KindJSON:
				if strings.IndexByte(v.Str(), 0) >= 0 {
					problems = append(problems, w.rowProblem(b, i, w.schema.Fields[j].Name, "contains a NUL byte, which PostgreSQL text cannot store"))
					ok = false
				}
				if ok && w.arrays[j] && v.Kind() == record.KindJSON {
					if _, err := jsonToArray(v.Str()); err != nil {
						problems = append(problems, w.rowProblem(b, i, w.schema.Fields[j].Name, err.Error()))
						ok = false
					}
				}
			}
			if ok && w.binary && !v.IsNull() {
				if err := checkBinary(v, w.types[j]); err != nil {
					problems = append(problems, w.rowProblem(b, i, w.schema.Fields[j].Name, err.Error()))
					ok = false
				}
			}
			if !ok {
				break
			}
		}
		if w.convert {
			rows[i] = out
		}
		if ok {
			idx = append(idx, i)
		}
	}
	return rows, idx, problems
}

var copyColumnRe = regexp.MustCompile(`, column (.+?)(?:: "|$)`)

func (w *writer) problem(index int, keys []record.Value, pos int64, err error) connector.RowProblem {
	field := ""
	reason := err.Error()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		field = pgErr.ColumnName
		if field == "" {
			if m := copyColumnRe.FindStringSubmatch(pgErr.Where); m != nil {
				field = m[1]
			}
		}
		reason = pgErr.Message
		if pgErr.Detail != "" && !strings.Contains(pgErr.Detail, "Failing row contains") {
			reason += " (" + pgErr.Detail + ")"
		}
		reason += " [SQLSTATE " + pgErr.Code + "]"
	}
	return w.problemAt(index, keys, pos, field, reason)
}

// rowProblem is a problem with row i of batch b.
func (w *writer) rowProblem(b *record.Batch, i int, field, reason string) connector.RowProblem {
	var keys []record.Value
	for _, k := range w.keyIdx {
		keys = append(keys, b.Rows[i][k])
	}
	return w.problemAt(i, keys, b.PosOf(i), field, reason)
}

// problemAt is the problem of a row with these key values (of keyIdx), source position and batch
// index (-1: a row of an earlier batch).
func (w *writer) problemAt(index int, keys []record.Value, pos int64, field, reason string) connector.RowProblem {
	names := make([]string, len(w.keyIdx))
	for n, k := range w.keyIdx {
		names[n] = w.schema.Fields[k].Name
	}
	return sqlkit.Problem(w.display, names, keys, pos, index, field, reason, w.secrets...)
}

// Commit loads what is buffered and commits, with the marker set by SetMarker when it changed. Rows
// the table refused since the last Write returned (here or in a background load) are not written:
// they come back as a RowError naming each one (Index -1, with its source position), after
// everything else is committed.
func (w *writer) Commit(ctx context.Context) error {
	dirty := w.marks != nil && w.marks.Dirty()
	if w.tx == nil && dirty {
		if err := w.begin(ctx); err != nil {
			return err
		}
	}
	if w.tx != nil {
		bad, err := w.flush(ctx, 0)
		if err != nil {
			return err
		}
		w.deferred = append(w.deferred, bad...)
		if dirty {
			if err := w.run(ctx, w.marks.Store(time.Now())...); err != nil {
				return w.err("store commit marker", err)
			}
		}
		tx := w.tx
		w.tx, w.savepoint = nil, false
		if err := tx.Commit(ctx); err != nil {
			return w.err("commit", err)
		}
		if dirty {
			w.marks.Stored()
		}
	}
	if len(w.deferred) > 0 {
		re := &connector.RowError{Rows: w.deferred}
		w.deferred = nil
		return re
	}
	return nil
}

// Close commits (storing the closed marker) and, for overwrite, swaps the staging table in, in one
// transaction. When an earlier attempt of the run closed the destination, Close only completes its
// swap if it was cut short.
func (w *writer) Close(ctx context.Context) error {
	defer w.release(ctx)
	if w.closedBefore {
		if w.req.Mode != connector.Overwrite {
			return nil
		}
		w.staging = sqlkit.StagingName("_agg_stage_", w.tableName, w.req.RunID, maxIdent)
		switch _, err := findTable(ctx, w.conn, w.schemaName, w.staging); {
		case errors.Is(err, connector.ErrNotFound): // swapped in by the earlier attempt
			w.staging = ""
			return nil
		case err != nil:
			return w.err("read staging table", err)
		}
	} else {
		if w.req.Mode == connector.Overwrite && w.staging == "" {
			// nothing was written and the schema is unknown: an overwrite with no rows empties the
			// table, in the transaction that stores the closed marker
			if err := w.begin(ctx); err != nil {
				return err
			}
			if _, err := w.tx.Exec(ctx, "SAVEPOINT agg_trunc"); err != nil {
				return w.err("truncate", err)
			}
			if _, err := w.tx.Exec(ctx, "TRUNCATE "+w.target()); err != nil {
				if !isUndefinedTable(err) {
					return w.err("truncate", err)
				}
				if _, err := w.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT agg_trunc"); err != nil {
					return w.err("truncate", err)
				}
			}
			return w.Commit(ctx)
		}
		if err := w.Commit(ctx); err != nil {
			var re *connector.RowError
			if errors.As(err, &re) {
				// rows refused by the last load have nowhere else to go: fail, keeping the old table
				w.dropStaging(ctx)
			}
			return err
		}
		if w.req.Mode != connector.Overwrite {
			return nil
		}
	}
	stg := sqlkit.Qualified(q, w.schemaName, w.staging)
	err := pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+w.target()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "ALTER TABLE "+stg+" RENAME TO "+q(w.tableName))
		return err
	})
	if pgCode(err) == "2BP01" {
		// views depend on the table: replace its rows instead of the table, still in one transaction
		err = pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
			s := w.schema
			if s == nil { // completing an earlier attempt's swap: the staging table has the columns
				st, err := findTable(ctx, tx, w.schemaName, w.staging)
				if err != nil {
					return err
				}
				s = st.schemaOf()
			}
			for _, f := range s.Fields {
				if _, err := tx.Exec(ctx, "ALTER TABLE "+w.target()+" ADD COLUMN IF NOT EXISTS "+q(f.Name)+" "+ddlType(f)); err != nil {
					return err
				}
			}
			names := sqlkit.QuoteAll(q, s.Names())
			for _, s := range []string{"TRUNCATE " + w.target(), "INSERT INTO " + w.target() + " (" + names + ") SELECT " + names + " FROM " + stg, "DROP TABLE " + stg} {
				if _, err := tx.Exec(ctx, s); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		w.dropStaging(ctx)
		return w.err("swap staging table into place (the old table is unchanged)", err)
	}
	w.staging = ""
	return nil
}

// Abort rolls back what is not committed and drops the staging table; the old table stays as it was.
func (w *writer) Abort(ctx context.Context) error {
	defer w.release(ctx)
	_ = w.wait()
	if w.tx != nil {
		_ = w.tx.Rollback(ctx)
		w.tx, w.savepoint = nil, false
	}
	w.pend.reset()
	w.dropStaging(ctx)
	return nil
}

func (w *writer) dropStaging(ctx context.Context) {
	if w.staging == "" || w.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := w.conn.Exec(ctx, "DROP TABLE IF EXISTS "+sqlkit.Qualified(q, w.schemaName, w.staging)); err != nil {
		w.log.Warn("could not drop staging table", "table", w.staging, "error", sqlkit.ScrubString(err.Error(), w.secrets...))
		return
	}
	w.staging = ""
}

func (w *writer) release(ctx context.Context) {
	_ = w.wait()
	if w.tx != nil {
		_ = w.tx.Rollback(ctx)
		w.tx, w.savepoint = nil, false
	}
	w.pend.reset()
	if w.conn != nil {
		if w.tmp != "" && !w.conn.Conn().IsClosed() {
			_, _ = w.conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS pg_temp."+q(w.tmp))
		}
		w.conn.Release()
		w.conn = nil
	}
	if w.pool != nil {
		w.pool.Close()
		w.pool = nil
	}
}

func (w *writer) err(what string, err error) error {
	return sqlkit.Scrub(wrap("postgres destination "+w.display+": "+what, err), w.secrets...)
}
