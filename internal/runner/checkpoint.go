package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dataaggregator/aggregator/internal/engine"
)

// FileCheckpointer keeps checkpoints in a JSON state file, replaced atomically (write a temporary
// file, fsync, rename). With Fresh, Load ignores what the file holds.
type FileCheckpointer struct {
	Path  string
	Fresh bool
}

var _ engine.Checkpointer = (*FileCheckpointer)(nil)

// Load reads the state file; nil when there is none (or Fresh).
func (f *FileCheckpointer) Load(context.Context) (*engine.Checkpoint, error) {
	if f.Fresh {
		return nil, nil
	}
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cp engine.Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("state file %s is damaged (%v); run with --fresh to start over", f.Path, err)
	}
	return &cp, nil
}

// Save replaces the state file with cp; it is durable when Save returns.
func (f *FileCheckpointer) Save(_ context.Context, cp *engine.Checkpoint) error {
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), "."+filepath.Base(f.Path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f.Path)
}
