package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/live"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

func TestCheckChannel(t *testing.T) {
	for _, tc := range []struct{ channel, err string }{
		{"runs", ""},
		{"dashboard", ""},
		{"run:01JABC-def_9", ""},
		{"", "channel is missing"},
		{"run:", "the run id must be"},
		{"run:a/b", "the run id must be"},
		{"run:" + strings.Repeat("x", 65), "the run id must be"},
		{"Runs", `unknown channel "Runs"`},
		{"logs", `unknown channel "logs"`},
	} {
		err := live.CheckChannel(tc.channel)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("CheckChannel(%q) = %v, want %q", tc.channel, err, tc.err)
		}
	}
}

// setup runs a hub over a fresh broker until the test ends.
func setup(t *testing.T, o live.Options) (*live.Hub, *runs.Broker, context.CancelFunc) {
	t.Helper()
	b := runs.NewBroker()
	h, err := live.New(b, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return h, b, cancel
}

func frame(t *testing.T, c *live.Client) live.Frame {
	t.Helper()
	var f live.Frame
	if err := json.Unmarshal(<-c.Frames(), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestHubRoutesEventsToChannels: a run's channel gets its log lines, "runs" does not; the
// dashboard gets status changes only (without counts when Options.Counts is nil).
func TestHubRoutesEventsToChannels(t *testing.T) {
	h, b, _ := setup(t, live.Options{})
	one, err := h.Connect("u1")
	if err != nil {
		t.Fatal(err)
	}
	all, _ := h.Connect("u1")
	dash, _ := h.Connect("u2")
	for c, ch := range map[*live.Client]string{one: live.RunChannel("r1"), all: live.ChannelRuns, dash: live.ChannelDashboard} {
		if err := c.Subscribe(ch); err != nil {
			t.Fatal(err)
		}
		if f := frame(t, c); f.Type != live.TypeSubscribed || f.Channel != ch {
			t.Fatalf("got %+v, want subscribed to %s", f, ch)
		}
	}
	b.Publish(runs.Event{Type: runs.EventLog, RunID: "r1", Seq: 1, Log: &runs.LogLine{Level: "info", Message: "hello"}})
	b.Publish(runs.Event{Type: runs.EventProgress, RunID: "r2", Seq: 1})
	b.Publish(runs.Event{Type: runs.EventStatus, RunID: "r1", Seq: 2, Status: store.RunSucceeded})

	if f := frame(t, one); f.Channel != "run:r1" || f.Seq != 1 || !strings.Contains(string(f.Data), `"hello"`) {
		t.Fatalf("run channel got %+v %s", f, f.Data)
	}
	if f := frame(t, one); f.Seq != 2 || !strings.Contains(string(f.Data), `"succeeded"`) {
		t.Fatalf("run channel got %+v %s", f, f.Data)
	}
	if f := frame(t, all); f.Channel != "runs" || !strings.Contains(string(f.Data), `"run_id":"r2"`) {
		t.Fatalf("runs channel got %+v %s (the log line must not be there)", f, f.Data)
	}
	if f := frame(t, all); !strings.Contains(string(f.Data), `"run_id":"r1"`) {
		t.Fatalf("runs channel got %+v %s", f, f.Data)
	}
	if f := frame(t, dash); f.Channel != "dashboard" || f.Seq != 2 || strings.Contains(string(f.Data), "counts") {
		t.Fatalf("dashboard got %+v %s", f, f.Data)
	}
	if err := one.Unsubscribe("runs"); err == nil {
		t.Fatal("unsubscribing from a channel not subscribed to succeeded")
	}
}

// TestHubCapSlowAndShutdown: the per-user cap, a full buffer ending the client, and the
// shutdown ending everyone and refusing newcomers.
func TestHubCapSlowAndShutdown(t *testing.T) {
	h, b, stop := setup(t, live.Options{MaxClientsPerUser: 2, SendBuffer: 2})
	a, _ := h.Connect("u1")
	if _, err := h.Connect("u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Connect("u1"); !errors.Is(err, live.ErrTooManyClients) || !strings.Contains(err.Error(), "the limit is 2") {
		t.Fatalf("third client of u1: %v", err)
	}
	a.Close()
	slow, err := h.Connect("u1")
	if err != nil {
		t.Fatalf("after one left: %v", err)
	}
	if err := slow.Subscribe(live.ChannelRuns); err != nil { // 1 of 2 buffered frames
		t.Fatal(err)
	}
	b.Publish(runs.Event{Type: runs.EventStatus, RunID: "r1", Seq: 1}) // 2 of 2
	b.Publish(runs.Event{Type: runs.EventStatus, RunID: "r1", Seq: 2}) // full: dropped
	<-slow.Done()
	if !errors.Is(slow.Err(), live.ErrSlowClient) || h.Stats().Dropped != 1 {
		t.Fatalf("slow client ended with %v, stats %+v", slow.Err(), h.Stats())
	}

	other, _ := h.Connect("u2")
	stop()
	<-other.Done()
	if !errors.Is(other.Err(), live.ErrShutdown) {
		t.Fatalf("client at shutdown ended with %v", other.Err())
	}
}
