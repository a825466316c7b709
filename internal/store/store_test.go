package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openSQLite(t *testing.T, now func() time.Time) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{
		Dialect: store.SQLite, DSN: filepath.Join(t.TempDir(), "sub", "aggregator.db"), Now: now,
	})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openPostgres(t *testing.T, now func() time.Time) *store.Store {
	t.Helper()
	pg := testutil.Postgres(t)
	s, err := store.Open(context.Background(), store.Options{Dialect: store.Postgres, DSN: pg.URL, Now: now, MaxOpenConns: 4})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var (
	sqliteBackend = backend{empty: openSQLite, migrated: func(t *testing.T, now func() time.Time) *store.Store {
		return storetest.Open(t, store.Options{Dialect: store.SQLite, DSN: filepath.Join(t.TempDir(), "sub", "aggregator.db"), Now: now})
	}}
	postgresBackend = backend{empty: openPostgres, migrated: func(t *testing.T, now func() time.Time) *store.Store {
		s := openPostgres(t, now)
		if _, err := s.Migrate(context.Background()); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		return s
	}}
)

func TestContractSQLite(t *testing.T) {
	t.Parallel()
	RunContract(t, sqliteBackend)
}

func TestContractPostgres(t *testing.T) {
	t.Parallel()
	RunContract(t, postgresBackend)
}

func TestOpenRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts store.Options
		want string
	}{
		{"unknown dialect", store.Options{Dialect: "oracle", DSN: "x"}, `unknown dialect "oracle"`},
		{"empty sqlite path", store.Options{Dialect: store.SQLite}, "sqlite path is empty"},
		{"in-memory sqlite", store.Options{Dialect: store.SQLite, DSN: ":memory:"}, "sqlite needs a plain file path"},
		{"empty postgres dsn", store.Options{Dialect: store.Postgres}, "postgres DSN is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := store.Open(context.Background(), tt.opts)
			if err == nil || !contains(err.Error(), tt.want) {
				t.Fatalf("Open() error = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// Several processes may start at once against one database: concurrent
// Migrate calls must all succeed and apply each migration once.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	dsns := map[store.Dialect]func(t *testing.T) string{
		store.SQLite:   func(t *testing.T) string { return filepath.Join(t.TempDir(), "m.db") },
		store.Postgres: func(t *testing.T) string { return testutil.Postgres(t).URL },
	}
	for dialect, dsn := range dsns {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			d := dsn(t)
			const n = 3
			stores := make([]*store.Store, n)
			for i := range stores {
				s, err := store.Open(context.Background(), store.Options{Dialect: dialect, DSN: d})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Close() })
				stores[i] = s
			}
			before, err := stores[0].Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			applied := make([]int, n)
			errs := make([]error, n)
			for i, s := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v, err := s.Migrate(context.Background())
					applied[i], errs[i] = len(v), err
				}()
			}
			wg.Wait()
			total := 0
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("Migrate %d: %v", i, errs[i])
				}
				total += applied[i]
			}
			st, err := stores[0].Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// Every migration applied exactly once (numbers may have gaps while parts of the
			// schema land on different branches).
			if !st.UpToDate() || total != len(before.Pending) {
				t.Fatalf("applied %d migrations in total, status %+v", total, st)
			}
		})
	}
}

// Paths with characters that mean something in a SQLite URI still open the
// intended file.
func TestSQLiteOddPath(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "my data #1 100% ?")
	path := filepath.Join(dir, "agg.db")
	s, err := store.Open(context.Background(), store.Options{Dialect: store.SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %s: %v", path, err)
	}
}

// TestSQLiteFilesArePrivate: the database, its WAL and shared-memory files are
// created with mode 0600 (the store holds password hashes and sealed
// secrets), and a database file left open to others is narrowed.
func TestSQLiteFilesArePrivate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "meta.db")
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(p), perm)
		}
	}
	_ = st.Close()

	// An existing database file readable by others is narrowed on open.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Fatalf("reopened database has mode %04o, want 0600", info.Mode().Perm())
	}
}
