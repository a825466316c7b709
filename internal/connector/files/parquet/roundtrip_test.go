package parquet_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/connector/files/parquet"
)

// copyFile reads src through one connector and writes dst through another; it returns the rows copied.
func copyFile(t *testing.T, env connector.Env, from connector.Source, src map[string]any, to connector.Destination, dst map[string]any) int {
	t.Helper()
	ctx := t.Context()
	r, err := from.Open(ctx, env, src, connector.ReadRequest{BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := to.OpenWriter(ctx, env, dst, connector.WriteRequest{Mode: connector.Overwrite, Schema: r.Schema(), RunID: "rt"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Rejects) > 0 {
			t.Fatalf("reject: %+v", b.Rejects[0])
		}
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		n += b.Len()
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

// CSV -> Parquet -> CSV gives the same file: every inferred type (int, float, bool, date, timestamp,
// string with quotes and commas, nulls) survives Parquet exactly.
func TestCSVRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := connector.Env{FileRoots: []string{dir}}
	in := "id,name,amount,active,day,updated_at,note\n" +
		"1,\"Ada, \"\"the\"\" first\",12.5,true,2026-01-02,2026-01-02T03:04:05.123456Z,\n" +
		"2,Bob,-0.001,false,1969-12-31,1970-01-01T00:00:00Z,\"\"\n" +
		"3,,,,,,x\n"
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	csvIn := map[string]any{"path": "in.csv", "infer_rows": 100}
	if n := copyFile(t, env, csv.New(), csvIn, parquet.New(), map[string]any{"path": "mid.parquet"}); n != 3 {
		t.Fatalf("CSV -> Parquet: %d rows", n)
	}
	if n := copyFile(t, env, parquet.New(), map[string]any{"path": "mid.parquet"}, csv.New(), map[string]any{"path": "out.csv"}); n != 3 {
		t.Fatalf("Parquet -> CSV: %d rows", n)
	}
	out, err := os.ReadFile(filepath.Join(dir, "out.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, string(out)); diff != "" {
		t.Fatalf("CSV -> Parquet -> CSV (-in +out):\n%s", diff)
	}
}
