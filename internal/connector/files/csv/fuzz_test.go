package csv_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/record"
)

// FuzzReader feeds arbitrary bytes to the reader: it must never panic, every row must have the
// schema's width, and every reject must name the file and a line within it.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"id,name\n1,a\n", "a,b\n\"x\"\"y\",2\n", "a\n\"unterminated\n", "a,b\n1,2,3\n", "\xef\xbb\xbfa\n\xff\n",
		"a,b\r\n1,\"multi\nline\"\r\n", "", "\n\n\n", "a;b\n1;2", "x\n\"a\"b\n", "id\n9223372036854775808\n",
		"d,t\n2024-02-29,2024-01-01T00:00:00.5Z\n2023-02-29,2024-01-01 10:00:00Z\n",
	} {
		f.Add([]byte(s), true, byte(','))
	}
	f.Fuzz(func(t *testing.T, data []byte, header bool, delim byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f.csv"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := map[string]any{"path": "f.csv", "header": header, "max_record_bytes": 1024, "infer_rows": 50}
		if delim == ';' || delim == '\t' || delim == '|' {
			cfg["delimiter"] = string(delim)
		}
		rd, err := csv.New().Open(t.Context(), connector.Env{FileRoots: []string{dir}}, cfg, connector.ReadRequest{BatchSize: 7})
		if err != nil {
			return // a file-level error is a fine answer
		}
		defer rd.Close()
		lines := int64(1)
		for _, c := range data {
			if c == '\n' {
				lines++
			}
		}
		for range len(data) + 2 {
			b, err := rd.Next(t.Context())
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				return
			}
			for _, row := range b.Rows {
				if len(row) != len(b.Schema.Fields) {
					t.Fatalf("row width %d, schema %d", len(row), len(b.Schema.Fields))
				}
			}
			for _, rj := range b.Rejects {
				if rj.Source != "f.csv" || rj.Pos < 1 || rj.Pos > lines || rj.Reason == "" {
					t.Fatalf("bad reject %+v (file has %d lines)", rj, lines)
				}
			}
		}
		t.Fatalf("reader did not reach EOF")
	})
}

// FuzzRoundTrip writes arbitrary strings and reads them back: they must come back unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add("plain", "with, comma", "")
	f.Add("\"quoted\"", "multi\nline\r\n", "NULL")
	f.Add(" spaced ", "\t", "é日本")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		for _, s := range []string{a, b, c} {
			if !validUTF8(s) {
				return
			}
		}
		dir := t.TempDir()
		env := connector.Env{FileRoots: []string{dir}}
		s := record.MustSchema(record.Field{Name: "a", Kind: record.KindString, Nullable: true}, record.Field{Name: "b", Kind: record.KindString, Nullable: true}, record.Field{Name: "c", Kind: record.KindString, Nullable: true})
		cfg := map[string]any{"path": "rt.csv"}
		w, err := csv.New().OpenWriter(t.Context(), env, cfg, connector.WriteRequest{Mode: connector.Overwrite, Schema: s, RunID: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		bl := record.NewBuilder(s, 2)
		r := bl.Row(1)
		r[0], r[1], r[2] = record.String(a), record.String(b), record.String(c)
		r = bl.Row(2)
		r[0] = record.Null
		if err := w.Write(t.Context(), bl.Take()); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		rd, err := csv.New().Open(t.Context(), env, cfg, connector.ReadRequest{Overrides: map[string]record.Kind{"a": record.KindString, "b": record.KindString, "c": record.KindString}})
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		got, err := rd.Next(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Rejects) > 0 || got.Len() != 2 {
			t.Fatalf("rows %d, rejects %+v", got.Len(), got.Rejects)
		}
		for j, want := range []string{a, b, c} {
			if v := got.Rows[0][j]; v.Kind() != record.KindString || v.Str() != want {
				t.Fatalf("field %d: got %s %q, want %q", j, v.Kind(), v.Str(), want)
			}
		}
		if !got.Rows[1][0].IsNull() {
			t.Fatalf("NULL came back as %q", got.Rows[1][0].String())
		}
	})
}

func validUTF8(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' {
			return false
		}
	}
	return true
}

// The fast date and timestamp paths agree with the general parser.
func TestFastPathsAgree(t *testing.T) {
	t.Parallel()
	cases := []string{"2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29", "1969-12-31", "0001-01-01", "2024-13-01", "2024-04-31"}
	for _, d := range cases {
		content := "d\n" + d + "\n"
		env := setup(t, "d.csv", []byte(content))
		res, err := readAll(t, env, map[string]any{"path": "d.csv", "types": map[string]any{"d": "date"}}, connector.ReadRequest{})
		if err != nil {
			t.Fatal(err)
		}
		want, perr := time.Parse(record.DateLayout, d)
		if perr != nil {
			if len(res.rejects) != 1 {
				t.Errorf("%s: accepted an invalid date: %v", d, res.rows)
			}
			continue
		}
		if len(res.rows) != 1 || res.rows[0]["d"] != want.Format(record.DateLayout) {
			t.Errorf("%s: got %v %v", d, res.rows, res.rejects)
		}
	}
	for _, ts := range []string{"2024-03-01T12:34:56.123456Z", "1955-11-05T06:15:00Z", "2024-03-01 12:34:56.1Z", "2024-03-01T24:00:00Z", "2024-03-01T12:34:56+02:00"} {
		env := setup(t, "t.csv", []byte("t\n"+ts+"\n"))
		res, err := readAll(t, env, map[string]any{"path": "t.csv", "types": map[string]any{"t": "timestamp"}}, connector.ReadRequest{})
		if err != nil {
			t.Fatal(err)
		}
		want, perr := record.Parse(ts, record.KindTimestamp)
		if perr != nil {
			if len(res.rejects) != 1 {
				t.Errorf("%s: accepted an invalid timestamp: %v", ts, res.rows)
			}
			continue
		}
		if len(res.rows) != 1 || res.rows[0]["t"] != want.String() {
			t.Errorf("%s: got %v %v, want %s", ts, res.rows, res.rejects, want.String())
		}
	}
}
