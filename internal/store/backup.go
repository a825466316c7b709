package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
)

// BackupResult describes a finished backup.
type BackupResult struct {
	Path  string // the backup file
	Bytes int64  // its size
	Pages int    // database pages copied
}

// Backup copies the SQLite store to path with SQLite's online backup API: a
// consistent snapshot taken while the server keeps reading and writing (WAL
// readers do not block writers). The copy is written to a temporary file beside
// path, checked (PRAGMA quick_check), synced and only then renamed over path, so
// a failure at any point (a full disk, a write error, a cancelled context)
// leaves the previous backup at path as it was and no temporary file behind.
//
// It refuses the PostgreSQL store (use pg_dump) and a path that is the store's
// own file.
func (s *Store) Backup(ctx context.Context, path string) (BackupResult, error) {
	if s.dialect != SQLite {
		return BackupResult{}, fmt.Errorf("%w: backup copies the SQLite store; back up PostgreSQL with pg_dump (docs/operations.md)", ErrInvalid)
	}
	if strings.TrimSpace(path) == "" {
		return BackupResult{}, fmt.Errorf("%w: backup path is empty", ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return BackupResult{}, fmt.Errorf("backup path %s: %w", path, err)
	}
	src, err := filepath.Abs(s.path)
	if err != nil {
		return BackupResult{}, fmt.Errorf("store path %s: %w", s.path, err)
	}
	for _, p := range []string{src, src + "-wal", src + "-shm"} {
		if abs == p {
			return BackupResult{}, fmt.Errorf("%w: backup path %s is the store's own file", ErrInvalid, path)
		}
	}
	if info, err := os.Stat(abs); err == nil && info.IsDir() {
		return BackupResult{}, fmt.Errorf("%w: backup path %s is a directory; name a file", ErrInvalid, path)
	}
	dir := filepath.Dir(abs)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return BackupResult{}, fmt.Errorf("%w: backup directory %s does not exist", ErrInvalid, dir)
	}

	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return BackupResult{}, err
	}
	tmp := filepath.Join(dir, "."+filepath.Base(abs)+".tmp-"+hex.EncodeToString(suffix[:]))
	res, err := s.backupTo(ctx, tmp)
	if err != nil {
		removeSQLiteFiles(tmp)
		return BackupResult{}, fmt.Errorf("backup to %s: %w (the previous backup, if any, is unchanged)", path, err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		removeSQLiteFiles(tmp)
		return BackupResult{}, fmt.Errorf("backup to %s: %w (the previous backup, if any, is unchanged)", path, err)
	}
	syncDir(dir)
	res.Path = abs
	return res, nil
}

// backupTo writes a checked, synced copy of the store to tmp (a new file).
func (s *Store) backupTo(ctx context.Context, tmp string) (BackupResult, error) {
	// The file is created private before SQLite opens it: it holds password
	// hashes and sealed secrets.
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return BackupResult{}, err
	}
	if err := f.Close(); err != nil {
		return BackupResult{}, err
	}
	conn, err := s.pool.Conn(ctx)
	if err != nil {
		return BackupResult{}, err
	}
	defer conn.Close()
	var res BackupResult
	err = conn.Raw(func(dc any) error {
		b, ok := dc.(interface {
			NewBackup(string) (*sqlite.Backup, error)
		})
		if !ok {
			return fmt.Errorf("the SQLite driver offers no online backup (%T)", dc)
		}
		bk, err := b.NewBackup(tmp)
		if err != nil {
			return err
		}
		// One step holds one read transaction: the copy is one consistent
		// snapshot. Writers go on meanwhile (WAL).
		_, stepErr := bk.Step(-1)
		res.Pages = bk.PageCount()
		if err := bk.Finish(); stepErr == nil {
			stepErr = err
		}
		return stepErr
	})
	if err != nil {
		return BackupResult{}, writeHint(err)
	}
	if err := ctx.Err(); err != nil {
		return BackupResult{}, err
	}
	if err := finishCopy(ctx, tmp); err != nil {
		return BackupResult{}, err
	}
	removeSQLiteFiles(tmp + "-wal") // none after finishCopy; nothing of the copy may stay beside it
	removeSQLiteFiles(tmp + "-shm")
	f, err = os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return BackupResult{}, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return BackupResult{}, fmt.Errorf("sync: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		return BackupResult{}, err
	}
	res.Bytes = info.Size()
	return res, f.Close()
}

// finishCopy makes the copy one self-contained file (rollback journal instead of
// the store's WAL, so no -wal or -shm file belongs to it) and runs PRAGMA
// quick_check on it.
func finishCopy(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var mode, out string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode=DELETE").Scan(&mode); err != nil {
		return fmt.Errorf("copy: journal mode: %w", writeHint(err))
	}
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&out); err != nil {
		return fmt.Errorf("check the copy: %w", err)
	}
	if out != "ok" {
		return fmt.Errorf("check the copy: %s", out)
	}
	return db.Close()
}

// writeHint says what SQLite's I/O errors on the destination usually mean.
func writeHint(err error) error {
	if msg := err.Error(); strings.Contains(msg, "disk I/O error") || strings.Contains(msg, "disk is full") {
		return fmt.Errorf("the destination could not be written (is its disk full?): %w", err)
	}
	return err
}

func removeSQLiteFiles(path string) {
	for _, p := range []string{path, path + "-journal", path + "-wal", path + "-shm"} {
		_ = os.Remove(p) // absent files are the usual case
	}
}

// syncDir makes a rename durable (best effort: some systems cannot sync a
// directory).
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
