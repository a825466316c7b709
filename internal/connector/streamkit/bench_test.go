package streamkit_test

import (
	"fmt"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// BenchmarkDecodeJSON decodes the payloads of bench/streams (about 60 bytes: an int, a string and
// a decimal field) into batches of 2048 rows, as a stream source does.
func BenchmarkDecodeJSON(b *testing.B) {
	d, err := streamkit.NewDecoder(streamkit.Payload{Format: streamkit.JSON, Fields: []streamkit.FieldConfig{
		{Name: "seq", Type: "int"}, {Name: "name"}, {Name: "amount", Type: "decimal"}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 2048
	payloads := make([][]byte, batch)
	size := 0
	for i := range payloads {
		payloads[i] = fmt.Appendf(nil, `{"seq":%d,"name":"customer %d","amount":%d.25}`, 1_000_000+i, 1_000_000+i, i%1000)
		size += len(payloads[i])
	}
	noMeta := func(record.Row) {}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		bl := record.NewBuilder(d.Schema(), batch)
		for i, p := range payloads {
			d.Add(bl, p, int64(i), "bench/0", noMeta)
		}
		if out := bl.Take(); out.Len() != batch || len(out.Rejects) > 0 {
			b.Fatalf("%d rows, %d rejects", out.Len(), len(out.Rejects))
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}
