package ndjson_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	"github.com/dataaggregator/aggregator/internal/connector/files/ndjson"
)

func TestBadLinesBecomeRejects(t *testing.T) {
	t.Parallel()
	content := "{\"id\":1,\"s\":\"a\"}\n" + // line 1 ok
		"{\"id\":2,\"s\":\n" + // line 2 invalid JSON
		"[1,2]\n" + // line 3 not an object
		"\n" + // blank line skipped
		"{\"id\":\"x\",\"s\":\"b\"}\n" + // line 5 bad int
		"{\"id\":6,\"s\":\"caf\xe9\"}\n" + // line 6 invalid UTF-8
		"{\"id\":7,\"s\":\"" + strings.Repeat("y", 2000) + "\"}\n" + // line 7 too long
		"{\"id\":8,\"s\":\"ok\",\"extra\":true}" // line 8 ok, no final newline, extra key ignored
	env := filetest.Setup(t, "in.ndjson", []byte(content))
	res, err := filetest.ReadAll(t, ndjson.New(), env, map[string]any{"path": "in.ndjson", "infer_rows": 1, "max_record_bytes": 1024}, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Rows[0]["id"] != "1" || res.Rows[1]["id"] != "8" {
		t.Fatalf("rows %v", res.Rows)
	}
	want := []struct {
		pos    int64
		field  string
		reason string
	}{{2, "", "invalid JSON"}, {3, "", "not a JSON object"}, {5, "id", `invalid integer "x"`}, {6, "s", "invalid UTF-8"}, {7, "", "exceeds max_record_bytes (1024)"}}
	if len(res.Rejects) != len(want) {
		t.Fatalf("rejects %+v", res.Rejects)
	}
	for i, w := range want {
		g := res.Rejects[i]
		if g.Source != "in.ndjson" || g.Pos != w.pos || g.Field != w.field || !strings.Contains(g.Reason, w.reason) {
			t.Errorf("reject %d = %+v, want line %d field %q reason %q", i, g, w.pos, w.field, w.reason)
		}
	}
}

func TestEmptyFileIsAnEmptyStream(t *testing.T) {
	t.Parallel()
	env := filetest.Setup(t, "e.ndjson", nil)
	res, err := filetest.ReadAll(t, ndjson.New(), env, map[string]any{"path": "e.ndjson"}, connector.ReadRequest{})
	if err != nil || len(res.Rows) != 0 || len(res.Rejects) != 0 {
		t.Fatalf("empty file: %v %v", res, err)
	}
}

// A key that first appears after the sample is ignored, and said so once in the log.
func TestLateKeyIsLoggedOnce(t *testing.T) {
	t.Parallel()
	env := filetest.Setup(t, "l.ndjson", []byte("{\"a\":1}\n{\"a\":2,\"late\":true}\n{\"a\":3,\"late\":false}\n"))
	var log strings.Builder
	env.Logger = slog.New(slog.NewTextHandler(&log, nil))
	res, err := filetest.ReadAll(t, ndjson.New(), env, map[string]any{"path": "l.ndjson", "infer_rows": 1}, connector.ReadRequest{})
	if err != nil || len(res.Rows) != 3 {
		t.Fatalf("rows %v err %v", res.Rows, err)
	}
	if n := strings.Count(log.String(), "field=late"); n != 1 {
		t.Fatalf("warnings about the late key: %d\n%s", n, log.String())
	}
	res, err = filetest.ReadAll(t, ndjson.New(), env, map[string]any{"path": "l.ndjson", "infer_rows": 1, "types": map[string]any{"late": "bool"}}, connector.ReadRequest{})
	if err != nil || res.Rows[1]["late"] != "true" {
		t.Fatalf("declared late key: %v %v", res.Rows, err)
	}
}
