package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/dataaggregator/aggregator/internal/store"
)

// A full disk, without root: the backup runs in a child process whose file size limit
// (RLIMIT_FSIZE, which any process may lower for itself) is 1 MiB. The kernel then
// refuses every write past 1 MiB with EFBIG, as it refuses a write to a full file
// system with ENOSPC: the same failed write(2) reaches SQLite. Go ignores the SIGXFSZ
// that comes with it, so the child sees the error.
func TestBackupToAFullDiskLeavesThePreviousBackup(t *testing.T) {
	if os.Getenv("BACKUP_CHILD_STORE") != "" {
		return // the child's run of this test: see TestBackupChildProcess
	}
	dataDir, backupDir := t.TempDir(), t.TempDir()
	dbPath := filepath.Join(dataDir, "aggregator.db")
	s, err := store.Open(context.Background(), store.Options{Dialect: store.SQLite, DSN: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	fillProbe(t, s.DB(), 300) // about 0.3 MiB: fits under the limit
	backup := filepath.Join(backupDir, "aggregator-backup.db")
	if _, err := s.Backup(context.Background(), backup); err != nil {
		t.Fatal(err)
	}
	before := fileSum(t, backup)
	fillProbe(t, s.DB(), 3000) // now about 3.3 MiB: does not fit
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestBackupChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BACKUP_CHILD_STORE="+dbPath, "BACKUP_CHILD_TARGET="+backup,
		"BACKUP_CHILD_FSIZE="+strconv.Itoa(1<<20))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("child:\n%s", out.String())
	if err != nil {
		t.Fatalf("child process: %v", err)
	}
	if !strings.Contains(out.String(), "backup failed: backup to "+backup) ||
		!strings.Contains(out.String(), "the previous backup, if any, is unchanged") {
		t.Fatalf("the child's backup did not fail as a full disk makes it fail")
	}
	if after := fileSum(t, backup); after != before {
		t.Fatal("the previous backup was changed")
	}
	if n := countProbe(t, backup); n != 300 {
		t.Errorf("previous backup holds %d rows, want 300", n)
	}
	noTempFiles(t, backupDir)
}

// TestBackupChildProcess is the child of TestBackupToAFullDiskLeavesThePreviousBackup;
// it does nothing in a normal test run.
func TestBackupChildProcess(t *testing.T) {
	dbPath := os.Getenv("BACKUP_CHILD_STORE")
	if dbPath == "" {
		return // runs only as the child of TestBackupToAFullDiskLeavesThePreviousBackup
	}
	limit, err := strconv.ParseUint(os.Getenv("BACKUP_CHILD_FSIZE"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), store.Options{Dialect: store.SQLite, DSN: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Backup(context.Background(), os.Getenv("BACKUP_CHILD_TARGET"))
	if err == nil {
		fmt.Println("backup succeeded under the file size limit")
		return
	}
	fmt.Printf("backup failed: %v\n", err)
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
