package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache runs queries through prepared statements kept for the life of
// the pool, one per query text: SQLite (modernc.org/sqlite) parses and plans
// every query it is given anew, which took a fifth of the CPU of
// GET /api/v1/pipelines (see docs/benchmarks.md). database/sql prepares a
// cached statement on each pooled connection the first time it runs there.
//
// Only QueryContext and QueryRowContext go through it (a SELECT is one
// statement; an Exec may hold several, which a prepared statement would
// cut to the first). At most stmtCacheMax texts are kept; past that, queries
// run unprepared, so texts built from variable-length value lists cannot
// grow it without bound. PostgreSQL needs none of this: pgx caches prepared
// statements per connection itself.
type stmtCache struct {
	db *sql.DB

	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

const stmtCacheMax = 256

var _ execer = (*stmtCache)(nil)

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}}
}

// stmt returns the cached statement of q, preparing it on first use; nil
// when the cache is full or q does not prepare (the caller then runs q
// directly, which reports the error).
func (c *stmtCache) stmt(ctx context.Context, q string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.stmts[q]
	full := len(c.stmts) >= stmtCacheMax
	c.mu.RUnlock()
	if ok || full {
		return st
	}
	st, err := c.db.PrepareContext(context.WithoutCancel(ctx), q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[q]; ok {
		_ = st.Close()
		return prev
	}
	if len(c.stmts) >= stmtCacheMax {
		_ = st.Close()
		return nil
	}
	c.stmts[q] = st
	return st
}

func (c *stmtCache) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.db.ExecContext(ctx, q, args...)
}

func (c *stmtCache) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, q, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, q, args...)
}
