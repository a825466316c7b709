package runs_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
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

// TestRunEventsAreNumberedAndCarryLogLines: every event of a run (status, progress, log line) has
// the next sequence number of that run, and every line of the stored run log was also published
// as an EventLog, in the same order.
func TestRunEventsAreNumberedAndCarryLogLines(t *testing.T) {
	e := setup(t, backend{dialect: store.SQLite, dsn: filepath.Join(t.TempDir(), "aggregator.db")}, setupOptions{})
	writeCSV(t, e.dir, "in.csv", 250)
	p := e.createPipeline("orders", cleanSpec)
	events, stop := e.svc.Broker().Subscribe(forPipeline(p.ID), 4096)
	defer stop()
	run, err := e.svc.Start(bg, p.ID, 0, "manual", runs.Actor{ID: "u1", Name: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	var got []runs.Event
	for {
		ev := await(t, events, "any", func(runs.Event) bool { return true })
		got = append(got, ev)
		if terminal(ev) {
			break
		}
	}
	if b := e.svc.Broker().Dropped(); b != 0 {
		t.Fatalf("the broker dropped %d events: the sequence check proves nothing", b)
	}
	types := map[string]int{}
	var lines []string
	for i, ev := range got {
		if ev.RunID != run.ID || ev.Seq != int64(i+1) {
			t.Fatalf("event %d = run %s seq %d, want run %s seq %d", i, ev.RunID, ev.Seq, run.ID, i+1)
		}
		types[ev.Type]++
		if ev.Type == runs.EventLog {
			if ev.Log == nil || ev.Log.Level == "" || ev.Log.Message == "" || ev.Log.Time.IsZero() {
				t.Fatalf("log event without its line: %+v", ev)
			}
			lines = append(lines, ev.Log.Level+" "+ev.Log.Message)
		}
	}
	if types[runs.EventStatus] < 3 || types[runs.EventProgress] < 1 || types[runs.EventLog] < 2 {
		t.Fatalf("event types = %v, want queued/running/succeeded, progress and log lines", types)
	}
	logs, _, err := e.st.ListLogs(bg, store.LogFilter{RunID: run.ID, Oldest: true})
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, l := range logs {
		stored = append(stored, l.Level+" "+l.Message)
	}
	if !slices.Equal(lines, stored) {
		t.Fatalf("published log lines\n%q\nstored\n%q", lines, stored)
	}
}

// slowPublishQueue wakes the dispatcher when the run commits, then holds the committing caller
// until the run's "running" event was published or a moment passed: the widest window a worker
// has to claim a run before its queued event goes out.
type slowPublishQueue struct {
	*runs.River
	events <-chan runs.Event
}

func (q slowPublishQueue) Enqueue(ctx context.Context, tx *store.Tx, r store.Run) error {
	if err := q.River.Enqueue(ctx, tx, r); err != nil {
		return err
	}
	tx.AfterCommit(func() {
		deadline := time.After(300 * time.Millisecond)
		for {
			select {
			case ev := <-q.events:
				if ev.RunID == r.ID && ev.Type == runs.EventStatus && ev.Status == store.RunRunning {
					return
				}
			case <-deadline: // the worker waits for the queued event: nothing came
				return
			}
		}
	})
	return nil
}

// TestQueuedEventComesFirst: a worker that claims a run the moment its transaction commits still
// publishes its events after the run's "queued" event, which is seq 1.
func TestQueuedEventComesFirst(t *testing.T) {
	e := setup(t, backend{dialect: store.SQLite, dsn: filepath.Join(t.TempDir(), "aggregator.db")}, setupOptions{})
	writeCSV(t, e.dir, "in.csv", 5)
	p := e.createPipeline("orders", cleanSpec)
	window, stopWindow := e.svc.Broker().Subscribe(forPipeline(p.ID), 4096)
	defer stopWindow()
	e.svc.SetQueue(slowPublishQueue{River: e.disp, events: window})
	events, stop := e.svc.Broker().Subscribe(forPipeline(p.ID), 4096)
	defer stop()
	run, err := e.svc.Start(bg, p.ID, 0, "manual", runs.Actor{ID: "u1", Name: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	ev := await(t, events, "first", func(runs.Event) bool { return true })
	if ev.RunID != run.ID || ev.Type != runs.EventStatus || ev.Status != store.RunQueued || ev.Seq != 1 {
		t.Fatalf("first event %s %s seq %d, want status queued seq 1", ev.Type, ev.Status, ev.Seq)
	}
	await(t, events, "end", terminal)
}
