// Package diskusage reports the size and free space of the file system holding a path, on Unix
// (statfs) and Windows (GetDiskFreeSpaceEx).
package diskusage

import "fmt"

// Usage is the file system holding a path, in bytes. Free is what an unprivileged process may
// still write (on Unix, blocks reserved for root are neither free nor used here).
type Usage struct {
	Total uint64
	Free  uint64
	Used  uint64
}

// Of returns the usage of the file system holding path (which must exist).
func Of(path string) (Usage, error) {
	u, err := of(path)
	if err != nil {
		return Usage{}, fmt.Errorf("disk usage of %s: %w", path, err)
	}
	return u, nil
}
