package amqp_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/amqp"
	"github.com/dataaggregator/aggregator/internal/connector/connectortest"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/transform"
)

func plan(t *testing.T, b *broker, dst *connectortest.Sink) *pipeline.Plan {
	t.Helper()
	cr, err := connector.NewRegistry(amqp.New(), dst)
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
  - id: q
    type: amqp
    config: {url: "amqp://%s/", queue: %s, prefetch: 50, fields: [{name: n, type: int}]}
destinations:
  - id: out
    type: sink
    inputs: [q]
error_policy: {on_reject: dead_letter}
`, b.addr, b.queue)
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return engine.Run(ctx, p, opts)
}

func (b *broker) publishN(t *testing.T, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		b.publish(t, fmt.Sprintf(`{"n":%d}`, i))
	}
}

// TestStreamRunAcksAfterCommit: a run stopped after its destination committed acknowledges what it
// read (a second run sees only new messages); a run whose destination cannot commit acknowledges
// nothing, and the next run gets every message again. The commit trigger (40 rows) is under the
// prefetch (50), so the run flows past the prefetch window.
func TestStreamRunAcksAfterCommit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.publishN(t, 1, 300)
	bad := &connectortest.Sink{FailCommit: true}
	if _, err := runUntil(t, plan(t, b, bad), engine.Options{CommitRows: 40}, func(pr engine.Progress) bool { return pr.RowsRead >= 40 }); err == nil {
		t.Fatal("a run whose destination cannot commit succeeded")
	}
	dst := &connectortest.Sink{}
	res, err := runUntil(t, plan(t, b, dst), engine.Options{CommitRows: 40, CommitInterval: 50 * time.Millisecond}, func(engine.Progress) bool { return len(dst.Rows()) >= 300 })
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != engine.Succeeded || !res.Stopped {
		t.Fatalf("status %s stopped %v", res.Status, res.Stopped)
	}
	seen := map[int64]bool{}
	for _, n := range dst.Rows() {
		seen[n] = true
	}
	for i := int64(1); i <= 300; i++ {
		if !seen[i] {
			t.Fatalf("message %d missing after the failed run (it must be redelivered)", i)
		}
	}
	if n := b.count(t); n != 0 {
		t.Errorf("%d messages left after a stopped run, want 0 (acknowledged at the final checkpoint)", n)
	}
	b.publishN(t, 301, 310)
	dst2 := &connectortest.Sink{}
	if _, err := runUntil(t, plan(t, b, dst2), engine.Options{CommitInterval: 50 * time.Millisecond}, func(engine.Progress) bool { return len(dst2.Rows()) >= 10 }); err != nil {
		t.Fatal(err)
	}
	if got := dst2.Rows(); len(got) != 10 || got[0] != 301 {
		t.Errorf("second run read %v, want 301..310", got)
	}
}
