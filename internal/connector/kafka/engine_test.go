package kafka_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/connectortest"
	"github.com/dataaggregator/aggregator/internal/connector/kafka"
	"github.com/dataaggregator/aggregator/internal/connector/kafka/kafkatest"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/runner"
	"github.com/dataaggregator/aggregator/internal/transform"
)

func plan(t *testing.T, addrs []string, group string, dst *connectortest.Sink) *pipeline.Plan {
	t.Helper()
	cr, err := connector.NewRegistry(kafka.New(), dst)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`version: 1
name: stream
sources:
  - id: k
    type: kafka
    config: {brokers: [%q], topics: [events], group: %s, fields: [{name: n, type: int}], max_wait_ms: 50}
destinations:
  - id: out
    type: sink
    inputs: [k]
error_policy: {on_reject: dead_letter}
`, addrs[0], group)
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

func produceN(t *testing.T, addrs []string, from, to int) {
	t.Helper()
	p := kafkatest.Client(t, addrs, kgo.DefaultProduceTopic("events"))
	var recs []*kgo.Record
	for i := from; i <= to; i++ {
		recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "%d", i), Value: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	kafkatest.Produce(t, p, recs...)
}

// runUntil runs the pipeline until cond holds on a progress snapshot, then closes Stop.
func runUntil(t *testing.T, p *pipeline.Plan, opts engine.Options, cond func(engine.Progress) bool) (*engine.Result, error) {
	t.Helper()
	stop := make(chan struct{})
	var once sync.Once
	opts.Stop = stop
	opts.ProgressInterval = 10 * time.Millisecond
	opts.Progress = func(pr engine.Progress) {
		if cond(pr) {
			once.Do(func() { close(stop) })
		}
	}
	// A bound on a hang, not a speed target: under the race detector on a loaded machine the
	// 400,000-record run of TestMemoryFlatAsTheStreamGrows took 40 s.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return engine.Run(ctx, p, opts)
}

// TestStopCommitsAndAcks: a stream run stopped by Options.Stop commits its destination, saves the
// final checkpoint and commits the group's offsets: a second run of the group reads only new records.
func TestStopCommitsAndAcks(t *testing.T) {
	t.Parallel()
	addrs := kafkatest.Cluster(t, "events", 3)
	produceN(t, addrs, 1, 500)
	state := filepath.Join(t.TempDir(), "state.json")
	dst := &connectortest.Sink{}
	res, err := runUntil(t, plan(t, addrs, "g1", dst), engine.Options{CommitRows: 100, Checkpointer: &runner.FileCheckpointer{Path: state}},
		func(pr engine.Progress) bool { return pr.RowsRead >= 500 })
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != engine.Succeeded || !res.Stopped || len(dst.Rows()) != 500 {
		t.Fatalf("status %s stopped %v, %d rows committed, want succeeded, stopped, 500", res.Status, res.Stopped, len(dst.Rows()))
	}
	if res.Checkpoints < 2 {
		t.Errorf("%d checkpoints, want some on the 100-row trigger", res.Checkpoints)
	}

	// a second run of the same group, with no checkpoint (the group's offsets alone), sees 501.. only
	produceN(t, addrs, 501, 510)
	dst2 := &connectortest.Sink{}
	if _, err := runUntil(t, plan(t, addrs, "g1", dst2), engine.Options{}, func(pr engine.Progress) bool { return pr.RowsWritten >= 10 }); err != nil {
		t.Fatal(err)
	}
	got := dst2.Rows()
	if len(got) != 10 || got[0] < 501 {
		t.Errorf("second run read %v, want 501..510", got)
	}
}

// TestNoAckWithoutDestinationCommit: when the destination cannot commit, the run fails and the
// group's offsets do not move: another run reads every record again.
func TestNoAckWithoutDestinationCommit(t *testing.T) {
	t.Parallel()
	addrs := kafkatest.Cluster(t, "events", 2)
	produceN(t, addrs, 1, 50)
	bad := &connectortest.Sink{FailCommit: true}
	_, err := runUntil(t, plan(t, addrs, "g2", bad), engine.Options{CommitRows: 10}, func(pr engine.Progress) bool { return pr.RowsRead >= 50 })
	if err == nil {
		t.Fatal("a run whose destination cannot commit succeeded")
	}
	good := &connectortest.Sink{}
	if _, err := runUntil(t, plan(t, addrs, "g2", good), engine.Options{}, func(pr engine.Progress) bool { return pr.RowsWritten >= 50 }); err != nil {
		t.Fatal(err)
	}
	if n := len(good.Rows()); n != 50 {
		t.Errorf("after a failed commit, the next run read %d records, want all 50 again", n)
	}
}

// TestCheckpointOnInterval: with a row trigger never reached, checkpoints (and acks) come on the
// interval trigger: a record committed by the destination has its offset committed to the group
// while the run goes on.
func TestCheckpointOnInterval(t *testing.T) {
	t.Parallel()
	addrs := kafkatest.Cluster(t, "events", 1)
	produceN(t, addrs, 1, 5)
	dst := &connectortest.Sink{}
	admin := kafkatest.Client(t, addrs)
	_, err := runUntil(t, plan(t, addrs, "g3", dst), engine.Options{CommitRows: 1 << 40, CommitInterval: 50 * time.Millisecond},
		func(pr engine.Progress) bool {
			return pr.RowsWritten >= 5 && committedOffset(t, admin, "g3", "events", 0) == 5
		})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBackpressure: a slow destination slows consumption; the rows read ahead of the destination
// stay under a bound however many records wait in the topic.
func TestBackpressure(t *testing.T) {
	t.Parallel()
	addrs := kafkatest.Cluster(t, "events", 1)
	const flood = 200_000
	p := kafkatest.Client(t, addrs, kgo.DefaultProduceTopic("events"), kgo.ProducerLinger(0))
	recs := make([]*kgo.Record, 0, flood)
	for i := 1; i <= flood; i++ {
		recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	kafkatest.Produce(t, p, recs...)
	const batch = 500
	dst := &connectortest.Sink{Delay: 5 * time.Millisecond}
	var maxAhead int64
	res, err := runUntil(t, plan(t, addrs, "g4", dst), engine.Options{BatchSize: batch, Workers: 1},
		func(pr engine.Progress) bool {
			if ahead := pr.RowsRead - dst.Writes.Load(); ahead > maxAhead {
				maxAhead = ahead
			}
			return dst.Writes.Load() >= 20*batch
		})
	if err != nil {
		t.Fatal(err)
	}
	// Between the source and the writer: the source channel (4 batches), the batch being handed on,
	// the destination's queue (4) and the batch being written, plus one being read.
	const bound = 12 * batch
	t.Logf("read %d, written %d, at most %d rows read ahead of the destination (bound %d)", res.RowsRead, dst.Writes.Load(), maxAhead, bound)
	if maxAhead > bound {
		t.Errorf("%d rows read ahead of a slow destination, more than %d", maxAhead, bound)
	}
	if res.RowsRead > flood/4 {
		t.Errorf("read %d of %d records while the destination wrote %d: consumption did not slow down", res.RowsRead, flood, dst.Writes.Load())
	}
}

// TestEnginePositions: a stream run reports its source's partitions every PositionInterval; once
// every record is committed, the committed offsets add up to the records and the lag is zero.
func TestEnginePositions(t *testing.T) {
	t.Parallel()
	addrs := kafkatest.Cluster(t, "events", 3)
	produceN(t, addrs, 1, 300)
	dst := &connectortest.Sink{}
	stop := make(chan struct{})
	var once sync.Once
	var last []engine.SourcePositions
	opts := engine.Options{CommitRows: 50, CommitInterval: 20 * time.Millisecond, Stop: stop, PositionInterval: 10 * time.Millisecond,
		Positions: func(sp []engine.SourcePositions) {
			var committed, lag int64
			for _, p := range sp[0].Partitions {
				committed += max(p.Offset, 0)
				lag += p.Lag
			}
			if sp[0].Node == "k" && len(sp[0].Partitions) == 3 && committed == 300 && lag == 0 {
				once.Do(func() { last = sp; close(stop) })
			}
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := engine.Run(ctx, plan(t, addrs, "gpos", dst), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stopped || last == nil {
		t.Fatalf("stopped %v, positions %+v: the positions never showed 300 records committed with no lag", res.Stopped, last)
	}
	for i, p := range last[0].Partitions {
		if want := fmt.Sprintf("events/%d", i); p.Partition != want || p.Committed == "" {
			t.Errorf("partition %d: %+v, want %s with a committed offset", i, p, want)
		}
	}
}
