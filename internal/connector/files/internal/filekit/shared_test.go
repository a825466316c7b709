package filekit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"

	"github.com/dataaggregator/aggregator/internal/connector/internal/rowkit"
)

func TestTypeChecks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		types    map[string]string
		errs     string // TypeErrors joined
		firstErr string // CheckTypes
	}{
		{types: nil},
		{types: map[string]string{"a": "int", "b": "decimal"}},
		{types: map[string]string{"z": "nope", "a": "int", "b": "bad"}, errs: "types.b: ; types.z: ", firstErr: "types.b: "},
	}
	for _, c := range cases {
		errs := TypeErrors(c.types)
		var paths []string
		for _, e := range errs {
			paths = append(paths, e.Path+": ")
		}
		if got := strings.Join(paths, "; "); got != c.errs {
			t.Errorf("TypeErrors(%v) paths = %q; want %q", c.types, got, c.errs)
		}
		err := CheckTypes(c.types)
		switch {
		case c.firstErr == "" && err != nil:
			t.Errorf("CheckTypes(%v) = %v", c.types, err)
		case c.firstErr != "" && (err == nil || !strings.HasPrefix(err.Error(), c.firstErr) || !errors.Is(err, connector.ErrConfig)):
			t.Errorf("CheckTypes(%v) = %v; want a config error starting %q", c.types, err, c.firstErr)
		}
	}
}

func TestDestination(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	env := connector.Env{FileRoots: []string{root}}
	if _, err := Destination(env, "", "u1"); err == nil || !errors.Is(err, connector.ErrConfig) || !strings.Contains(err.Error(), "a destination writes to a path, not an upload") {
		t.Fatalf("upload destination: %v", err)
	}
	got, err := Destination(env, "out.csv", "")
	real, _ := filepath.EvalSymlinks(root)
	if err != nil || got != filepath.Join(real, "out.csv") {
		t.Fatalf("Destination = %q, %v", got, err)
	}
}

func TestResolveReopenClose(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "in.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := connector.Env{FileRoots: []string{root}}
	src := &Source{Path: "in.txt", Types: map[string]string{"a": "int", "b": "date"}}
	path, name, overrides, err := src.Resolve(t.Context(), env, connector.ReadRequest{Overrides: map[string]record.Kind{"b": record.KindString}})
	if err != nil {
		t.Fatal(err)
	}
	if name != "in.txt" || filepath.Base(path) != "in.txt" || overrides["a"] != record.KindInt || overrides["b"] != record.KindString {
		t.Fatalf("Resolve = %q, %q, %v", path, name, overrides)
	}
	in, err := Open(path, name)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(in)
	if string(b) != "hello" || in.Name != "in.txt" {
		t.Fatalf("read %q, name %q", b, in.Name)
	}
	again, err := in.Reopen(2)
	if err != nil {
		t.Fatal(err)
	}
	c := InputCloser{In: again}
	if b, _ := io.ReadAll(again); string(b) != "llo" {
		t.Fatalf("after Reopen(2): %q", b)
	}
	if err := c.Close(); err != nil || c.In != nil {
		t.Fatalf("Close: %v, %v", err, c.In)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, _, err := (&Source{Path: "missing.txt"}).Resolve(t.Context(), env, connector.ReadRequest{}); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("missing file: %v", err)
	}
	if _, _, _, err := (&Source{Path: "in.txt", Types: map[string]string{"a": "nope"}}).Resolve(t.Context(), env, connector.ReadRequest{}); !errors.Is(err, connector.ErrConfig) {
		t.Fatalf("bad type: %v", err)
	}
	var st struct{ Offset int64 }
	if err := Checkpoint("in.txt", []byte(`{"Offset":`), &st); err == nil || !strings.HasPrefix(err.Error(), "in.txt: bad checkpoint") {
		t.Fatalf("bad checkpoint: %v", err)
	}
	if err := Checkpoint("in.txt", []byte(`{"Offset":7}`), &st); err != nil || st.Offset != 7 {
		t.Fatalf("checkpoint: %v, %+v", err, st)
	}
}

func TestLinesTail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	checkErr := errors.New("header differs")
	cases := []struct {
		content   string
		check     func(*os.File) error
		missingNL bool
		err       error
	}{
		{content: "a\nb\n"},
		{content: "a\nb", missingNL: true},
		{content: "a\n", check: func(*os.File) error { return checkErr }, err: checkErr},
	}
	for i, c := range cases {
		p := filepath.Join(dir, fmt.Sprintf("f%d", i))
		if err := os.WriteFile(p, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var missing bool
		off, recs, err := LinesTail(&missing, c.check)(f, int64(len(c.content)))
		f.Close()
		if !errors.Is(err, c.err) {
			t.Errorf("%q: err %v; want %v", c.content, err, c.err)
			continue
		}
		if c.err == nil && (off != int64(len(c.content)) || !recs || missing != c.missingNL) {
			t.Errorf("%q: offset %d, records %v, missing newline %v", c.content, off, recs, missing)
		}
	}
}

// Batches hands out the samples first, returns a file-level error after the rows before it, counts
// bytes from the offsets and keeps returning io.EOF at the end.
func TestBatches(t *testing.T) {
	t.Parallel()
	schema := record.MustSchema(record.Field{Name: "n", Kind: record.KindInt})
	type item struct {
		n   int64
		err error
	}
	setup := func(items []item) (*Batches[int64], func() (int64, error), func(int64), func() int64) {
		q := &Batches[int64]{B: record.NewBuilder(schema, 2), Samples: []int64{1}}
		q.From(10)
		var off int64 = 10
		next := func() (int64, error) {
			if len(items) == 0 {
				return 0, io.EOF
			}
			it := items[0]
			items = items[1:]
			off += 5
			return it.n, it.err
		}
		add := func(n int64) {
			if n < 0 {
				q.B.Reject(rowkit.Reject("f", n, "", "negative", strings.Repeat("x", 2000)))
				return
			}
			q.B.Row(n)[0] = record.Int(n)
		}
		return q, next, add, func() int64 { return off }
	}
	boom := errors.New("boom")
	q, next, add, off := setup([]item{{n: 2}, {n: -3}, {err: boom}})
	ctx := context.Background()
	var got []string
	for range 5 {
		b, err := q.Next(ctx, next, add, off)
		switch {
		case err != nil:
			got = append(got, "err:"+err.Error())
		default:
			s := fmt.Sprintf("%dB:", b.Bytes)
			for _, r := range b.Rows {
				s += r[0].String() + ","
			}
			for _, rj := range b.Rejects {
				if len(rj.Raw) > rowkit.RawMax+20 {
					t.Errorf("reject raw not truncated: %d bytes", len(rj.Raw))
				}
				s += "rej" + rj.Reason + ","
			}
			got = append(got, s)
		}
	}
	// The batch cut short by the error counts no bytes: the offset after a failed read means nothing.
	want := "5B:1,2,|0B:rejnegative,|err:boom|err:boom|err:boom"
	if strings.Join(got, "|") != want {
		t.Fatalf("batches %q; want %q", strings.Join(got, "|"), want)
	}

	q, next, add, off = setup(nil)
	if b, err := q.Next(ctx, next, add, off); err != nil || len(b.Rows) != 1 {
		t.Fatalf("first batch: %v, %v", b, err)
	}
	for range 2 {
		if _, err := q.Next(ctx, next, add, off); !errors.Is(err, io.EOF) {
			t.Fatalf("after the end: %v", err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := q.Next(cctx, next, add, off); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestSample(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	counter := func(limit int, end error) func() (int, error) {
		i := 0
		return func() (int, error) {
			if i == limit {
				return 0, end
			}
			i++
			return i, nil
		}
	}
	cases := []struct {
		n, limit int
		end      error
		want     string
		err      error
	}{
		{n: 3, limit: 10, end: io.EOF, want: "[1 2 3]"},
		{n: 3, limit: 2, end: io.EOF, want: "[1 2]"},
		{n: 0, limit: 2, end: io.EOF, want: "[]"},
		{n: 3, limit: 1, end: boom, err: boom},
	}
	for _, c := range cases {
		got, err := Sample(c.n, counter(c.limit, c.end))
		if !errors.Is(err, c.err) || (c.err == nil && fmt.Sprint(got) != c.want) {
			t.Errorf("Sample(%d) over %d records = %v, %v; want %s, %v", c.n, c.limit, got, err, c.want, c.err)
		}
	}
}

func TestTextSchema(t *testing.T) {
	t.Parallel()
	rows := func(yield func([]string) bool) {
		for _, r := range [][]string{{"1", "2024-01-31", "x"}, {"2", "2024-02-01", "y"}} {
			if !yield(r) {
				return
			}
		}
	}
	names := []string{"id", "day", "name"}
	cases := []struct {
		inferRows int
		overrides map[string]record.Kind
		want      string
	}{
		{inferRows: 10, want: "id:int day:date name:string"},
		{inferRows: 0, want: "id:string day:string name:string"},
		{inferRows: 0, overrides: map[string]record.Kind{"id": record.KindInt}, want: "id:int day:string name:string"},
		{inferRows: 10, overrides: map[string]record.Kind{"day": record.KindString}, want: "id:int day:string name:string"},
	}
	for _, c := range cases {
		s, kinds, err := TextSchema("f.csv", names, c.overrides, c.inferRows, rows)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, f := range s.Fields {
			if !f.Nullable || kinds[i] != f.Kind {
				t.Errorf("field %s: nullable %v, kind %v vs %v", f.Name, f.Nullable, kinds[i], f.Kind)
			}
			got = append(got, f.Name+":"+f.Kind.String())
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("inferRows %d, overrides %v: %s; want %s", c.inferRows, c.overrides, strings.Join(got, " "), c.want)
		}
	}
	if _, _, err := TextSchema("f.csv", []string{"a", "a"}, nil, 0, rows); err == nil || !strings.HasPrefix(err.Error(), "f.csv: ") {
		t.Fatalf("duplicate names: %v", err)
	}
}
