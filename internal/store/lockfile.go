package store

import (
	"os"

	"github.com/dataaggregator/aggregator/internal/flock"
)

// lockFile takes an exclusive lock on path (created 0600 when missing), waiting for another process
// to release it; the returned function releases it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock.Lock(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		_ = flock.Unlock(f)
		_ = f.Close()
	}, nil
}
