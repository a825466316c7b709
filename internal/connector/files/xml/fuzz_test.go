package xml_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	xmlconn "github.com/dataaggregator/aggregator/internal/connector/files/xml"
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
