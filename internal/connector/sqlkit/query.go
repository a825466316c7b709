package sqlkit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// QueryDialect is what RunQuery needs from a database/sql database to run a person's statement
// read-only (connector.Querier).
type QueryDialect interface {
	// Name is the database's name in messages.
	Name() string
	// BeginReadOnly prepares conn (a connection of its own, closed after the query) so that the
	// database refuses writes and cancels the statement at timeout, and begins the transaction
	// the statement runs in.
	BeginReadOnly(ctx context.Context, conn *sql.Conn, timeout time.Duration) (*sql.Tx, error)
	// ResultCols describes the columns of a result.
	ResultCols(cts []*sql.ColumnType) []Col
	// Decode reads a scanned value of column c.
	Decode(src any, c Col) (record.Value, error)
	// QueryError turns an error of the database into a timeout (connector.QueryTimeoutError) or a
	// *connector.QueryError with its own message; nil when err is not the database's.
	QueryError(err error, timeout time.Duration) error
}

// RunQuery runs q on its own connection of db (which the result owns and closes) as d prepares it,
// and streams the result.
func RunQuery(ctx context.Context, db *sql.DB, d QueryDialect, q connector.Query) (res connector.QueryResult, err error) {
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), q.Timeout+2*time.Second)
	r := &queryResult{db: db, d: d, qctx: qctx, cancel: cancel, timeout: q.Timeout, batch: q.Batch()}
	r.stop = context.AfterFunc(ctx, cancel)
	defer func() {
		if err != nil {
			r.release()
		}
	}()
	if r.conn, err = db.Conn(qctx); err != nil {
		return nil, r.fail(err)
	}
	if r.tx, err = d.BeginReadOnly(qctx, r.conn, q.Timeout); err != nil {
		return nil, r.fail(err)
	}
	if r.rows, err = r.tx.QueryContext(qctx, q.SQL); err != nil {
		return nil, r.fail(err)
	}
	cts, err := r.rows.ColumnTypes()
	if err != nil {
		return nil, r.fail(err)
	}
	r.cols = d.ResultCols(cts)
	names := make([]string, len(r.cols))
	for i, c := range r.cols {
		names[i] = c.Name
	}
	names = connector.UniqueColumnNames(names)
	fields := make([]record.Field, len(r.cols))
	for i := range r.cols {
		r.cols[i].Name = names[i]
		fields[i] = r.cols[i].Field()
	}
	if r.schema, err = record.NewSchema(fields...); err != nil {
		return nil, fmt.Errorf("%s: result columns: %w", d.Name(), err)
	}
	r.vals = make([]any, len(r.cols))
	r.scan = make([]any, len(r.cols))
	for i := range r.scan {
		r.scan[i] = &r.vals[i]
	}
	return r, nil
}

type queryResult struct {
	db      *sql.DB
	d       QueryDialect
	conn    *sql.Conn
	tx      *sql.Tx
	rows    *sql.Rows
	qctx    context.Context
	cancel  context.CancelFunc
	stop    func() bool
	timeout time.Duration
	cols    []Col
	schema  *record.Schema
	scan    []any
	vals    []any
	batch   int
	nrows   int64
	done    bool
}

func (r *queryResult) Schema() *record.Schema { return r.schema }

func (r *queryResult) Next(ctx context.Context) (*record.Batch, error) {
	if r.done {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bld := record.NewBuilder(r.schema, r.batch)
	for n := 0; n < r.batch; n++ {
		if !r.rows.Next() {
			r.done = true
			if err := r.rows.Err(); err != nil {
				return nil, r.fail(err)
			}
			break
		}
		if err := r.rows.Scan(r.scan...); err != nil {
			return nil, r.fail(err)
		}
		r.nrows++
		row := bld.Row(r.nrows)
		for i, c := range r.cols {
			v, err := r.d.Decode(r.vals[i], c)
			if err != nil {
				return nil, fmt.Errorf("%s: row %d, column %q (%s): %w", r.d.Name(), r.nrows, c.Name, c.Native, err)
			}
			row[i] = v
		}
	}
	b := bld.Take()
	if b == nil {
		return nil, io.EOF
	}
	return b, nil
}

func (r *queryResult) Close() error {
	r.release()
	return nil
}

func (r *queryResult) release() {
	if r.rows != nil {
		_ = r.rows.Close()
	}
	if r.tx != nil {
		_ = r.tx.Rollback()
	}
	if r.conn != nil {
		_ = r.conn.Close() // the pool is closed next: its session settings die with it

	}
	r.stop()
	r.cancel()
	_ = r.db.Close()
}

func (r *queryResult) fail(err error) error {
	if e := r.d.QueryError(err, r.timeout); e != nil {
		return e
	}
	if errors.Is(r.qctx.Err(), context.DeadlineExceeded) {
		return connector.QueryTimeoutError(r.timeout)
	}
	if r.qctx.Err() != nil {
		return fmt.Errorf("%s: query cancelled: %w", r.d.Name(), r.qctx.Err())
	}
	return fmt.Errorf("%s: query: %w", r.d.Name(), err)
}
