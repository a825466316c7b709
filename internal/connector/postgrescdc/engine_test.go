package postgrescdc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/postgrescdc"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// failingSink accepts writes and refuses every commit once it holds rows.
type failingSink struct {
	mu     sync.Mutex
	writes int
}

type sinkConfig struct{}

var sinkSpec = configspec.Describe(func(*sinkConfig, *configspec.Builder) {})

func (s *failingSink) Spec() connector.Spec {
	return connector.Spec{Name: "failing", Destination: true, Config: sinkSpec, WriteModes: []connector.WriteMode{connector.Append}}
}
func (s *failingSink) OpenWriter(context.Context, connector.Env, map[string]any, connector.WriteRequest) (connector.Writer, error) {
	return s, nil
}
func (s *failingSink) Write(_ context.Context, b *record.Batch) error {
	s.mu.Lock()
	s.writes += len(b.Rows)
	s.mu.Unlock()
	return nil
}
func (s *failingSink) Commit(context.Context) error {
	if s.written() > 0 {
		return errors.New("disk full")
	}
	return nil
}
func (s *failingSink) Close(ctx context.Context) error { return s.Commit(ctx) }
func (s *failingSink) Abort(context.Context) error     { return nil }
func (s *failingSink) written() int                    { s.mu.Lock(); defer s.mu.Unlock(); return s.writes }

// TestNoSlotAdvanceWithoutDestinationCommit: changes written by a destination that cannot commit
// never move the slot's confirmed_flush_lsn; the run fails, and a new run reads them again.
func TestNoSlotAdvanceWithoutDestinationCommit(t *testing.T) {
	f := setup(t)
	f.config["snapshot"] = "never"
	r := f.open(t, nil) // creates the slot
	r.Close()
	before := f.confirmed(t)
	f.exec(t, "INSERT INTO items SELECT g, 'n' FROM generate_series(1, 300) g")
	sink := &failingSink{}
	cr, err := connector.NewRegistry(postgrescdc.New(), sink)
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := transform.NewRegistry(transform.Builtins()...)
	s, err := pipeline.Parse(fmt.Appendf(nil, `version: 1
name: failing
sources: [{id: src, type: postgres_cdc, config: {url: %q, slot: %s, tables: [%s.items], snapshot: never, max_wait_ms: 20, status_interval: 1}}]
destinations: [{id: out, type: failing, inputs: [src]}]
`, f.config["url"], f.slot, f.pg.Schema))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Validate(context.Background(), s, pipeline.Env{Connectors: cr, Transforms: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = engine.Run(ctx, p, engine.Options{CommitRows: 100, CommitInterval: 50 * time.Millisecond})
	if err == nil {
		t.Fatal("a run whose destination cannot commit succeeded")
	}
	if sink.written() == 0 {
		t.Fatalf("the destination was never written to (run: %v)", err)
	}
	if c := f.confirmed(t); c != before {
		t.Fatalf("the slot moved from %s to %s although no destination committed", before, c)
	}
	r2 := f.open(t, nil)
	defer r2.Close()
	var got []change
	read(t, r2, &got, func() bool { return len(got) >= 300 })
	if got[0].id != 1 || got[299].id != 300 {
		t.Fatalf("the next run read ids %d..%d, want 1..300 again", got[0].id, got[299].id)
	}
}
