package filetest

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// BenchSchema is the schema of benchmark rows: eight mixed columns.
func BenchSchema() *record.Schema {
	return record.MustSchema(
		record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString},
		record.Field{Name: "email", Kind: record.KindString}, record.Field{Name: "amount", Kind: record.KindFloat},
		record.Field{Name: "active", Kind: record.KindBool}, record.Field{Name: "created", Kind: record.KindDate},
		record.Field{Name: "updated_at", Kind: record.KindTimestamp}, record.Field{Name: "note", Kind: record.KindString, Nullable: true})
}

// BenchBatch is a batch of n benchmark rows with ids from first.
func BenchBatch(first, n int) *record.Batch {
	s := BenchSchema()
	bl := record.NewBuilder(s, n)
	base := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range n {
		id := first + i
		r := bl.Row(int64(id))
		r[0] = record.Int(int64(id))
		r[1] = record.String(fmt.Sprintf("Name %d", id))
		r[2] = record.String(fmt.Sprintf("user%d@example.com", id))
		r[3] = record.Float(float64(id%100000) / 100)
		r[4] = record.Bool(id%3 == 0)
		r[5] = record.Date(base.AddDate(0, 0, id%365))
		r[6] = record.Timestamp(base.Add(time.Duration(id) * time.Second))
		if id%10 != 0 {
			r[7] = record.String("a note, with \"quotes\"")
		}
	}
	return bl.Take()
}

// WriteRows writes n benchmark rows through the destination (overwrite) and closes it.
func WriteRows(b testing.TB, dst connector.Destination, env connector.Env, cfg map[string]any, n int) {
	b.Helper()
	ctx := b.Context()
	w, err := dst.OpenWriter(ctx, env, cfg, connector.WriteRequest{Mode: connector.Overwrite, Schema: BenchSchema(), RunID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for first := 1; first <= n; first += 1024 {
		if err := w.Write(ctx, BenchBatch(first, min(1024, n-first+1))); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchRead measures reading n rows (written first by dst) through src; it reports rows/s.
func BenchRead(b *testing.B, src connector.Source, dst connector.Destination, cfg map[string]any, n int) {
	env := connector.Env{FileRoots: []string{b.TempDir()}}
	WriteRows(b, dst, env, cfg, n)
	b.ReportAllocs()
	for b.Loop() {
		rd, err := src.Open(b.Context(), env, cfg, connector.ReadRequest{BatchSize: 1024})
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for {
			batch, err := rd.Next(b.Context())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if len(batch.Rejects) > 0 {
				b.Fatalf("reject: %+v", batch.Rejects[0])
			}
			got += batch.Len()
		}
		rd.Close()
		if got != n {
			b.Fatalf("read %d rows, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchWrite measures writing n rows (overwrite, one Commit per 16 batches) through dst; it reports rows/s.
func BenchWrite(b *testing.B, dst connector.Destination, cfg map[string]any, n int) {
	env := connector.Env{FileRoots: []string{b.TempDir()}}
	batches := make([]*record.Batch, 0, n/1024+1)
	for first := 1; first <= n; first += 1024 {
		batches = append(batches, BenchBatch(first, min(1024, n-first+1)))
	}
	b.ReportAllocs()
	for b.Loop() {
		ctx := b.Context()
		w, err := dst.OpenWriter(ctx, env, cfg, connector.WriteRequest{Mode: connector.Overwrite, Schema: BenchSchema(), RunID: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		for i, batch := range batches {
			if err := w.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
			if i%16 == 15 {
				if err := w.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := w.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}
