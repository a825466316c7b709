// Package storetest gives tests a migrated SQLite store without migrating each one: the
// migrations run once per test binary, into a database file that is then kept in memory, and each
// store starts as a copy of it. Under the race detector the migrations cost about a second of CPU
// per store (the SQLite engine is Go code, instrumented like the rest), as much as a whole small
// test.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dataaggregator/aggregator/internal/store"
)

var template struct {
	once sync.Once
	data []byte
	err  error
}

// migrated returns the bytes of a freshly migrated SQLite database file.
func migrated() ([]byte, error) {
	template.once.Do(func() {
		template.data, template.err = build()
	})
	return template.data, template.err
}

func build() ([]byte, error) {
	dir, err := os.MkdirTemp("", "storetest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "template.db")
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: path})
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return nil, err
	}
	// Everything into the main file, so that it alone is the database.
	if _, err := st.DB().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		_ = st.Close()
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	if info, err := os.Stat(path + "-wal"); err == nil && info.Size() > 0 {
		return nil, fmt.Errorf("storetest: the template's WAL still holds %d bytes after a checkpoint", info.Size())
	}
	return os.ReadFile(path)
}

// Open opens a migrated store for t and closes it when t ends. A SQLite store whose file does not
// exist yet starts as a copy of the migrated template (an empty opts.DSN means a new file in
// t.TempDir()); any other store (an existing SQLite file, PostgreSQL) is opened and migrated.
func Open(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	if opts.Dialect == "" {
		opts.Dialect = store.SQLite
	}
	if opts.Dialect == store.SQLite {
		if opts.DSN == "" {
			opts.DSN = filepath.Join(t.TempDir(), "aggregator.db")
		}
		if _, err := os.Stat(opts.DSN); errors.Is(err, fs.ErrNotExist) {
			Seed(t, opts.DSN)
			return open(t, opts)
		}
	}
	st := open(t, opts)
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

func open(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Seed writes a migrated SQLite database to path, a file that does not exist yet: for a test of
// code that opens (and migrates) the store itself, such as a server on a data directory.
func Seed(t testing.TB, path string) {
	t.Helper()
	data, err := migrated()
	if err != nil {
		t.Fatalf("storetest: migrate the template database: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
