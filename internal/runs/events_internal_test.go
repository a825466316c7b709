package runs

import (
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/store"
)

// TestLatestForgetsSilentRuns: a run whose progress stopped without a status event (lost in a bus
// outage) stops showing live counters after StaleProgress, and its entry goes at a later sweep.
func TestLatestForgetsSilentRuns(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	b := NewBroker()
	b.now = func() time.Time { return now }
	progress := func(run string) Event {
		return Event{Type: EventProgress, RunID: run, Status: store.RunRunning, Progress: &engine.Progress{RowsRead: 1}}
	}
	b.Publish(progress("silent"))
	now = now.Add(StaleProgress - time.Second)
	b.Publish(progress("busy"))
	if _, ok := b.Latest("silent"); !ok {
		t.Fatal("progress forgotten before StaleProgress")
	}
	now = now.Add(2 * time.Second)
	if _, ok := b.Latest("silent"); ok {
		t.Fatal("progress of a run silent for longer than StaleProgress still shown")
	}
	if _, ok := b.Latest("busy"); !ok {
		t.Fatal("a recent run's progress forgotten")
	}
	now = now.Add(StaleProgress / 10) // sweeps are at most this often
	b.Publish(progress("busy"))
	b.mu.Lock()
	_, kept := b.latest["silent"]
	b.mu.Unlock()
	if kept {
		t.Fatal("the stale entry was not swept")
	}
}
