package parquet_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	"github.com/dataaggregator/aggregator/internal/connector/files/parquet"
	"github.com/dataaggregator/aggregator/internal/record"
)

// setup writes n benchmark rows as dir/good.parquet and returns the file's bytes.
func setup(t testing.TB, n int) (connector.Env, []byte) {
	t.Helper()
	dir := t.TempDir()
	env := connector.Env{FileRoots: []string{dir}}
	filetest.WriteRows(t, parquet.New(), env, map[string]any{"path": "good.parquet"}, n)
	b, err := os.ReadFile(filepath.Join(dir, "good.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return env, b
}

// readAll reads every row of a file through the connector; it returns the rows and the first error.
func readAll(ctx context.Context, env connector.Env, cfg map[string]any) (int, error) {
	r, err := parquet.New().Open(ctx, env, cfg, connector.ReadRequest{BatchSize: 1000})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n := 0
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n += b.Len()
	}
}

func TestBadFiles(t *testing.T) {
	t.Parallel()
	env, good := setup(t, 3000)
	dir := env.FileRoots[0]
	footerLen := int(binary.LittleEndian.Uint32(good[len(good)-8:]))
	hugeFooter := bytes.Clone(good)
	binary.LittleEndian.PutUint32(hugeFooter[len(hugeFooter)-8:], 1<<31-1)
	for _, c := range []struct {
		name string
		body []byte
		want string
	}{
		{"empty", nil, "not a Parquet file: 0 bytes"},
		{"csv", []byte("id,name\n1,Ada\n2,Bob\n"), "not a Parquet file: it does not start with PAR1"},
		{"truncated", good[:len(good)/2], "truncated or not a Parquet file: it does not end with PAR1"},
		{"cut_footer", append(bytes.Clone(good[:8]), good[len(good)-8:]...), "truncated Parquet file: its footer claims"},
		{"huge_footer", hugeFooter, "truncated Parquet file: its footer claims 2147483647 bytes"},
		{"footer_garbage", append(append(bytes.Clone(good[:len(good)-8-footerLen]), bytes.Repeat([]byte{0xff}, footerLen)...), good[len(good)-8:]...), "not a readable Parquet file"},
		{"pages_zeroed", append(append([]byte("PAR1"), make([]byte, len(good)-12-footerLen)...), good[len(good)-8-footerLen:]...), "row group 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			name := c.name + ".parquet"
			if err := os.WriteFile(filepath.Join(dir, name), c.body, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := readAll(t.Context(), env, map[string]any{"path": name})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), name) {
				t.Fatalf("err = %v; want it to name %s and say %q", err, name, c.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	env, _ := setup(t, 70_000) // two row groups
	for _, c := range []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"row_group", map[string]any{"max_row_group_bytes": 1 << 20}, "good.parquet: row group 0 holds"},
		{"page", map[string]any{"max_page_bytes": 64 << 10}, "over max_page_bytes (65536)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.cfg["path"] = "good.parquet"
			_, err := readAll(t.Context(), env, c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	n, err := readAll(t.Context(), env, map[string]any{"path": "good.parquet"})
	if err != nil || n != 70_000 {
		t.Fatalf("within the limits: %d rows, %v; want 70000", n, err)
	}
}

// A decimal that does not fit its column, and a value of another type, reject their rows with the field
// named; the rest are written.
func TestWriteRejects(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	env := connector.Env{FileRoots: []string{t.TempDir()}}
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "amount", Kind: record.KindDecimal, Precision: 6, Scale: 2, Nullable: true})
	w, err := parquet.New().OpenWriter(ctx, env, map[string]any{"path": "d.parquet"}, connector.WriteRequest{Mode: connector.Overwrite, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	b := record.NewBatch(s, 3)
	b.Rows = append(b.Rows, record.Row{record.Int(1), record.MustDecimal("1234.56")}, record.Row{record.Int(2), record.MustDecimal("1.234")},
		record.Row{record.Int(3), record.MustDecimal("12345.6")})
	err = w.Write(ctx, b)
	var re *connector.RowError
	if !errors.As(err, &re) || len(re.Rows) != 2 || re.Rows[0].Index != 1 || re.Rows[0].Field != "amount" || !strings.Contains(re.Rows[1].Reason, "before the point") {
		t.Fatalf("Write = %v (%+v); want rows 1 and 2 rejected on amount", err, re)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := readAll(ctx, env, map[string]any{"path": "d.parquet"}); err != nil || n != 1 {
		t.Fatalf("read back %d rows, %v; want 1", n, err)
	}
}
