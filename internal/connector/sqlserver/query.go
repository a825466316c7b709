package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

var _ connector.Querier = (*Connector)(nil)

// Query runs one statement. SQL Server has no read-only transaction: the statement runs inside a
// transaction that is always rolled back (a write the login may do is undone, not kept; DDL is
// transactional there), and the refusal of writes comes from the login's permissions: give the
// connector a login that holds db_datareader only (docs/analytics.md). The statement is cancelled
// at the timeout by the client (an attention to the server when the context ends); SET
// LOCK_TIMEOUT bounds the waits for locks as well.
func (c *Connector) Query(ctx context.Context, env connector.Env, raw map[string]any, q connector.Query) (connector.QueryResult, error) {
	if err := q.Validate(); err != nil {
		return nil, connector.ConfigError(err)
	}
	return sqlkit.Hand(ctx, c.kit(env), raw, func(cfg Config, db *sql.DB) (connector.QueryResult, error) {
		qctx, cancel := context.WithTimeout(ctx, q.Timeout)
		res, err := sqlkit.RunQuery(qctx, db, &Dialect{}, q)
		if err != nil {
			cancel()
			if errors.Is(qctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
				return nil, connector.QueryTimeoutError(q.Timeout)
			}
			return nil, err
		}
		return &timed{QueryResult: res, cancel: cancel, ctx: qctx, timeout: q.Timeout}, nil
	})
}

// timed ends the statement at its timeout: the context that bounds it is cancelled then.
type timed struct {
	connector.QueryResult
	ctx     context.Context
	cancel  context.CancelFunc
	timeout time.Duration
}

func (t *timed) Next(ctx context.Context) (b *record.Batch, err error) {
	b, err = t.QueryResult.Next(ctx)
	if err != nil && errors.Is(t.ctx.Err(), context.DeadlineExceeded) {
		return nil, connector.QueryTimeoutError(t.timeout)
	}
	return b, err
}

func (t *timed) Close() error {
	t.cancel()
	return t.QueryResult.Close()
}

// BeginReadOnly bounds lock waits and begins the transaction the statement runs in (rolled back
// when the result closes).
func (d *Dialect) BeginReadOnly(ctx context.Context, conn *sql.Conn, timeout time.Duration) (*sql.Tx, error) {
	if _, err := conn.ExecContext(ctx, "SET LOCK_TIMEOUT "+strconv.FormatInt(max(timeout.Milliseconds(), 1), 10)); err != nil {
		return nil, err
	}
	return conn.BeginTx(ctx, nil)
}

// QueryError maps a server error to its own message (error 1222, a lock wait beyond the timeout,
// to the timeout).
func (d *Dialect) QueryError(err error, timeout time.Duration) error {
	var me mssql.Error
	if !errors.As(err, &me) {
		return nil
	}
	if me.Number == 1222 {
		return connector.QueryTimeoutError(timeout)
	}
	return &connector.QueryError{Database: "sqlserver", Code: strconv.Itoa(int(me.Number)), Message: me.Message}
}
