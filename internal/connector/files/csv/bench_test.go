package csv_test

import (
	"bufio"
	stdcsv "encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/record"
)

const benchRows = 200_000

// benchFile writes a CSV of n rows with 10 mixed columns (quoted commas and newlines included) and
// returns its directory and size.
func benchFile(b *testing.B, n int) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, "bench.csv"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id,name,email,amount,qty,active,created,updated_at,note,score")
	for i := range n {
		note := "plain note"
		if i%10 == 0 {
			note = "\"note, with comma\nand newline\""
		}
		fmt.Fprintf(w, "%d,Name %d,user%d@example.com,%d.%02d,%d,%t,2024-%02d-%02d,2024-01-02T03:04:%02dZ,%s,%g\n",
			i+1, i, i, i%1000, i%100, i%50, i%3 == 0, i%12+1, i%28+1, i%60, note, float64(i)*0.25)
	}
	w.Flush()
	f.Close()
	st, _ := os.Stat(f.Name())
	return dir, st.Size()
}

// BenchmarkBaselineStdlib is the yardstick: encoding/csv reading and discarding every record.
func BenchmarkBaselineStdlib(b *testing.B) {
	dir, size := benchFile(b, benchRows)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		f, _ := os.Open(filepath.Join(dir, "bench.csv"))
		r := stdcsv.NewReader(bufio.NewReaderSize(f, 256<<10))
		r.ReuseRecord = true
		n := 0
		for {
			_, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		f.Close()
		if n != benchRows+1 {
			b.Fatalf("read %d records", n)
		}
	}
	b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRead reads the same file into typed batches (types inferred from the first 1000 rows).
func BenchmarkRead(b *testing.B) {
	dir, size := benchFile(b, benchRows)
	env := connector.Env{FileRoots: []string{dir}}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		rd, err := csv.New().Open(b.Context(), env, map[string]any{"path": "bench.csv"}, connector.ReadRequest{BatchSize: 1024})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			batch, err := rd.Next(b.Context())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if len(batch.Rejects) > 0 {
				b.Fatalf("rejects: %+v", batch.Rejects[0])
			}
			n += batch.Len()
		}
		rd.Close()
		if n != benchRows {
			b.Fatalf("read %d rows", n)
		}
	}
	b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkWrite writes 200k typed rows (in batches of 1024) to a new file.
func BenchmarkWrite(b *testing.B) {
	dir := b.TempDir()
	env := connector.Env{FileRoots: []string{dir}}
	s := record.MustSchema(
		record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString},
		record.Field{Name: "amount", Kind: record.KindFloat}, record.Field{Name: "active", Kind: record.KindBool},
		record.Field{Name: "note", Kind: record.KindString})
	bl := record.NewBuilder(s, 1024)
	for i := range 1024 {
		r := bl.Row(int64(i))
		r[0], r[1], r[2], r[3], r[4] = record.Int(int64(i)), record.String("Name"), record.Float(float64(i)*0.5), record.Bool(i%2 == 0), record.String("a, \"quoted\" note")
	}
	batch := bl.Take()
	b.ReportAllocs()
	for b.Loop() {
		w, err := csv.New().OpenWriter(b.Context(), env, map[string]any{"path": "out.csv"}, connector.WriteRequest{Mode: connector.Overwrite, Schema: s, RunID: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		for range benchRows / 1024 {
			if err := w.Write(b.Context(), batch); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((benchRows/1024)*1024*b.N)/b.Elapsed().Seconds(), "rows/s")
}
