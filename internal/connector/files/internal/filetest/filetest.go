package filetest

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Result is what a read produced.
type Result struct {
	Schema  *record.Schema
	Rows    []map[string]string // values as text, "<null>" for null
	Rejects []record.Reject
}

// Setup writes content to name in a fresh root and returns an Env confined to it.
func Setup(t testing.TB, name string, content []byte) connector.Env {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
		t.Fatal(err)
	}
	return connector.Env{FileRoots: []string{dir}}
}

// ReadAll opens the source and reads it to the end (or the first error, returned with what came before).
func ReadAll(t testing.TB, src connector.Source, env connector.Env, cfg map[string]any, req connector.ReadRequest) (Result, error) {
	t.Helper()
	ctx := t.Context()
	rd, err := src.Open(ctx, env, cfg, req)
	if err != nil {
		return Result{}, err
	}
	defer rd.Close()
	res := Result{Schema: rd.Schema()}
	for {
		b, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res.Rejects = append(res.Rejects, b.Rejects...)
		for i := range b.Rows {
			m := map[string]string{}
			for j, f := range b.Schema.Fields {
				if v := b.Rows[i][j]; v.IsNull() {
					m[f.Name] = "<null>"
				} else {
					m[f.Name] = v.String()
				}
			}
			res.Rows = append(res.Rows, m)
		}
	}
}
