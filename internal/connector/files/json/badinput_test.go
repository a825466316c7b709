package json_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	jsonconn "github.com/dataaggregator/aggregator/internal/connector/files/json"
)

func TestBadInput(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"data":{"skip":[1,{"x":[2]}],"items":[{"a":1},{"a":2}]}}`))
	zw.Close()
	cases := []struct {
		name     string
		content  string
		cfg      map[string]any
		wantRows int
		rejects  []string // "pos|field|reason substring"
		wantErr  string
	}{
		{name: "good top-level", content: `[{"a":1,"b":"x"},{"a":2}]`, wantRows: 2},
		{name: "nested path via gzip", content: gz.String(), cfg: map[string]any{"records_path": "data.items"}, wantRows: 2},
		{name: "element not an object", content: `[{"a":1}, 5, {"a":2}]`, wantRows: 2, rejects: []string{"2||record 2 is not a JSON object"}},
		{name: "bad declared int", content: `[{"a":"x"},{"a":3}]`, cfg: map[string]any{"types": map[string]any{"a": "int"}}, wantRows: 1, rejects: []string{`1|a|invalid integer "x"`}},
		{name: "bad declared date", content: `[{"d":"2024-02-30"}]`, cfg: map[string]any{"types": map[string]any{"d": "date"}}, rejects: []string{"1|d|invalid date"}},
		{name: "invalid utf-8", content: "[{\"s\":\"ok\"},{\"s\":\"caf\xe9\"}]", wantRows: 1, rejects: []string{"2|s|invalid UTF-8"}},
		{name: "truncated", content: `[{"a":1},{"a":`, wantErr: "data.json: unexpected end of the file at byte"},
		{name: "garbage", content: `[{"a":1} {"a":2}]`, wantErr: "data.json: invalid JSON near byte"},
		{name: "empty file", content: ``, wantErr: "data.json: the file is empty"},
		{name: "not an array", content: `{"a":1}`, wantErr: "want an array of records at the top level"},
		{name: "path missing", content: `{"data":{}}`, cfg: map[string]any{"records_path": "data.items"}, wantErr: `key "items" not found`},
		{name: "record over the cap", content: `[{"a":"` + strings.Repeat("x", 300<<10) + `"}]`, cfg: map[string]any{"max_record_bytes": 1024}, wantErr: "exceeds max_record_bytes (1024)"},
		{name: "empty array", content: `[]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := filetest.Setup(t, "data.json", []byte(c.content))
			cfg := map[string]any{"path": "data.json"}
			for k, v := range c.cfg {
				cfg[k] = v
			}
			res, err := filetest.ReadAll(t, jsonconn.New(), env, cfg, connector.ReadRequest{})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v; want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rows) != c.wantRows {
				t.Errorf("rows %v, want %d", res.Rows, c.wantRows)
			}
			if len(res.Rejects) != len(c.rejects) {
				t.Fatalf("rejects %+v, want %v", res.Rejects, c.rejects)
			}
			for i, w := range c.rejects {
				p := strings.SplitN(w, "|", 3)
				g := res.Rejects[i]
				if g.Source != "data.json" || p[0] != strconv.FormatInt(g.Pos, 10) || g.Field != p[1] || !strings.Contains(g.Reason, p[2]) {
					t.Errorf("reject %+v, want %s", g, w)
				}
			}
		})
	}
}

// One huge string value is refused without being loaded.
func TestHugeValueDoesNotAllocate(t *testing.T) { // not parallel: it measures allocation
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big.json"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`[{"a":1},{"a":"`)
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for range 64 {
		f.Write(chunk)
	}
	f.WriteString(`"}]`)
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := filetest.ReadAll(t, jsonconn.New(), connector.Env{FileRoots: []string{dir}}, map[string]any{"path": "big.json", "max_record_bytes": 1 << 20, "infer_rows": 1}, connector.ReadRequest{})
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "big.json: (record 2) at byte") || !strings.Contains(err.Error(), "exceeds max_record_bytes") {
		t.Fatalf("err = %v", err)
	}
	if len(res.Rows) != 1 {
		t.Fatalf("rows before the huge record: %v", res.Rows)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Fatalf("a 64 MB value with a 1 MB cap allocated %d MB", alloc>>20)
	}
}
