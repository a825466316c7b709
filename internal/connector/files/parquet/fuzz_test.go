package parquet_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
)

// FuzzReader reads arbitrary bytes as a Parquet file: it may fail, with an error, but never panic, hang
// or allocate past the limits (run: go test -fuzz FuzzReader ./internal/connector/files/parquet).
func FuzzReader(f *testing.F) {
	_, good := setup(f, 50)
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add([]byte("PAR1PAR1"))
	f.Add([]byte("PAR1\x00\x00\x00\x00\x04\x00\x00\x00PAR1"))
	f.Fuzz(func(t *testing.T, body []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f.parquet"), body, 0o644); err != nil {
			t.Fatal(err)
		}
		env := connector.Env{FileRoots: []string{dir}}
		cfg := map[string]any{"path": "f.parquet", "max_row_group_bytes": 8 << 20, "max_page_bytes": 1 << 20}
		_, _ = readAll(t.Context(), env, cfg)
	})
}
