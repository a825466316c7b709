package kafka_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/kafka"
	"github.com/dataaggregator/aggregator/internal/connector/kafka/kafkatest"
)

// BenchmarkReadJSON reads the records of bench/streams (JSON payloads of about 60 bytes: an int, a
// string and a decimal field, snappy-compressed) from a kfake cluster in this process through the
// source's reader, in batches of 2048 rows. Each iteration reads the topic once, in a new group.
func BenchmarkReadJSON(b *testing.B) {
	const n = 200_000
	addrs := kafkatest.Cluster(b, "bench", 4)
	p := kafkatest.Client(b, addrs, kgo.DefaultProduceTopic("bench"), kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	recs := make([]*kgo.Record, 0, n)
	for i := 1; i <= n; i++ {
		recs = append(recs, &kgo.Record{Key: strconv.AppendInt(nil, int64(i), 10),
			Value: fmt.Appendf(nil, `{"seq":%d,"name":"customer %d","amount":%d.25}`, i, i, i%1000)})
	}
	kafkatest.Produce(b, p, recs...)
	fields := []any{map[string]any{"name": "seq", "type": "int"}, map[string]any{"name": "name"}, map[string]any{"name": "amount", "type": "decimal"}}
	ctx := context.Background()
	b.ReportAllocs()
	group := 0
	for b.Loop() {
		group++
		rd, err := kafka.New().Open(ctx, connector.Env{}, cfg(addrs, "topics", []any{"bench"}, "group", fmt.Sprint("g", group),
			"fields", fields, "metadata", false), connector.ReadRequest{BatchSize: 2048})
		if err != nil {
			b.Fatal(err)
		}
		for got := 0; got < n; {
			bt, err := rd.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(bt.Rejects) > 0 {
				b.Fatalf("rejects: %+v", bt.Rejects[0])
			}
			got += bt.Len()
		}
		rd.Close()
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
}
