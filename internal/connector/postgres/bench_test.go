package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

var benchSchema = record.MustSchema(
	record.Field{Name: "id", Kind: record.KindInt},
	record.Field{Name: "customer", Kind: record.KindString, Nullable: true},
	record.Field{Name: "email", Kind: record.KindString, Nullable: true},
	record.Field{Name: "country", Kind: record.KindString, Nullable: true},
	record.Field{Name: "amount", Kind: record.KindDecimal, Precision: 12, Scale: 2, Nullable: true},
	record.Field{Name: "quantity", Kind: record.KindInt, Nullable: true},
	record.Field{Name: "price", Kind: record.KindFloat, Nullable: true},
	record.Field{Name: "created_at", Kind: record.KindTimestamp, Nullable: true},
	record.Field{Name: "active", Kind: record.KindBool, Nullable: true},
	record.Field{Name: "note", Kind: record.KindString, Nullable: true},
)

// benchBatches makes n rows in batches of size, like bench/gen's CSV once typed.
func benchBatches(n, size int) []*record.Batch {
	var out []*record.Batch
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for start := 0; start < n; start += size {
		b := record.NewBuilder(benchSchema, size)
		for i := start; i < min(start+size, n); i++ {
			r := b.Row(int64(i + 1))
			r[0] = record.Int(int64(i + 1))
			r[1] = record.String("Grace Hopper")
			r[2] = record.String(fmt.Sprintf("user%d@example.com", i))
			r[3] = record.String("DE")
			r[4] = record.MustDecimal(fmt.Sprintf("%d.%02d", i%10000, i%100))
			r[5] = record.Int(int64(i % 17))
			r[6] = record.Float(float64(i) / 7)
			r[7] = record.Timestamp(base.Add(time.Duration(i) * time.Second))
			r[8] = record.Bool(i%3 == 0)
			r[9] = record.String("a note, \"quoted\"\nwith a newline")
		}
		out = append(out, b.Take())
	}
	return out
}

// BenchmarkWriteCOPY measures the destination: 100,000 rows per op through COPY in batches of 1,000,
// committed every 10 batches, into a table created by the writer.
func BenchmarkWriteCOPY(b *testing.B) {
	pg := testutil.Postgres(b)
	batches := benchBatches(100_000, benchBatchSize)
	ctx := context.Background()
	cfg := map[string]any{"url": pg.URL, "table": "bench"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w, err := New().OpenWriter(ctx, connector.Env{}, cfg, connector.WriteRequest{Mode: connector.Overwrite, Schema: benchSchema, RunID: fmt.Sprint(i)})
		if err != nil {
			b.Fatal(err)
		}
		for j, bt := range batches {
			if err := w.Write(ctx, bt); err != nil {
				b.Fatal(err)
			}
			if j%10 == 9 {
				if err := w.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := w.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100_000)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRead measures the source: 100,000 rows per op read in keyset chunks of 10,000.
func BenchmarkRead(b *testing.B) {
	pg := testutil.Postgres(b)
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{}, map[string]any{"url": pg.URL, "table": "bench"}, connector.WriteRequest{Mode: connector.Append, Key: []string{"id"}, Schema: benchSchema})
	if err != nil {
		b.Fatal(err)
	}
	for _, bt := range benchBatches(100_000, 10_000) {
		if err := w.Write(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := New().Open(ctx, connector.Env{}, map[string]any{"url": pg.URL, "table": "bench"}, connector.ReadRequest{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			bt, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += bt.Len()
		}
		r.Close()
		if n != 100_000 {
			b.Fatalf("read %d rows", n)
		}
	}
	b.ReportMetric(float64(b.N*100_000)/b.Elapsed().Seconds(), "rows/s")
}

// benchBatchSize is the rows per Write in BenchmarkWriteCOPY.
var benchBatchSize = 1000
