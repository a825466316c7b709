package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dataaggregator/aggregator/internal/store"
)

// fillProbe adds n rows of 1 KiB to a table of its own.
func fillProbe(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS backup_probe (id INTEGER PRIMARY KEY, data BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1024)
	for range n {
		_, _ = rand.Read(buf)
		if _, err := tx.Exec(`INSERT INTO backup_probe (data) VALUES ($1)`, buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func countProbe(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of %s: %q %v", path, check, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM backup_probe`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestBackupIsAConsistentCopyTakenWhileWriting(t *testing.T) {
	s := openSQLite(t, nil)
	ctx := context.Background()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	fillProbe(t, s.DB(), 2000)

	// A writer keeps committing 10-row transactions during the backup.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.DB().Exec(`INSERT INTO backup_probe (data) SELECT data FROM backup_probe LIMIT 10`); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
		}
	}()
	dir := t.TempDir()
	path := filepath.Join(dir, "aggregator-backup.db")
	res, err := s.Backup(ctx, path)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != path || res.Bytes <= 2000*1024 || res.Pages == 0 {
		t.Errorf("result: %+v", res)
	}
	n := countProbe(t, path)
	if n < 2000 || (n-2000)%10 != 0 {
		t.Errorf("backup holds %d rows: want 2000 plus whole 10-row transactions", n)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", info.Mode().Perm())
	}
	// The copy is a store: it opens, and its schema is current.
	cp, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	st, err := cp.Status(ctx)
	if err != nil || !st.UpToDate() {
		t.Errorf("schema of the copy: %+v %v", st, err)
	}
	noTempFiles(t, dir)

	// A second backup replaces the first.
	fillProbe(t, s.DB(), 10)
	if _, err := s.Backup(ctx, path); err != nil {
		t.Fatal(err)
	}
	if m := countProbe(t, path); m < n+10 {
		t.Errorf("second backup holds %d rows, want at least %d", m, n+10)
	}
}

func TestBackupRefusesBadPaths(t *testing.T) {
	s := openSQLite(t, nil)
	dir := t.TempDir()
	tests := []struct {
		name, path, want string
	}{
		{"empty", " ", "backup path is empty"},
		{"directory", dir, "is a directory"},
		{"missing directory", filepath.Join(dir, "nope", "b.db"), "does not exist"},
		{"the store itself", storePath(t, s), "the store's own file"},
		{"the store's WAL", storePath(t, s) + "-wal", "the store's own file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Backup(context.Background(), tt.path)
			if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Backup(%q) = %v, want ErrInvalid with %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestBackupRefusesPostgres(t *testing.T) {
	s := openPostgres(t, nil)
	_, err := s.Backup(context.Background(), filepath.Join(t.TempDir(), "b.db"))
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("Backup of PostgreSQL: %v", err)
	}
}

func storePath(t *testing.T, s *store.Store) string {
	t.Helper()
	var file string
	if err := s.DB().QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		t.Fatal(err)
	}
	return file
}
