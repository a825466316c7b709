// Package flock takes and releases advisory whole-file locks the same way on every platform the
// binary is built for (flock on Unix, LockFileEx on Windows). A lock is released when the file is
// closed or the process exits, however it exits.
package flock

import (
	"errors"
	"os"
)

// ErrLocked says that another process holds the lock (TryLock only).
var ErrLocked = errors.New("the file is locked by another process")

// Lock takes an exclusive lock on f, waiting for another process to release it.
func Lock(f *os.File) error { return lock(f, true) }

// TryLock takes an exclusive lock on f or returns ErrLocked at once.
func TryLock(f *os.File) error { return lock(f, false) }

// Unlock releases the lock.
func Unlock(f *os.File) error { return unlock(f) }
