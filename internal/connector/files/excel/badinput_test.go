package excel_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/excel"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	"github.com/dataaggregator/aggregator/internal/record"
)

// book writes a workbook whose sheets hold the given rows (cell values as excelize takes them).
func book(t *testing.T, dir, name string, password string, sheets map[string][][]any, order ...string) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, s := range order {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", s); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(s); err != nil {
			t.Fatal(err)
		}
		for r, row := range sheets[s] {
			cell, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := f.SetSheetRow(s, cell, &row); err != nil {
				t.Fatal(err)
			}
		}
	}
	var opts []excelize.Options
	if password != "" {
		opts = append(opts, excelize.Options{Password: password})
	}
	if err := f.SaveAs(filepath.Join(dir, name), opts...); err != nil {
		t.Fatal(err)
	}
}

func TestReadOptionsAndTypes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	book(t, dir, "b.xlsx", "", map[string][][]any{
		"Cover": {{"nothing here"}},
		"Orders": {
			{"Quarterly orders"},
			{"id", "price", "ok", "when", "note"},
			{1, 2.5, true, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), "first"},
			{2, 0.1, false, time.Date(1969, 7, 20, 0, 0, 0, 0, time.UTC), nil},
		},
	}, "Cover", "Orders")
	// A date cell in Excel's built-in short date format (14) reads as a date too.
	f, err := excelize.OpenFile(filepath.Join(dir, "b.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	f.SetCellStyle("Orders", "D3", "D4", st)
	f.Save()
	f.Close()
	env := connector.Env{FileRoots: []string{dir}}
	res, err := filetest.ReadAll(t, excel.New(), env, map[string]any{"path": "b.xlsx", "sheet_index": 1, "header_row": 2}, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejects) != 0 || len(res.Rows) != 2 {
		t.Fatalf("rows %v rejects %v", res.Rows, res.Rejects)
	}
	wantKinds := []record.Kind{record.KindInt, record.KindFloat, record.KindBool, record.KindDate, record.KindString}
	for i, k := range wantKinds {
		if res.Schema.Fields[i].Kind != k {
			t.Errorf("field %s is %s, want %s", res.Schema.Fields[i].Name, res.Schema.Fields[i].Kind, k)
		}
	}
	want := []map[string]string{
		{"id": "1", "price": "2.5", "ok": "true", "when": "2024-01-02", "note": "first"},
		{"id": "2", "price": "0.1", "ok": "false", "when": "1969-07-20", "note": "<null>"},
	}
	for i := range want {
		for k, v := range want[i] {
			if res.Rows[i][k] != v {
				t.Errorf("row %d %s = %q, want %q", i, k, res.Rows[i][k], v)
			}
		}
	}
	// No header: columns are named by letter.
	res, err = filetest.ReadAll(t, excel.New(), env, map[string]any{"path": "b.xlsx", "sheet": "Cover", "header_row": 0}, connector.ReadRequest{})
	if err != nil || len(res.Rows) != 1 || res.Rows[0]["A"] != "nothing here" {
		t.Fatalf("no header: %v %v", res.Rows, err)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	book(t, dir, "typed.xlsx", "", map[string][][]any{"S": {
		{"id", "amount"}, {1, 10}, {"x", 11}, {3, 12, "extra"}, {4, 13},
	}}, "S")
	book(t, dir, "locked.xlsx", "s3cret", map[string][][]any{"S": {{"a"}, {1}}}, "S")
	os.WriteFile(filepath.Join(dir, "corrupt.xlsx"), []byte("PK\x03\x04 definitely not a workbook"), 0o644)
	os.WriteFile(filepath.Join(dir, "empty.xlsx"), nil, 0o644)
	good, _ := os.ReadFile(filepath.Join(dir, "typed.xlsx"))
	os.WriteFile(filepath.Join(dir, "truncated.xlsx"), good[:len(good)/2], 0o644)
	env := connector.Env{FileRoots: []string{dir}}

	res, err := filetest.ReadAll(t, excel.New(), env, map[string]any{"path": "typed.xlsx", "types": map[string]any{"id": "int"}}, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || len(res.Rejects) != 2 {
		t.Fatalf("rows %v rejects %+v", res.Rows, res.Rejects)
	}
	if r := res.Rejects[0]; r.Source != "typed.xlsx" || r.Pos != 3 || r.Field != "id" || !strings.Contains(r.Reason, `cell A3: invalid integer "x"`) {
		t.Errorf("reject %+v", r)
	}
	if r := res.Rejects[1]; r.Pos != 4 || !strings.Contains(r.Reason, "has 3 cells, the header names 2 columns") {
		t.Errorf("reject %+v", r)
	}

	cases := []struct {
		name string
		cfg  map[string]any
		want string
		cfgE bool // a ConfigError
	}{
		{"locked without password", map[string]any{"path": "locked.xlsx"}, "locked.xlsx: the workbook is password-protected", true},
		{"locked wrong password", map[string]any{"path": "locked.xlsx", "password": "nope"}, "cannot decrypt the workbook", true},
		{"corrupt", map[string]any{"path": "corrupt.xlsx"}, "corrupt.xlsx: not a valid .xlsx workbook", false},
		{"truncated", map[string]any{"path": "truncated.xlsx"}, "truncated.xlsx: not a valid .xlsx workbook", false},
		{"empty", map[string]any{"path": "empty.xlsx"}, "empty.xlsx: the file is empty", false},
		{"sheet index out of range", map[string]any{"path": "typed.xlsx", "sheet_index": 3}, "sheet_index 3 is out of range (the workbook has 1 sheets: S)", false},
	}
	for _, c := range cases {
		_, err := filetest.ReadAll(t, excel.New(), env, c.cfg, connector.ReadRequest{})
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.cfgE && !errors.Is(err, connector.ErrConfig)) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error leaks the password", c.name)
		}
	}
	res, err = filetest.ReadAll(t, excel.New(), env, map[string]any{"path": "locked.xlsx", "password": "s3cret"}, connector.ReadRequest{})
	if err != nil || len(res.Rows) != 1 || res.Rows[0]["a"] != "1" {
		t.Fatalf("locked with the password: %v %v", res.Rows, err)
	}
}

// The password is a secret of the spec: redacted by the API, drawn as a password field.
func TestPasswordIsSecret(t *testing.T) {
	t.Parallel()
	spec := excel.New().Spec().Config
	if got := spec.Redact(map[string]any{"password": "s3cret"})["password"]; got == "s3cret" {
		t.Fatal("password not redacted")
	}
}

// Text longer than an Excel cell holds is refused row by row, not truncated.
func TestTooLongTextRejected(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := connector.Env{FileRoots: []string{dir}}
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "s", Kind: record.KindString})
	w, err := excel.New().OpenWriter(t.Context(), env, map[string]any{"path": "o.xlsx"}, connector.WriteRequest{Mode: connector.Overwrite, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	b := record.NewBatch(s, 2)
	b.Rows = append(b.Rows, record.Row{record.Int(1), record.String("ok")}, record.Row{record.Int(2), record.String(strings.Repeat("z", 40000))})
	err = w.Write(t.Context(), b)
	var re *connector.RowError
	if !errors.As(err, &re) || len(re.Rows) != 1 || re.Rows[0].Index != 1 || re.Rows[0].Field != "s" {
		t.Fatalf("Write = %v", err)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	res, err := filetest.ReadAll(t, excel.New(), env, map[string]any{"path": "o.xlsx"}, connector.ReadRequest{})
	if err != nil || len(res.Rows) != 1 || res.Rows[0]["s"] != "ok" {
		t.Fatalf("read back %v %v", res.Rows, err)
	}
}

func TestDiscoverListsEverySheet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	book(t, dir, "d.xlsx", "", map[string][][]any{"A": {{"x", "y"}, {1, "a"}}, "Empty": nil, "B": {{"z"}, {true}}}, "A", "Empty", "B")
	cat, err := excel.New().Discover(t.Context(), connector.Env{FileRoots: []string{dir}}, map[string]any{"path": "d.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range cat.Streams {
		got = append(got, s.Name+":"+s.Schema.String())
	}
	if strings.Join(got, " | ") != "A:x int?, y string? | Empty: | B:z bool?" {
		t.Fatalf("streams %q", got)
	}
}

// A workbook written with a password is encrypted, and reads back only with it.
func TestWritePassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := connector.Env{FileRoots: []string{dir}}
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt})
	cfg := map[string]any{"path": "secret.xlsx", "password": "pa55"}
	w, err := excel.New().OpenWriter(t.Context(), env, cfg, connector.WriteRequest{Mode: connector.Overwrite, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	b := record.NewBatch(s, 1)
	b.Rows = append(b.Rows, record.Row{record.Int(7)})
	if err := w.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := filetest.ReadAll(t, excel.New(), env, map[string]any{"path": "secret.xlsx"}, connector.ReadRequest{}); err == nil || !strings.Contains(err.Error(), "password-protected") {
		t.Fatalf("read without the password: %v", err)
	}
	res, err := filetest.ReadAll(t, excel.New(), env, cfg, connector.ReadRequest{})
	if err != nil || len(res.Rows) != 1 || res.Rows[0]["id"] != "7" {
		t.Fatalf("read with the password: %v %v", res.Rows, err)
	}
}
