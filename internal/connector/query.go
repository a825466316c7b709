package connector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dataaggregator/aggregator/internal/record"
)

// Querier is an optional capability of a database connector: Query runs one SQL statement a person
// wrote (analytics queries, docs/analytics.md) so that the database itself refuses every write: in
// a read-only transaction (or what the database has instead, as its docs say), under a server-side
// statement timeout of q.Timeout, on a connection of its own that nothing else uses. The statement
// is sent as is, never rewritten; exactly one statement runs. The result streams: rows are read
// from the server as Next asks for them, so a caller that stops early (a row cap) reads no more.
//
// Errors: a statement that ran longer than q.Timeout fails with an error that Is ErrQueryTimeout;
// an error of the database (a syntax error, a refused write) is a *QueryError carrying the
// database's own message. Neither ever contains a secret of the config.
type Querier interface {
	Query(ctx context.Context, env Env, config map[string]any, q Query) (QueryResult, error)
}

// Query is one statement to run read-only.
type Query struct {
	SQL string
	// Timeout is the statement timeout the server enforces (and the context, a little later, as a
	// backstop). Required: above zero.
	Timeout time.Duration
	// BatchSize is the number of rows per batch Next returns (0: 500).
	BatchSize int
}

// Validate checks the query before a connection is made.
func (q Query) Validate() error {
	switch {
	case q.SQL == "":
		return errors.New("sql: required")
	case q.Timeout <= 0:
		return errors.New("timeout: must be above zero")
	}
	return nil
}

// Batch is the batch size to use.
func (q Query) Batch() int {
	if q.BatchSize > 0 {
		return q.BatchSize
	}
	return 500
}

// QueryResult is the streamed result of a Query. Schema is known when Query returns; Next returns
// batches of rows and io.EOF after the last; Close ends the transaction (rolled back: nothing a
// read-only statement did is kept) and closes the connection. Not safe for concurrent use.
type QueryResult interface {
	Schema() *record.Schema
	Next(ctx context.Context) (*record.Batch, error)
	Close() error
}

// ErrQueryTimeout marks a statement cancelled at its statement timeout.
var ErrQueryTimeout = errors.New("statement timeout")

// QueryTimeoutError is the error of a statement cancelled at its timeout; its message names the
// timeout.
func QueryTimeoutError(d time.Duration) error {
	return fmt.Errorf("the query ran longer than the statement timeout of %s and was cancelled: %w", FormatTimeout(d), ErrQueryTimeout)
}

// FormatTimeout writes a timeout as people read it: "30s", "1.5s", "2m0s" -> "120s".
func FormatTimeout(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// QueryError is an error the database returned for a statement: its own message (a syntax error,
// "cannot execute INSERT in a read-only transaction"), and its code when it has one (a SQLSTATE,
// a server error number).
type QueryError struct {
	Database string // "postgres", "mysql", "sqlserver"
	Code     string
	Message  string
}

func (e *QueryError) Error() string {
	if e.Code != "" {
		return e.Database + ": " + e.Message + " (" + e.Code + ")"
	}
	return e.Database + ": " + e.Message
}

// UniqueColumnNames makes result column names usable as record field names: an empty name becomes
// "column_<n>" (1-based) and a repeated one gets "_2", "_3", ... ("id", "id_2").
func UniqueColumnNames(names []string) []string {
	out := make([]string, len(names))
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		if n == "" {
			n = "column_" + strconv.Itoa(i+1)
		}
		base, k := n, 1
		for seen[n] {
			k++
			n = base + "_" + strconv.Itoa(k)
		}
		seen[n] = true
		out[i] = n
	}
	return out
}
