package kafka_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/ndjson"
	"github.com/dataaggregator/aggregator/internal/connector/kafka"
	"github.com/dataaggregator/aggregator/internal/connector/kafka/kafkatest"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/testutil"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// TestMemoryFlatAsTheStreamGrows: the live heap of a Kafka -> NDJSON run (engine, source and
// destination) over a topic of 4N records stays within a bound of the run over N records: nothing
// is kept per record, and what the consumer buffers is bounded by fetch_max_bytes (the records are
// snappy-compressed, as producers usually send them, so the bound has to hold once they are
// decompressed). Not parallel: the heap it measures must be its own.
func TestMemoryFlatAsTheStreamGrows(t *testing.T) {
	const n = 100_000
	addrs := kafkatest.Cluster(t, "small", 4, kfake.SeedTopics(4, "large"))
	p := kafkatest.Client(t, addrs, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	for _, topic := range []struct {
		name string
		n    int
	}{{"small", n}, {"large", 4 * n}} {
		for lo := 1; lo <= topic.n; lo += 25_000 {
			recs := make([]*kgo.Record, 0, 25_000)
			for i := lo; i < lo+25_000 && i <= topic.n; i++ {
				recs = append(recs, &kgo.Record{Topic: topic.name, Key: strconv.AppendInt(nil, int64(i), 10),
					Value: fmt.Appendf(nil, `{"seq":%d,"name":"customer %d","amount":%d.25}`, i, i, i%1000)})
			}
			kafkatest.Produce(t, p, recs...)
		}
	}
	p.Close()

	run := func(topic string, want int) uint64 {
		t.Helper()
		dir := t.TempDir()
		out := filepath.Join(dir, topic+".ndjson")
		plan := memoryPlan(t, addrs[0], topic, out)
		runtime.GC()
		base := testutil.LiveHeap()
		var res *engine.Result
		var err error
		peak := testutil.PeakLiveHeap(base, func() {
			res, err = runUntil(t, plan, engine.Options{Env: connector.Env{FileRoots: []string{dir}}}, func(pr engine.Progress) bool { return pr.RowsWritten >= int64(want) })
		})
		if err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		if res.RowsWritten != int64(want) {
			t.Fatalf("%s: %d rows written, want %d", topic, res.RowsWritten, want)
		}
		if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
			t.Fatalf("%s: no output (%v)", topic, err)
		}
		return peak
	}
	small := run("small", n)
	large := run("large", 4*n)
	const mib = 1 << 20
	t.Logf("peak live heap above the start: %d records %.1f MiB, %d records %.1f MiB", n, float64(small)/mib, 4*n, float64(large)/mib)
	// One fetch of 1 MiB of compressed records unpacks to about 12 MiB here and the engine's queues
	// hold a few batches more: both runs peak at 10-25 MiB, the 4N one a little higher than the N one
	// (when collections happen differs). With the 16 MiB fetches of before, 26 and 112 MiB.
	if large > 40*mib {
		t.Errorf("the run over %d records peaked at %.1f MiB of live heap above its start, more than 40 MiB", 4*n, float64(large)/mib)
	}
	if large > small+20*mib {
		t.Errorf("the live heap grows with the stream: %.1f MiB over %d records, %.1f MiB over %d", float64(small)/mib, n, float64(large)/mib, 4*n)
	}
}

func memoryPlan(t *testing.T, addr, topic, out string) *pipeline.Plan {
	t.Helper()
	cr, err := connector.NewRegistry(kafka.New(), ndjson.New())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`version: 1
name: memory
sources:
  - id: k
    type: kafka
    config: {brokers: [%q], topics: [%s], group: mem-%s, fields: [{name: seq, type: int}, {name: name}, {name: amount, type: decimal}], metadata: false, max_wait_ms: 50}
destinations:
  - id: out
    type: ndjson
    inputs: [k]
    config: {path: %q}
`, addr, topic, topic, out)
	s, err := pipeline.Parse([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Validate(context.Background(), s, pipeline.Env{Connectors: cr, Transforms: tr})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
