package xml_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	xmlconn "github.com/dataaggregator/aggregator/internal/connector/files/xml"
	"github.com/dataaggregator/aggregator/internal/record"
)

// FuzzReader feeds arbitrary bytes to the reader: never a panic; rejects name the file and a line.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		`<r><x a="1"><n>1</n><m><k>2</k></m></x><x><n>two</n></x></r>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><r><x><n>caf` + "\xe9" + `</n></x></r>`,
		`<r><x><n>1</n></x><x>`, `<r><y/><x/><x></x></r>`, `<z/>`, ``, `<r><x><![CDATA[<a>]]></x><!-- c --></r>`,
		`<r xmlns:p="u"><p:x p:a="1"><p:n>1</p:n></p:x></r>`, `<r><x>&bogus;</x></r>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f.xml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := map[string]any{"path": "f.xml", "record_path": "r/x", "max_record_bytes": 4096, "infer_rows": 5}
		res, _ := filetest.ReadAll(t, xmlconn.New(), connector.Env{FileRoots: []string{dir}}, cfg, connector.ReadRequest{BatchSize: 2})
		for _, rj := range res.Rejects {
			if rj.Source != "f.xml" || rj.Pos < 1 || rj.Reason == "" || rj.Field == "" {
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

// FuzzRoundTrip writes arbitrary text as an element and as an attribute and reads it back unchanged
// (text XML can hold: tabs, newlines and carriage returns included).
func FuzzRoundTrip(f *testing.F) {
	f.Add("plain", " <&>\"' ")
	f.Add("line\r\nnext\ttab", "é日本🎉")
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, s := range []string{a, b} {
			for _, r := range s {
				if !(r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
					return
				}
			}
			if !utf8.ValidString(s) || s == "" {
				return
			}
		}
		dir := t.TempDir()
		env := connector.Env{FileRoots: []string{dir}}
		s := record.MustSchema(record.Field{Name: "@a", Kind: record.KindString}, record.Field{Name: "x.b", Kind: record.KindString})
		cfg := map[string]any{"path": "rt.xml", "record_path": "r/x"}
		w, err := xmlconn.New().OpenWriter(t.Context(), env, cfg, connector.WriteRequest{Mode: connector.Overwrite, Schema: s})
		if err != nil {
			t.Fatal(err)
		}
		batch := record.NewBatch(s, 1)
		batch.Rows = append(batch.Rows, record.Row{record.String(a), record.String(b)})
		if err := w.Write(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		res, err := filetest.ReadAll(t, xmlconn.New(), env, map[string]any{"path": "rt.xml", "record_path": "r/x", "infer_rows": 0}, connector.ReadRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != 1 {
			t.Fatalf("rows %v rejects %v", res.Rows, res.Rejects)
		}
		if got := res.Rows[0]["@a"]; got != a && !(strings.TrimSpace(a) == "" && got == "<null>") {
			t.Fatalf("attribute: got %q, want %q", got, a)
		}
		if got := res.Rows[0]["x.b"]; got != b && !(strings.TrimSpace(b) == "" && got == "") {
			t.Fatalf("element: got %q, want %q", got, b)
		}
	})
}
