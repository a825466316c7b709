package transform

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/record"
)

const benchBatch = 1024

// benchInput builds batches of typical rows (10 mixed columns) with 0.5% duplicate ids.
func benchInput(b *testing.B, batches int) (*record.Schema, []*record.Batch) {
	b.Helper()
	s := schemaOf(b, "id:int", "name:string", "email:string", "amount:float", "qty:int", "country:string",
		"created:timestamp", "active:bool", "note:string", "score:float")
	countries := []string{"FR", "DE", "US", "GB", "ES"}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []*record.Batch
	id := int64(0)
	for range batches {
		bld := record.NewBuilder(s, benchBatch)
		for range benchBatch {
			id++
			key := id
			if id%200 == 0 {
				key = id - 100 // a duplicate
			}
			r := bld.Row(id)
			r[0] = record.Int(key)
			r[1] = record.String(fmt.Sprintf("customer %d", id))
			r[2] = record.String(fmt.Sprintf("user%d@example.com", id))
			r[3] = record.Float(float64(id%1000) + 0.25)
			r[4] = record.Int(id % 7)
			r[5] = record.String(countries[id%5])
			r[6] = record.Timestamp(t0.Add(time.Duration(id) * time.Second))
			r[7] = record.Bool(id%3 != 0)
			r[8] = record.String("a note, with a comma")
			r[9] = record.Float(float64(id%100) / 10)
		}
		out = append(out, bld.Take())
	}
	return s, out
}

// nullOutput discards what a node produces.
type nullOutput struct{ rows int }

func (o *nullOutput) Emit(b *record.Batch) error { o.rows += len(b.Rows); return nil }
func (o *nullOutput) Reject(record.Reject) error { return nil }
func (o *nullOutput) Count(Counter, int64)       {}

// benchNode feeds b.N rows through a node. Nodes work on their input in place, so each batch is
// restored from a pristine copy before it is fed again; that copy (about 10 ns a row) is counted.
func benchNode(b *testing.B, typ string, config map[string]any) {
	benchNodeTimed(b, typ, config, false)
}

// benchNodeTimed is benchNode; with moveTime, the timestamp column "created" of each row fed is 1 ms
// after the previous row's (a stream of 1,000 rows per second of event time), for the window nodes.
func benchNodeTimed(b *testing.B, typ string, config map[string]any, moveTime bool) {
	s, batches := benchInput(b, 16)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	saved := make([][]record.Row, len(batches))
	savedPos := make([][]int64, len(batches))
	pristine := make([][]record.Value, len(batches))
	for i, bt := range batches {
		saved[i] = append([]record.Row(nil), bt.Rows...)
		savedPos[i] = append([]int64(nil), bt.Pos...)
		for _, r := range bt.Rows {
			pristine[i] = append(pristine[i], r...)
		}
	}
	w := len(s.Fields)
	n, _ := setup(b, typ, config, s)
	out := &nullOutput{}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for i := 0; rows < b.N; i++ {
		k := i % len(batches)
		bt := batches[k]
		bt.Rows = append(bt.Rows[:0], saved[k]...)
		for j, r := range bt.Rows {
			copy(r, pristine[k][j*w:(j+1)*w])
			if moveTime {
				r[6] = record.TimestampMicros(t0 + int64(rows+j)*1000)
			}
		}
		bt.Pos = append(bt.Pos[:0], savedPos[k]...)
		bt.Schema = s
		if err := n.Process(ctx, 0, bt, out); err != nil {
			b.Fatal(err)
		}
		rows += len(saved[k])
	}
	if err := n.Flush(ctx, out); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkMap(b *testing.B) {
	benchNode(b, "map", map[string]any{
		"rename":   map[string]any{"name": "customer", "qty": "quantity"},
		"drop":     []any{"note"},
		"cast":     map[string]any{"quantity": "float"},
		"defaults": map[string]any{"country": "FR"},
		"add":      []any{map[string]any{"name": "source", "value": "bench"}},
	})
}

func BenchmarkExpression(b *testing.B) {
	benchNode(b, "expression", map[string]any{"fields": []any{
		map[string]any{"name": "total", "expression": "amount * qty"},
		map[string]any{"name": "country_lc", "expression": "lower(country)"},
	}})
}

func BenchmarkFilter(b *testing.B) {
	benchNode(b, "filter", map[string]any{"expression": `active && amount > 100`})
}

func BenchmarkDedupFirst(b *testing.B) {
	benchNode(b, "dedup", map[string]any{"key": []any{"id"}})
}

func BenchmarkDedupLast(b *testing.B) {
	benchNode(b, "dedup", map[string]any{"key": []any{"id"}, "keep": "last", "max_keys": 100_000_000})
}

// BenchmarkDedupKeyMemory reports the heap that keep: first holds per distinct key, for 1, 3 and
// 10 million keys (run with -benchtime 1x).
func BenchmarkDedupKeyMemory(b *testing.B) {
	for _, n := range []int{1_000_000, 3_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			for range b.N {
				var before, after runtimeMem
				before.read()
				s := &hashSet{}
				for i := range uint64(n) {
					s.Add(i * 0x9E3779B97F4A7C15)
				}
				after.read()
				b.ReportMetric(float64(after.heap-before.heap)/float64(n), "bytes/key")
				if s.Len() != int64(n) {
					b.Fatal("lost keys")
				}
			}
		})
	}
}

func windowBenchConfig(over map[string]any) map[string]any {
	c := map[string]any{"time_field": "created", "size": "1m", "group_by": []any{"country"},
		"aggregates": []any{
			map[string]any{"name": "n", "function": "count"},
			map[string]any{"name": "qty", "function": "sum", "field": "qty"},
			map[string]any{"name": "avg_amount", "function": "avg", "field": "amount"},
			map[string]any{"name": "top", "function": "max", "field": "score"},
		}}
	for k, v := range over {
		c[k] = v
	}
	return c
}

// BenchmarkWindowTumbling: one-minute tumbling windows by country (5 groups), four aggregates.
func BenchmarkWindowTumbling(b *testing.B) {
	benchNodeTimed(b, "window", windowBenchConfig(map[string]any{"watermark": "5s"}), true)
}

// BenchmarkWindowSliding: one-minute windows every 10 s (each row in 6 windows).
func BenchmarkWindowSliding(b *testing.B) {
	benchNodeTimed(b, "window", windowBenchConfig(map[string]any{"type": "sliding", "slide": "10s", "watermark": "5s"}), true)
}

// BenchmarkStreamDedup: key id (0.5% duplicates) within one minute of event time.
func BenchmarkStreamDedup(b *testing.B) {
	benchNodeTimed(b, "stream_dedup", map[string]any{"key": []any{"id"}, "within": "1m", "time_field": "created"}, true)
}

// BenchmarkStreamDedupKeyMemory: the heap held per remembered key.
func BenchmarkStreamDedupKeyMemory(b *testing.B) {
	in := schemaOf(b, "id:int", "ts:timestamp")
	const n = 1_000_000
	for range b.N {
		var before, after runtimeMem
		before.read()
		node, _ := setup(b, "stream_dedup", map[string]any{"key": []any{"id"}, "within": "24h", "time_field": "ts"}, in)
		bld := record.NewBuilder(in, benchBatch)
		for i := range n {
			r := bld.Row(int64(i))
			r[0], r[1] = record.Int(int64(i)), record.TimestampMicros(int64(i))
			if bld.Full() || i == n-1 {
				if err := node.Process(context.Background(), 0, bld.Take(), &nullOutput{}); err != nil {
					b.Fatal(err)
				}
			}
		}
		after.read()
		b.ReportMetric(float64(after.heap-before.heap)/n, "bytes/key")
		if got := len(node.(*streamDedupNode).seen); got != n {
			b.Fatalf("%d keys held, want %d", got, n)
		}
	}
}

// BenchmarkBaselineCSVRead is the yardstick measured beside the nodes: a bare encoding/csv loop
// reading the same 10 columns (as text) from memory and discarding them.
func BenchmarkBaselineCSVRead(b *testing.B) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	const rows = 16 * benchBatch
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for id := 1; id <= rows; id++ {
		_ = w.Write([]string{strconv.Itoa(id), fmt.Sprintf("customer %d", id), fmt.Sprintf("user%d@example.com", id),
			strconv.FormatFloat(float64(id%1000)+0.25, 'g', -1, 64), strconv.Itoa(id % 7), "FR",
			t0.Add(time.Duration(id) * time.Second).Format(time.RFC3339), "true", "a note, with a comma", "1.5"})
	}
	w.Flush()
	data := buf.Bytes()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for n < b.N {
		r := csv.NewReader(bytes.NewReader(data))
		r.ReuseRecord = true
		for n < b.N {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			_ = rec
			n++
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}
