package runs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/natsjs"
	"github.com/dataaggregator/aggregator/internal/connector/natsjs/natstest"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// TestInstanceEvents: a streaming run publishes run.instance events with its worker, its
// throughput and, per partition, the committed position and the lag, which reach zero once every
// message is committed.
func TestInstanceEvents(t *testing.T) {
	t.Parallel()
	stream, subj, js := natstest.Stream(t)
	for i := 1; i <= 40; i++ {
		natstest.Publish(t, js, subj+".a", fmt.Appendf(nil, `{"n":%d}`, i))
	}
	e := setup(t, backend{dialect: store.SQLite, dsn: t.TempDir() + "/agg.db"}, setupOptions{
		conns: []connector.Connector{natsjs.New()}, positionInterval: 20 * time.Millisecond, commitRows: 10})
	p := e.createPipeline("stream", fmt.Sprintf(`version: 1
name: stream
sources:
  - id: n
    type: nats_jetstream
    config: {url: %q, stream: %s, subjects: ["%s.>"], durable: d, fields: [{name: n, type: int}], metadata: false}
destinations:
  - id: out
    type: csv
    inputs: [n]
    config: {path: out.csv}
`, natstest.URL(), stream, subj))
	events, stop := e.svc.Broker().Subscribe(forPipeline(p.ID), 1024)
	defer stop()
	bg := context.Background()
	run, err := e.svc.Start(bg, p.ID, 0, "manual", runs.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	// The positions are read every 20 ms and the row counters come with the engine's progress, on
	// its own interval: a report may show the commit before the counters catch up. Await one with both.
	ev := await(t, events, "an instance report with every message committed and counted", func(ev runs.Event) bool {
		in := ev.Instance
		return ev.Type == runs.EventInstance && in != nil && len(in.Partitions) == 1 &&
			in.Partitions[0].Committed == "stream sequence 40" && in.Partitions[0].Lag == 0 && in.RowsRead == 40
	})
	in := ev.Instance
	want := runs.PartitionPosition{Source: "n", Partition: stream + "/d", Committed: "stream sequence 40", LagUnit: "records"}
	got := in.Partitions[0]
	got.RowsPerSecond = 0
	if got != want || in.WorkerID == "" || in.Idx != 0 || in.Attempt != 1 || in.RowsRead != 40 || ev.RunID != run.ID {
		t.Fatalf("instance event %+v (partition %+v), want worker, instance 0, attempt 1, 40 rows read, partition %+v", in, in.Partitions[0], want)
	}
	if _, err := e.svc.Cancel(bg, run.ID); err != nil {
		t.Fatal(err)
	}
	await(t, events, "the end of the run", terminal)
}
