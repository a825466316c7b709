package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect names a supported database.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrations embed.FS

// Options configure Open.
type Options struct {
	// Dialect is SQLite or Postgres.
	Dialect Dialect
	// DSN is a file path for SQLite (its directory is created), or a
	// PostgreSQL URL / keyword string for Postgres.
	DSN string
	// MaxOpenConns bounds the pool; 0 means 10 for Postgres and 8 for SQLite. PostgreSQL gets at
	// least 4: Migrate holds its lock on one connection while River's migrator uses two.
	MaxOpenConns int
	// Now is the clock used for timestamps; nil means time.Now.
	Now func() time.Time
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
}

// Store is the metadata store. Build it with Open; it is safe for concurrent use.
type Store struct {
	// db runs the queries: the pool, or the transaction of a store bound to one (InTx).
	db      execer
	pool    *sql.DB
	tx      *txState
	dialect Dialect
	path    string // the SQLite file
	now     func() time.Time
	log     *slog.Logger
}

// Open connects to the database and checks that it answers. It does not
// migrate: call Migrate (or check Pending) next.
func Open(ctx context.Context, opts Options) (*Store, error) {
	var driver, dsn string
	switch opts.Dialect {
	case SQLite:
		if strings.TrimSpace(opts.DSN) == "" {
			return nil, fmt.Errorf("%w: sqlite path is empty", ErrInvalid)
		}
		if strings.Contains(opts.DSN, ":memory:") || strings.HasPrefix(opts.DSN, "file:") {
			// Each pooled connection would get its own in-memory database.
			return nil, fmt.Errorf("%w: sqlite needs a plain file path, got %q", ErrInvalid, opts.DSN)
		}
		if dir := filepath.Dir(opts.DSN); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("open sqlite: create directory %s: %w", dir, err)
			}
		}
		if err := privateFile(opts.DSN); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		driver, dsn = "sqlite", sqliteDSN(opts.DSN)
	case Postgres:
		if strings.TrimSpace(opts.DSN) == "" {
			return nil, fmt.Errorf("%w: postgres DSN is empty", ErrInvalid)
		}
		driver, dsn = "pgx", opts.DSN
	default:
		return nil, fmt.Errorf("%w: unknown dialect %q (want sqlite or postgres)", ErrInvalid, opts.Dialect)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", opts.Dialect, err)
	}
	maxOpen := opts.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = 10
		if opts.Dialect == SQLite {
			maxOpen = 8
		}
	}
	if opts.Dialect == Postgres {
		maxOpen = max(maxOpen, 4)
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	db.SetConnMaxIdleTime(5 * time.Minute)

	s := &Store{db: db, pool: db, dialect: opts.Dialect, now: opts.Now, log: opts.Logger}
	if opts.Dialect == SQLite {
		s.path = opts.DSN
		s.db = newStmtCache(db)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.Ping(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// privateFile makes the SQLite database file readable by its owner only: it
// is created empty with mode 0600 (SQLite gives its -wal and -shm files the
// database file's mode), and an existing database file, WAL or shared-memory
// file open to group or others is narrowed to 0600.
func privateFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("restrict %s to mode 0600: %w", p, err)
			}
		}
	}
	return nil
}

// sqliteDSN adds the pragmas every connection needs: WAL for concurrent
// readers, a busy timeout instead of immediate SQLITE_BUSY, foreign keys,
// and IMMEDIATE transactions so that writers queue instead of deadlocking.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	// In a SQLite URI, '?' starts the query, '#' the fragment and '%' an escape.
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + escaped + "?" + q.Encode()
}

// Close releases the pool.
func (s *Store) Close() error { return s.pool.Close() }

// DB exposes the pool for components that share it (queue drivers, pool
// metrics). Do not use it to bypass the store's methods.
func (s *Store) DB() *sql.DB { return s.pool }

// Dialect reports which database the store uses.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.dialect, err)
	}
	return nil
}

// MigrationStatus describes the schema version.
type MigrationStatus struct {
	Current int64   // highest applied version (0: empty database)
	Latest  int64   // highest version shipped in this binary
	Pending []int64 // versions not yet applied, ascending
}

// UpToDate reports whether no migration is pending.
func (m MigrationStatus) UpToDate() bool { return len(m.Pending) == 0 }

// ErrPendingMigrations is returned by CheckSchema when the schema is behind.
var ErrPendingMigrations = errors.New("database schema has pending migrations; run `aggregator migrate up`")

func (s *Store) provider() (*goose.Provider, error) {
	var dialect goose.Dialect
	switch s.dialect {
	case SQLite:
		dialect = goose.DialectSQLite3
	default:
		dialect = goose.DialectPostgres
	}
	fsys, err := fs.Sub(migrations, "migrations/"+string(s.dialect))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(dialect, s.pool, fsys, goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(s.queueMigration()))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration and returns the versions applied.
// On PostgreSQL concurrent callers are serialised with an advisory lock per
// schema, so several processes may start at once.
func (s *Store) Migrate(ctx context.Context) ([]int64, error) {
	if s.dialect == Postgres {
		conn, err := s.pool.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		const key = `hashtext('aggregator_migrate:' || current_schema())`
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
			return nil, fmt.Errorf("migrate: lock: %w", err)
		}
		defer func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`)
		}()
	}
	if s.dialect == SQLite {
		// SQLite has no advisory lock, and River's migrator checks then inserts its rows outside
		// one transaction: processes migrating one file at once take turns on a lock file.
		unlock, err := lockFile(s.path + ".migrate.lock")
		if err != nil {
			return nil, fmt.Errorf("migrate: lock: %w", err)
		}
		defer unlock()
	}
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	var applied []int64
	for attempt := 1; ; attempt++ {
		results, err := p.Up(ctx)
		for _, r := range results {
			if r.Error == nil {
				applied = append(applied, r.Source.Version)
				file := filepath.Base(r.Source.Path)
				if r.Source.Path == "" {
					file = "(in Go: River's schema, workers, run attempts)"
				}
				s.log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "file", file, "duration", r.Duration)
			}
		}
		if err == nil {
			return applied, nil
		}
		// SQLite has no advisory lock: when another process migrates at the
		// same moment, our transaction fails and rolls back. Look again.
		if s.dialect != SQLite || attempt == 3 {
			return applied, fmt.Errorf("migrate: %w", err)
		}
		st, serr := s.Status(ctx)
		if serr == nil && st.UpToDate() {
			return applied, nil
		}
	}
}

// Status reports the applied and pending migrations.
func (s *Store) Status(ctx context.Context) (MigrationStatus, error) {
	p, err := s.provider()
	if err != nil {
		return MigrationStatus{}, err
	}
	list, err := p.Status(ctx)
	if err != nil {
		return MigrationStatus{}, fmt.Errorf("migration status: %w", err)
	}
	var st MigrationStatus
	for _, m := range list {
		v := m.Source.Version
		if v > st.Latest {
			st.Latest = v
		}
		if m.State == goose.StateApplied {
			if v > st.Current {
				st.Current = v
			}
		} else {
			st.Pending = append(st.Pending, v)
		}
	}
	return st, nil
}

// CheckSchema returns ErrPendingMigrations (wrapped, with versions) when a
// migration is pending, and nil when the schema is current.
func (s *Store) CheckSchema(ctx context.Context) error {
	st, err := s.Status(ctx)
	if err != nil {
		return err
	}
	if !st.UpToDate() {
		return fmt.Errorf("%w (current version %d, latest %d)", ErrPendingMigrations, st.Current, st.Latest)
	}
	return nil
}

// newID returns a time-ordered unique id (UUIDv7).
func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	return id.String(), nil
}

// inTx runs fn in a transaction, committing when fn returns nil. In a store bound to a transaction
// (InTx) it runs fn in that transaction.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.tx != nil {
		return fn(s.tx.tx)
	}
	tx, err := s.pool.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.mapErr(err, "commit")
	}
	return nil
}
