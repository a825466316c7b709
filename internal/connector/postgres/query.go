package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
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

var _ connector.Querier = (*Connector)(nil)

// backstop is how long after the server's statement timeout the context gives up on its own.
const backstop = 2 * time.Second

// Query runs one statement in a READ ONLY transaction with SET LOCAL statement_timeout: PostgreSQL
// refuses every write and DDL ("cannot execute INSERT in a read-only transaction") and cancels the
// statement at the timeout. The statement goes through the extended protocol, which refuses more
// than one statement ("cannot insert multiple commands into a prepared statement").
func (c *Connector) Query(ctx context.Context, env connector.Env, raw map[string]any, q connector.Query) (connector.QueryResult, error) {
	if err := q.Validate(); err != nil {
		return nil, connector.ConfigError(err)
	}
	return sqlkit.Hand(ctx, c.kit(env), raw, func(cfg Config, pool *pgxpool.Pool) (connector.QueryResult, error) {
		return startQuery(ctx, pool, q)
	})
}

type queryResult struct {
	pool    *pgxpool.Pool
	conn    *pgxpool.Conn
	tx      pgx.Tx
	rr      *pgconn.ResultReader
	qctx    context.Context // the statement's context: the caller's, bounded by the timeout
	cancel  context.CancelFunc
	stop    func() bool
	timeout time.Duration
	schema  *record.Schema
	oids    []uint32
	formats []int16
	batch   int
	nrows   int64
	done    bool
}

// binaryOIDs are the types decode reads in binary; every other type arrives as text.
var binaryOIDs = map[uint32]bool{oidBool: true, oidBytea: true, oidInt2: true, oidInt4: true, oidInt8: true, oidOID: true,
	oidFloat4: true, oidFloat8: true, oidDate: true, oidTimestamp: true, oidTimestamptz: true}

func startQuery(ctx context.Context, pool *pgxpool.Pool, q connector.Query) (res *queryResult, err error) {
	// The whole result must arrive within the timeout and a little more, whatever the server does.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), q.Timeout+backstop)
	r := &queryResult{pool: pool, qctx: qctx, cancel: cancel, timeout: q.Timeout, batch: q.Batch()}
	r.stop = context.AfterFunc(ctx, cancel) // the caller's cancel (a closed request) cancels too
	defer func() {
		if err != nil {
			r.release()
		}
	}()
	if r.conn, err = pool.Acquire(qctx); err != nil {
		return nil, r.fail(qctx, err)
	}
	if r.tx, err = r.conn.BeginTx(qctx, pgx.TxOptions{AccessMode: pgx.ReadOnly}); err != nil {
		return nil, r.fail(qctx, err)
	}
	if _, err = r.tx.Exec(qctx, "SET LOCAL statement_timeout = "+strconv.FormatInt(q.Timeout.Milliseconds(), 10)); err != nil {
		return nil, r.fail(qctx, err)
	}
	pc := r.conn.Conn().PgConn()
	sd, err := pc.Prepare(qctx, "", q.SQL, nil)
	if err != nil {
		return nil, r.fail(qctx, err)
	}
	if len(sd.ParamOIDs) > 0 {
		return nil, connector.ConfigError(fmt.Errorf("sql: the statement has %d parameter(s) ($1...); an analytics query takes none", len(sd.ParamOIDs)))
	}
	types, err := r.typeNames(qctx, sd.Fields)
	if err != nil {
		return nil, r.fail(qctx, err)
	}
	names := make([]string, len(sd.Fields))
	for i, f := range sd.Fields {
		names[i] = f.Name
	}
	names = connector.UniqueColumnNames(names)
	fields := make([]record.Field, len(sd.Fields))
	r.oids = make([]uint32, len(sd.Fields))
	r.formats = make([]int16, len(sd.Fields))
	for i, f := range sd.Fields {
		t := types[f.DataTypeOID]
		col := column{name: names[i], typname: t.name, category: t.category, format: t.format, typmod: f.TypeModifier}
		fields[i] = col.field()
		if col.isArray() || t.name == "money" {
			fields[i].Kind = record.KindString // text as PostgreSQL writes it: {1,2}, $1.00
		}
		r.oids[i] = f.DataTypeOID
		if binaryOIDs[f.DataTypeOID] {
			r.formats[i] = 1
		}
	}
	if r.schema, err = record.NewSchema(fields...); err != nil {
		return nil, fmt.Errorf("postgres: result columns: %w", err)
	}
	r.rr = pc.ExecPrepared(qctx, sd.Name, nil, nil, r.formats)
	// The first row (or the error) tells whether the statement runs: a refused write fails here.
	if !r.rr.NextRow() {
		if _, err := r.rr.Close(); err != nil {
			r.rr = nil
			return nil, r.fail(qctx, err)
		}
		r.rr, r.done = nil, true
		return r, nil
	}
	return r, nil
}

type pgType struct{ name, category, format string }

func (r *queryResult) typeNames(ctx context.Context, fds []pgconn.FieldDescription) (map[uint32]pgType, error) {
	out := map[uint32]pgType{}
	for _, f := range fds {
		if _, ok := out[f.DataTypeOID]; ok {
			continue
		}
		var t pgType
		if err := r.tx.QueryRow(ctx, "SELECT t.typname, t.typcategory::text, format_type($1::oid, NULL) FROM pg_type t WHERE t.oid = $1::oid", f.DataTypeOID).
			Scan(&t.name, &t.category, &t.format); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
		out[f.DataTypeOID] = t
	}
	return out, nil
}

func (r *queryResult) Schema() *record.Schema { return r.schema }

// Next returns the next rows. The current row of the ResultReader is always one not yet returned.
func (r *queryResult) Next(ctx context.Context) (*record.Batch, error) {
	if r.done {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bld := record.NewBuilder(r.schema, r.batch)
	a := &arena{}
	for n := 0; n < r.batch; n++ {
		r.nrows++
		row := bld.Row(r.nrows)
		vals := r.rr.Values()
		for i := range row {
			v, err := decode(a, vals[i], r.oids[i], r.formats[i], r.schema.Fields[i].Kind)
			if err != nil {
				return nil, fmt.Errorf("postgres: row %d, column %q: %w", r.nrows, r.schema.Fields[i].Name, err)
			}
			row[i] = v
		}
		if !r.rr.NextRow() {
			_, err := r.rr.Close()
			r.rr, r.done = nil, true
			if err != nil {
				return nil, r.fail(r.qctx, err)
			}
			break
		}
	}
	return bld.Take(), nil
}

// Close rolls the transaction back and closes the connection.
func (r *queryResult) Close() error {
	r.release()
	return nil
}

func (r *queryResult) release() {
	if r.rr != nil {
		_, _ = r.rr.Close()
		r.rr = nil
	}
	if r.conn != nil {
		// The connection is not given back: it may hold a cancelled statement's state. Closing the
		// pool closes it.
		_ = r.conn.Conn().Close(context.Background())
		r.conn.Release()
		r.conn = nil
	}
	r.stop()
	r.cancel()
	r.pool.Close()
}

// fail turns an error of the statement into a timeout error or the database's own message.
func (r *queryResult) fail(ctx context.Context, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "57014" && strings.Contains(pgErr.Message, "statement timeout"):
		return connector.QueryTimeoutError(r.timeout)
	case errors.As(err, &pgErr):
		msg := pgErr.Message
		if pgErr.Detail != "" {
			msg += ": " + pgErr.Detail
		}
		if pgErr.Position > 0 {
			msg += " (at character " + strconv.Itoa(int(pgErr.Position)) + ")"
		}
		return &connector.QueryError{Database: "postgres", Code: pgErr.Code, Message: msg}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return connector.QueryTimeoutError(r.timeout)
	case ctx.Err() != nil:
		return fmt.Errorf("postgres: query cancelled: %w", ctx.Err())
	}
	return wrap("postgres: query", err)
}
