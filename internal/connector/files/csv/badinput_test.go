package csv_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/record"
)

type readResult struct {
	schema  *record.Schema
	rows    []map[string]string // values as text, "<null>" for null
	rejects []record.Reject
}

// setup writes content to a file in a fresh root and returns the env and the file's name.
func setup(t *testing.T, name string, content []byte) connector.Env {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
		t.Fatal(err)
	}
	return connector.Env{FileRoots: []string{dir}}
}

func readAll(t *testing.T, env connector.Env, cfg map[string]any, req connector.ReadRequest) (readResult, error) {
	t.Helper()
	rd, err := csv.New().Open(t.Context(), env, cfg, req)
	if err != nil {
		return readResult{}, err
	}
	defer rd.Close()
	res := readResult{schema: rd.Schema()}
	for {
		b, err := rd.Next(t.Context())
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res.rejects = append(res.rejects, b.Rejects...)
		for i := range b.Rows {
			m := map[string]string{}
			for j, f := range b.Schema.Fields {
				v := b.Rows[i][j]
				if v.IsNull() {
					m[f.Name] = "<null>"
				} else {
					m[f.Name] = v.String()
				}
			}
			res.rows = append(res.rows, m)
		}
	}
}

func TestBadRowsBecomeRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		content  string
		cfg      map[string]any
		wantRows int
		// each reject: line, field, reason substring
		want []record.Reject
		raw  string // the first reject's raw text, when checked
	}{
		{"unterminated quote", "id,name\n1,ok\n2,\"abc\n3,x\n", nil, 1,
			[]record.Reject{{Pos: 3, Field: "", Reason: "unterminated quoted field 2"}}, "2,abc\n3,x\n"},
		{"text after closing quote", "id,name\n1,\"ab\"c\n2,ok\n", nil, 1,
			[]record.Reject{{Pos: 2, Reason: `unexpected 'c' after the closing quote of field 2`}}, ""},
		{"too many fields", "id,name\n1,a,b\n2,ok\n", nil, 1,
			[]record.Reject{{Pos: 2, Reason: "has 3 fields, want 2"}}, ""},
		{"too few fields", "id,name\n1\n2,ok\n", nil, 1,
			[]record.Reject{{Pos: 2, Reason: "has 1 fields, want 2"}}, ""},
		{"invalid utf-8", "id,name\n1,caf\xe9\n2,ok\n", nil, 1,
			[]record.Reject{{Pos: 2, Field: "name", Reason: "invalid UTF-8"}}, ""},
		{"bad declared int", "id,name\nx1,a\n2,ok\n", map[string]any{"types": map[string]any{"id": "int"}}, 1,
			[]record.Reject{{Pos: 2, Field: "id", Reason: `invalid integer "x1"`}}, ""},
		{"bad declared date", "id,day\n1,2024-02-30\n2,2024-02-29\n", map[string]any{"types": map[string]any{"day": "date"}}, 1,
			[]record.Reject{{Pos: 2, Field: "day", Reason: "invalid date"}}, ""},
		{"bad declared decimal", "id,amount\n1,12.5.1\n2,3.10\n", map[string]any{"types": map[string]any{"amount": "decimal"}}, 1,
			[]record.Reject{{Pos: 2, Field: "amount", Reason: "invalid decimal"}}, ""},
		{"quoted newline keeps line numbers", "id,name\n1,\"a\nb\"\n2,x,y\n", nil, 1,
			[]record.Reject{{Pos: 4, Reason: "has 3 fields"}}, ""},
		{"record over the cap", "id,name\n1," + strings.Repeat("x", 5000) + "\n2,ok\n", map[string]any{"max_record_bytes": 1024}, 1,
			[]record.Reject{{Pos: 2, Reason: "exceeds max_record_bytes (1024)"}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := setup(t, "in.csv", []byte(c.content))
			cfg := map[string]any{"path": "in.csv"}
			for k, v := range c.cfg {
				cfg[k] = v
			}
			res, err := readAll(t, env, cfg, connector.ReadRequest{})
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if len(res.rows) != c.wantRows {
				t.Errorf("got %d good rows, want %d", len(res.rows), c.wantRows)
			}
			if len(res.rejects) != len(c.want) {
				t.Fatalf("got rejects %+v, want %d", res.rejects, len(c.want))
			}
			for i, w := range c.want {
				g := res.rejects[i]
				if g.Source != "in.csv" || g.Pos != w.Pos || g.Field != w.Field || !strings.Contains(g.Reason, w.Reason) {
					t.Errorf("reject %d = %+v; want source in.csv, line %d, field %q, reason containing %q", i, g, w.Pos, w.Field, w.Reason)
				}
				if i == 0 && c.raw != "" && g.Raw != c.raw {
					t.Errorf("reject raw %q, want %q", g.Raw, c.raw)
				}
				if len(g.Raw) > 1100 {
					t.Errorf("reject raw text not truncated: %d bytes", len(g.Raw))
				}
			}
		})
	}
}

func TestFileLevelErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, content string
		cfg           map[string]any
		want          string
	}{
		{"empty file", "", nil, "in.csv: the file is empty"},
		{"missing file", "", map[string]any{"path": "nope.csv"}, `file "nope.csv" does not exist`},
		{"escape with ..", "", map[string]any{"path": "../in.csv"}, "outside the allowed file roots"},
		{"absolute outside", "", map[string]any{"path": "/etc/passwd"}, "outside the allowed file roots"},
		{"columns mismatch header", "a,b\n1,2\n", map[string]any{"columns": []any{"x"}}, "columns names 1 columns but the header has 2"},
		{"corrupt gzip", "\x1f\x8b\x08\x00garbage", nil, "in.csv"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := setup(t, "in.csv", []byte(c.content))
			cfg := map[string]any{"path": "in.csv"}
			for k, v := range c.cfg {
				cfg[k] = v
			}
			_, err := readAll(t, env, cfg, connector.ReadRequest{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v; want one containing %q", err, c.want)
			}
		})
	}
}

func TestSymlinkEscapeRefused(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.csv"), []byte("a\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.Symlink(filepath.Join(outside, "secret.csv"), filepath.Join(root, "link.csv")); err != nil {
		t.Fatal(err)
	}
	_, err := readAll(t, connector.Env{FileRoots: []string{root}}, map[string]any{"path": "link.csv"}, connector.ReadRequest{})
	if err == nil || !errors.Is(err, connector.ErrConfig) || !strings.Contains(err.Error(), "outside the allowed file roots") {
		t.Fatalf("symlink out of the root: err = %v", err)
	}
}

func TestUpload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "u1")
	if err := os.WriteFile(p, []byte("a,b\n1,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := connector.Env{ResolveUpload: func(_ context.Context, id string) (string, error) {
		if id != "u1" {
			return "", connector.ErrNotFound
		}
		return p, nil
	}}
	res, err := readAll(t, env, map[string]any{"upload": "u1"}, connector.ReadRequest{})
	if err != nil || len(res.rows) != 1 || res.rows[0]["b"] != "x" {
		t.Fatalf("read upload: %v %v", res.rows, err)
	}
	if _, err := readAll(t, env, map[string]any{"upload": "u2"}, connector.ReadRequest{}); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("unknown upload: %v", err)
	}
	if _, err := readAll(t, connector.Env{}, map[string]any{"upload": "u1"}, connector.ReadRequest{}); err == nil || !strings.Contains(err.Error(), "uploads are not available") {
		t.Fatalf("no uploads: %v", err)
	}
}

func TestDialects(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("id,name\n1,zipped\n"))
	zw.Close()
	cases := []struct {
		name    string
		file    string
		content string
		cfg     map[string]any
		want    []map[string]string
		kinds   []record.Kind
	}{
		{"latin-1", "in.csv", "id,name\n1,caf\xe9\n", map[string]any{"encoding": "latin-1"},
			[]map[string]string{{"id": "1", "name": "café"}}, []record.Kind{record.KindInt, record.KindString}},
		{"windows-1252", "in.csv", "id,name\n1,caf\xe9 \x80 \x93q\x94\n", map[string]any{"encoding": "windows-1252"},
			[]map[string]string{{"id": "1", "name": "café € “q”"}}, nil},
		{"bom skipped", "in.csv", "\xef\xbb\xbfid,name\n1,a\n", nil,
			[]map[string]string{{"id": "1", "name": "a"}}, nil},
		{"tsv with semicolon quote", "in.csv", "id\tname\n1\t'a\tb'\n", map[string]any{"delimiter": "\t", "quote": "'"},
			[]map[string]string{{"id": "1", "name": "a\tb"}}, nil},
		{"no header with columns", "in.csv", "1,a\n2,b\n", map[string]any{"header": false, "columns": []any{"n", "s"}},
			[]map[string]string{{"n": "1", "s": "a"}, {"n": "2", "s": "b"}}, nil},
		{"no header, generated names", "in.csv", "1,a\n", map[string]any{"header": false},
			[]map[string]string{{"col_1": "1", "col_2": "a"}}, nil},
		{"null tokens", "in.csv", "id,name\n1,NULL\n2,\"NULL\"\n3,\n", map[string]any{"null_values": []any{"NULL", ""}},
			[]map[string]string{{"id": "1", "name": "<null>"}, {"id": "2", "name": "NULL"}, {"id": "3", "name": "<null>"}}, nil},
		{"quoted empty is an empty string", "in.csv", "id,name\n1,\"\"\n2,\n", nil,
			[]map[string]string{{"id": "1", "name": ""}, {"id": "2", "name": "<null>"}}, nil},
		{"gzip by magic bytes", "in.csv", gz.String(), nil, []map[string]string{{"id": "1", "name": "zipped"}}, nil},
		{"crlf and no final newline", "in.csv", "id,name\r\n1,a\r\n2,b", nil,
			[]map[string]string{{"id": "1", "name": "a"}, {"id": "2", "name": "b"}}, nil},
		{"inference and override", "in.csv", "id,price,zip,day,ok\n1,2.5,007,2024-01-02,true\n", map[string]any{"types": map[string]any{"price": "decimal"}},
			[]map[string]string{{"id": "1", "price": "2.5", "zip": "007", "day": "2024-01-02", "ok": "true"}},
			[]record.Kind{record.KindInt, record.KindDecimal, record.KindString, record.KindDate, record.KindBool}},
		{"infer_rows 0 reads strings", "in.csv", "id\n1\n", map[string]any{"infer_rows": 0},
			[]map[string]string{{"id": "1"}}, []record.Kind{record.KindString}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := setup(t, c.file, []byte(c.content))
			cfg := map[string]any{"path": c.file}
			for k, v := range c.cfg {
				cfg[k] = v
			}
			res, err := readAll(t, env, cfg, connector.ReadRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.rejects) > 0 {
				t.Fatalf("rejects: %+v", res.rejects)
			}
			if len(res.rows) != len(c.want) {
				t.Fatalf("rows %v, want %v", res.rows, c.want)
			}
			for i := range c.want {
				for k, v := range c.want[i] {
					if res.rows[i][k] != v {
						t.Errorf("row %d %s = %q, want %q", i, k, res.rows[i][k], v)
					}
				}
			}
			for i, k := range c.kinds {
				if got := res.schema.Fields[i].Kind; got != k {
					t.Errorf("field %s kind %s, want %s", res.schema.Fields[i].Name, got, k)
				}
			}
		})
	}
}

// A single line far larger than the cap is skipped without being held in memory.
func TestHugeLineDoesNotAllocate(t *testing.T) { // not parallel: it measures allocation
	dir := t.TempDir()
	p := filepath.Join(dir, "big.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	const huge = 256 << 20
	f.WriteString("id,name\n1,")
	if err := f.Truncate(huge); err != nil { // a sparse run of zero bytes: one 256 MB line
		t.Fatal(err)
	}
	f.WriteAt([]byte("\n2,after\n"), huge)
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := readAll(t, connector.Env{FileRoots: []string{dir}}, map[string]any{"path": "big.csv", "max_record_bytes": 1 << 20}, connector.ReadRequest{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.rejects) != 1 || res.rejects[0].Pos != 2 || !strings.Contains(res.rejects[0].Reason, "exceeds max_record_bytes") {
		t.Fatalf("rejects %+v", res.rejects)
	}
	if len(res.rows) != 1 || res.rows[0]["name"] != "after" {
		t.Fatalf("rows after the huge line: %v", res.rows)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Fatalf("reading a %d MB line allocated %d MB; the cap is 1 MB", huge>>20, alloc>>20)
	}
}
