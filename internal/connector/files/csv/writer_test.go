package csv_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/record"
)

func write(t *testing.T, env connector.Env, cfg map[string]any, mode connector.WriteMode, s *record.Schema, rows ...record.Row) error {
	t.Helper()
	w, err := csv.New().OpenWriter(t.Context(), env, cfg, connector.WriteRequest{Mode: mode, Schema: s, RunID: "t"})
	if err != nil {
		return err
	}
	b := record.NewBatch(s, len(rows))
	b.Rows = append(b.Rows, rows...)
	werr := w.Write(t.Context(), b)
	if err := w.Close(t.Context()); err != nil {
		return err
	}
	return werr
}

func TestWriterLatin1AndDialect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := connector.Env{FileRoots: []string{dir}}
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString, Nullable: true})
	cfg := map[string]any{"path": "l1.csv", "encoding": "latin-1", "delimiter": ";", "null_values": []any{"NULL"}, "bom": false}
	err := write(t, env, cfg, connector.Overwrite, s,
		record.Row{record.Int(1), record.String("café; \"bar\"")},
		record.Row{record.Int(2), record.String("日本")},
		record.Row{record.Int(3), record.Null},
		record.Row{record.Int(4), record.String("NULL")})
	var re *connector.RowError
	if !errors.As(err, &re) || len(re.Rows) != 1 || re.Rows[0].Index != 1 || re.Rows[0].Field != "name" || !strings.Contains(re.Rows[0].Reason, "Latin-1") {
		t.Fatalf("Write = %v", err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "l1.csv"))
	want := "id;name\n1;\"caf\xe9; \"\"bar\"\"\"\n3;NULL\n4;\"NULL\"\n"
	if string(got) != want {
		t.Fatalf("file %q, want %q", got, want)
	}
	res, err := readAll(t, env, cfg, connector.ReadRequest{})
	if err != nil || len(res.rows) != 3 || res.rows[0]["name"] != "café; \"bar\"" || res.rows[1]["name"] != "<null>" || res.rows[2]["name"] != "NULL" {
		t.Fatalf("read back %v %v", res.rows, err)
	}
}

func TestAppendChecksTheHeader(t *testing.T) {
	t.Parallel()
	env := setup(t, "a.csv", []byte("id,name\n1,a"))
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString})
	if err := write(t, env, map[string]any{"path": "a.csv"}, connector.Append, s, record.Row{record.Int(2), record.String("b")}); err != nil {
		t.Fatal(err)
	}
	res, err := readAll(t, env, map[string]any{"path": "a.csv"}, connector.ReadRequest{})
	if err != nil || len(res.rows) != 2 || res.rows[1]["name"] != "b" {
		t.Fatalf("append to a file without a final newline: %v %v", res.rows, err)
	}
	other := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "title", Kind: record.KindString})
	err = write(t, env, map[string]any{"path": "a.csv"}, connector.Append, other, record.Row{record.Int(3), record.String("c")})
	if err == nil || !strings.Contains(err.Error(), "the existing header (id, name) differs from the schema written (id, title)") {
		t.Fatalf("append with another header: %v", err)
	}
}

// A gzip input resumes from its checkpoint too (decompressing up to it).
func TestResumeGzip(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprintln(zw, "id,name")
	for i := 1; i <= 2500; i++ {
		fmt.Fprintf(zw, "%d,\"n,%d\"\n", i, i)
	}
	zw.Close()
	env := setup(t, "in.csv.gz", buf.Bytes())
	cfg := map[string]any{"path": "in.csv.gz"}
	rd, err := csv.New().Open(t.Context(), env, cfg, connector.ReadRequest{BatchSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	b, err := rd.Next(t.Context())
	if err != nil || b.Len() != 1000 {
		t.Fatalf("first batch: %d %v", b.Len(), err)
	}
	st, _ := rd.State()
	rd.Close()
	res, err := readAll(t, env, cfg, connector.ReadRequest{State: st, BatchSize: 1000})
	if err != nil || len(res.rows) != 1500 || res.rows[0]["id"] != "1001" || res.rows[1499]["name"] != "n,2500" {
		t.Fatalf("resumed: %d rows, err %v", len(res.rows), err)
	}
}

func TestWriterWindows1252(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := connector.Env{FileRoots: []string{dir}}
	s := record.MustSchema(record.Field{Name: "price", Kind: record.KindString})
	if err := write(t, env, map[string]any{"path": "w.csv", "encoding": "windows-1252"}, connector.Overwrite, s, record.Row{record.String("5 €")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "w.csv")); string(got) != "price\n5 \x80\n" {
		t.Fatalf("file %q", got)
	}
	err := write(t, env, map[string]any{"path": "l.csv", "encoding": "latin-1"}, connector.Overwrite, s, record.Row{record.String("5 €")})
	var re *connector.RowError
	if !errors.As(err, &re) || !strings.Contains(re.Rows[0].Reason, "Latin-1 cannot encode") {
		t.Fatalf("euro in latin-1: %v", err)
	}
}

// The CSV writer formats floats as the JSON writers and encoding/json do (3548482, not 3.548482e+06);
// NaN and infinities, which JSON cannot hold, as NaN, +Inf, -Inf.
func TestWriterFloatsAsEncodingJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := connector.Env{FileRoots: []string{dir}}
	s := record.MustSchema(record.Field{Name: "f", Kind: record.KindFloat})
	fs := []float64{3548482, 5552541.819999999, 1e6, 1e20, 1e21, 1e-6, 1e-7, 0.1, -0.5, 123456789012345678, 5e-324, 1.7976931348623157e308}
	var rows []record.Row
	want := "f\n"
	for _, f := range fs {
		rows = append(rows, record.Row{record.Float(f)})
		j, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		want += string(j) + "\n"
	}
	rows = append(rows, record.Row{record.Float(math.NaN())}, record.Row{record.Float(math.Inf(1))}, record.Row{record.Float(math.Inf(-1))})
	want += "NaN\n+Inf\n-Inf\n"
	if err := write(t, env, map[string]any{"path": "f.csv"}, connector.Overwrite, s, rows...); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "f.csv"))
	if string(got) != want {
		t.Fatalf("file\n%s\nwant\n%s", got, want)
	}
}
