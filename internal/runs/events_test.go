package runs_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/runs"
)

func TestBrokerFansOutFiltersAndNeverBlocks(t *testing.T) {
	b := runs.NewBroker()
	all, stopAll := b.Subscribe(nil, 16)
	one, stopOne := b.Subscribe(runs.ForRun("r1"), 16)
	b.Publish(runs.Event{Type: runs.EventStatus, RunID: "r1"})
	b.Publish(runs.Event{Type: runs.EventStatus, RunID: "r2"})
	if ev := <-one; ev.RunID != "r1" {
		t.Fatalf("filtered subscriber got %+v", ev)
	}
	if (<-all).RunID != "r1" || (<-all).RunID != "r2" {
		t.Fatal("unfiltered subscriber missed an event")
	}
	select {
	case ev := <-one:
		t.Fatalf("filtered subscriber got another run's event %+v", ev)
	default:
	}
	// A full subscriber loses events instead of blocking the publisher.
	for range 20 {
		b.Publish(runs.Event{RunID: "r1"})
	}
	if b.Dropped() != 8 { // 16 buffered in each of two subscribers, 20 sent to each
		t.Fatalf("dropped %d, want 8", b.Dropped())
	}
	stopOne()
	stopOne() // idempotent
	n := 0
	for range one { // the channel is closed after what was buffered
		n++
	}
	if n != 16 {
		t.Fatalf("buffered %d events before the close, want 16", n)
	}
	stopAll()
	b.Publish(runs.Event{RunID: "r1"}) // no subscribers: nothing happens
}
