package json_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	jsonconn "github.com/dataaggregator/aggregator/internal/connector/files/json"
)

// FuzzReader feeds arbitrary bytes to the reader: never a panic; rejects name the file and a record
// number; rows have the schema's width.
func FuzzReader(f *testing.F) {
	for _, s := range []string{`[{"a":1,"b":"x"},{"a":2.5,"c":[1,2]}]`, `{"data":{"items":[{"a":null}]}}`, `[1,"x",{"a":{"b":1}}]`,
		`[{"a":18446744073709551617,"b":-1e-400},{"a":1.5,"b":1e400}]`, `[{"a":1,"a":2,"b":1,"zz":0,"zz":1}]`,
		`[{"a":"\u00e9\ud800"}]`, `[{"a":1},`, ``, `[]`, `[{"a":"2024-01-01"},{"a":"2024-01-01T00:00:00Z"}]`, "[{\"a\":\"\xff\"}]"} {
		f.Add([]byte(s), s[0:min(1, len(s))] == "{")
	}
	f.Fuzz(func(t *testing.T, data []byte, nested bool) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := map[string]any{"path": "f.json", "max_record_bytes": 4096, "infer_rows": 20}
		if nested {
			cfg["records_path"] = "data.items"
		}
		res, err := filetest.ReadAll(t, jsonconn.New(), connector.Env{FileRoots: []string{dir}}, cfg, connector.ReadRequest{BatchSize: 3})
		_ = err // a file-level error is a fine answer
		for _, rj := range res.Rejects {
			if rj.Source != "f.json" || rj.Pos < 1 || rj.Reason == "" {
				t.Fatalf("bad reject %+v", rj)
			}
		}
		for _, row := range res.Rows {
			if len(row) != len(res.Schema.Fields) {
				t.Fatalf("row %v does not fit schema %v", row, res.Schema)
			}
		}
	})
}
