package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
)

// The statement shapes every entity shares: insert one row, get one row, check that an update
// touched a row. Errors are mapped with mapErr under the caller's operation name.

// insert runs INSERT INTO table (cols) VALUES ($1, ..., $n), one argument per column (nil for
// NULL), on ex (the store's database or a transaction).
func (s *Store) insert(ctx context.Context, ex execer, op, table, cols string, args ...any) error {
	_, err := ex.ExecContext(ctx, `INSERT INTO `+table+` (`+cols+`) VALUES (`+placeholders(len(args))+`)`, args...)
	return s.mapErr(err, op)
}

// placeholders returns "$1, $2, ..., $n".
func placeholders(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(i))
	}
	return b.String()
}

// getOne scans the single row of q. No row is notFound(entity, key); other errors are mapped
// with op.
func getOne[T any](ctx context.Context, s *Store, op, entity, key string, scan func(scanner) (T, error), q string, args ...any) (T, error) {
	v, err := scan(s.db.QueryRowContext(ctx, q, args...))
	if err != nil {
		var zero T
		if errors.Is(err, sql.ErrNoRows) {
			return zero, notFound(entity, key)
		}
		return zero, s.mapErr(err, op)
	}
	return v, nil
}

// valueOr returns v, or the zero T when err is set: the return of a create whose last step
// may fail.
func valueOr[T any](v T, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}
