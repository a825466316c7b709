package mysql

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
)

var _ connector.Querier = (*Connector)(nil)

// Query runs one statement read-only. The connection's session is made read-only (SET SESSION
// TRANSACTION READ ONLY: a DDL statement commits the open transaction implicitly and would run
// outside it, so the session default must refuse it too) and the statement runs in START
// TRANSACTION READ ONLY; the server refuses every write ("Cannot execute statement in a READ ONLY
// transaction"). The server cancels the statement at the timeout: max_statement_time on MariaDB,
// max_execution_time on MySQL (which applies to SELECT only; the context cancels the rest). The
// driver sends one statement per call (multiStatements is off).
func (c *Connector) Query(ctx context.Context, env connector.Env, raw map[string]any, q connector.Query) (connector.QueryResult, error) {
	if err := q.Validate(); err != nil {
		return nil, connector.ConfigError(err)
	}
	return sqlkit.Hand(ctx, c.kit(env), raw, func(cfg Config, db *sql.DB) (connector.QueryResult, error) {
		return sqlkit.RunQuery(ctx, db, &Dialect{}, q)
	})
}

// BeginReadOnly makes conn's session read-only with the statement timeout and starts a read-only
// transaction.
func (d *Dialect) BeginReadOnly(ctx context.Context, conn *sql.Conn, timeout time.Duration) (*sql.Tx, error) {
	var version string
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return nil, err
	}
	limit := "SET SESSION max_execution_time = " + strconv.FormatInt(max(timeout.Milliseconds(), 1), 10)
	if strings.Contains(strings.ToLower(version), "mariadb") {
		limit = "SET SESSION max_statement_time = " + strconv.FormatFloat(timeout.Seconds(), 'f', 3, 64)
	}
	for _, stmt := range []string{limit, "SET SESSION TRANSACTION READ ONLY"} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return nil, err
		}
	}
	return conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}

// QueryError maps the server's statement timeouts (MariaDB 1969, MySQL 3024) to a timeout and any
// other server error to its own message.
func (d *Dialect) QueryError(err error, timeout time.Duration) error {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return nil
	}
	if me.Number == 1969 || me.Number == 3024 {
		return connector.QueryTimeoutError(timeout)
	}
	code := strconv.Itoa(int(me.Number))
	if me.SQLState != [5]byte{} {
		code += "/" + string(me.SQLState[:])
	}
	return &connector.QueryError{Database: "mysql", Code: code, Message: me.Message}
}
