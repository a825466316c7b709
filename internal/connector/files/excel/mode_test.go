package excel_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/excel"
	"github.com/dataaggregator/aggregator/internal/record"
)

// A written workbook is a data file: no execute bits, whatever excelize's own SaveAs mode is.
func TestWrittenWorkbookIsNotExecutable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  map[string]any
	}{
		{"plain", map[string]any{"path": "book.xlsx"}},
		{"encrypted", map[string]any{"path": "book.xlsx", "password": "pa55"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			env := connector.Env{FileRoots: []string{dir}}
			s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt})
			w, err := excel.New().OpenWriter(t.Context(), env, tc.cfg, connector.WriteRequest{Mode: connector.Overwrite, Schema: s})
			if err != nil {
				t.Fatal(err)
			}
			b := record.NewBatch(s, 1)
			b.Rows = append(b.Rows, record.Row{record.Int(1)})
			if err := w.Write(t.Context(), b); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(filepath.Join(dir, "book.xlsx"))
			if err != nil {
				t.Fatal(err)
			}
			if perm := st.Mode().Perm(); perm&0o111 != 0 || perm&0o600 != 0o600 {
				t.Fatalf("book.xlsx mode %v, want rw for the owner and no execute bit", perm)
			}
		})
	}
}
