package bus_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/dataaggregator/aggregator/internal/bus"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

var bg = context.Background()

// impl is one bus implementation under the conformance test: open returns a new instance on
// the same backend (another process, as far as the bus can tell; the in-process broker returns
// itself), kill drops every connection the instances hold (nil: it has none), limit is the
// largest event it carries whole (0: no limit).
type impl struct {
	name  string
	open  func(t *testing.T) runs.Bus
	kill  func(t *testing.T)
	limit int
	logs  *testutil.SyncBuffer // what the instances logged
}

// implementations are the buses under test, each set up on a backend of its own for t.
var implementations = []struct {
	name  string
	setup func(t *testing.T) impl
}{
	{"memory", func(*testing.T) impl {
		b := runs.NewBroker()
		return impl{name: "memory", open: func(*testing.T) runs.Bus { return b }}
	}},
	{"postgres", postgresImpl},
	{"redis", redisImpl},
}

// postgresImpl: a schema of its own, migrated; the buses connect with an application_name of
// their own, which kill terminates.
func postgresImpl(t *testing.T) impl {
	pg := testutil.Postgres(t)
	st, err := store.Open(bg, store.Options{Dialect: store.Postgres, DSN: pg.URL, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(bg); err != nil {
		t.Fatal(err)
	}
	app := testutil.Name("bus")
	dsn := pg.URL + "&application_name=" + app
	logs := &testutil.SyncBuffer{}
	return impl{name: "postgres", limit: 7979, logs: logs,
		open: func(t *testing.T) runs.Bus {
			b, err := bus.NewPostgres(bg, bus.PostgresOptions{DSN: dsn, Logger: slog.New(slog.NewTextHandler(logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)
			return b
		},
		kill: func(t *testing.T) {
			c, err := pgx.Connect(bg, testutil.PostgresURL())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(bg)
			var n int
			if err := c.QueryRow(bg, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatal("no bus connection to terminate")
			}
		}}
}

// redisImpl: a key prefix of its own; the buses' connections are named after it, and kill kills
// the connections of that name.
func redisImpl(t *testing.T) impl {
	r := testutil.RedisURL(t)
	url, prefix, name := r.URL, r.Prefix, strings.TrimSuffix(r.Prefix, ":")
	logs := &testutil.SyncBuffer{}
	return impl{name: "redis", logs: logs,
		open: func(t *testing.T) runs.Bus {
			opt, err := redis.ParseURL(url)
			if err != nil {
				t.Fatal(err)
			}
			opt.ClientName = name
			c := redis.NewClient(opt)
			b, err := bus.NewRedis(bg, bus.RedisOptions{Client: c, Prefix: prefix, Logger: slog.New(slog.NewTextHandler(logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close(); c.Close() })
			return b
		},
		kill: func(t *testing.T) {
			opt, _ := redis.ParseURL(url)
			c := redis.NewClient(opt)
			defer c.Close()
			list, err := c.ClientList(bg).Result()
			if err != nil {
				t.Fatal(err)
			}
			killed := 0
			for _, line := range strings.Split(list, "\n") {
				var id string
				mine := false
				for _, f := range strings.Fields(line) {
					k, v, _ := strings.Cut(f, "=")
					if k == "id" {
						id = v
					}
					if k == "name" && v == name {
						mine = true
					}
				}
				if mine {
					if err := c.Do(bg, "CLIENT", "KILL", "ID", id).Err(); err != nil {
						t.Fatal(err)
					}
					killed++
				}
			}
			if killed == 0 {
				t.Fatal("no bus connection to kill")
			}
		}}
}

// TestConformance: every bus numbers each run's events across processes, delivers them in order
// to every subscriber of every process, filters, never blocks on a slow subscriber, keeps the
// latest progress of running runs on every process, carries large events (whole, or cut under
// its limit with a marker), and comes back after its connections are killed.
func TestConformance(t *testing.T) {
	for _, x := range implementations {
		t.Run(x.name, func(t *testing.T) {
			im := x.setup(t)
			t.Run("numbering and order across processes", func(t *testing.T) { testOrder(t, im) })
			t.Run("filter and fan-out", func(t *testing.T) { testFanOut(t, im) })
			t.Run("slow subscriber", func(t *testing.T) { testSlow(t, im) })
			t.Run("latest progress", func(t *testing.T) { testLatest(t, im) })
			t.Run("large event", func(t *testing.T) { testLarge(t, im) })
			t.Run("reconnect", func(t *testing.T) { testReconnect(t, im) })
		})
	}
}

func runID(t *testing.T) string { return testutil.Name("run") }

// next returns the next event of ch, failing the test after 10 s.
func next(t *testing.T, ch <-chan runs.Event) runs.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return runs.Event{}
}

func logEvent(run string, i int) runs.Event {
	return runs.Event{Type: runs.EventLog, RunID: run, Status: store.RunRunning,
		Log: &runs.LogLine{Level: "info", Message: fmt.Sprintf("line %d", i)}, Time: time.Now()}
}

func status(run string, s store.RunStatus) runs.Event {
	return runs.Event{Type: runs.EventStatus, RunID: run, Status: s, Time: time.Now()}
}

// expect reads want events of run from ch (skipping other runs) and checks their numbers
// continue from first, in order, and their messages when they are log lines.
func expect(t *testing.T, ch <-chan runs.Event, run string, first int64, want int) []runs.Event {
	t.Helper()
	var got []runs.Event
	for len(got) < want {
		e := next(t, ch)
		if e.RunID != run {
			continue
		}
		if e.Seq != first+int64(len(got)) {
			t.Fatalf("event %d of run: seq %d, want %d (%+v)", len(got), e.Seq, first+int64(len(got)), e)
		}
		got = append(got, e)
	}
	return got
}

func testOrder(t *testing.T, im impl) {
	a, b := im.open(t), im.open(t)
	sub, stop := b.Subscribe(nil, 4096)
	defer stop()
	run, other := runID(t), runID(t)
	// The creation event comes numbered; a then b number the rest from one counter.
	a.Publish(runs.Event{Type: runs.EventStatus, RunID: run, Seq: runs.SeqQueued, Status: store.RunQueued})
	expect(t, sub, run, 1, 1)
	for i := range 200 {
		a.Publish(logEvent(run, i))
		a.Publish(logEvent(other, i)) // interleaved with another run's: numbered apart
	}
	got := expect(t, sub, run, 2, 200)
	for i, e := range got {
		if e.Log == nil || e.Log.Message != fmt.Sprintf("line %d", i) {
			t.Fatalf("event seq %d carries %+v, want line %d", e.Seq, e.Log, i)
		}
	}
	for i := range 100 {
		b.Publish(logEvent(run, 200+i))
	}
	expect(t, sub, run, 202, 100)
	a.Publish(status(run, store.RunSucceeded))
	if e := expect(t, sub, run, 302, 1)[0]; e.Status != store.RunSucceeded {
		t.Fatalf("last event %+v", e)
	}
	// The run's numbering ends with it: a straggler starts again after the creation number.
	b.Publish(logEvent(run, 0))
	expect(t, sub, run, 2, 1)
}

func testFanOut(t *testing.T, im impl) {
	a, b := im.open(t), im.open(t)
	one, two := runID(t), runID(t)
	allA, stopA := a.Subscribe(nil, 1024)
	defer stopA()
	allB, stopB := b.Subscribe(nil, 1024)
	defer stopB()
	onlyTwo, stopTwo := b.Subscribe(runs.ForRun(two), 1024)
	for i := range 50 {
		a.Publish(logEvent(one, i))
		b.Publish(logEvent(two, i))
	}
	for _, ch := range []<-chan runs.Event{allA, allB} {
		seen := map[string]int64{}
		for range 100 {
			e := next(t, ch)
			if want := max(seen[e.RunID], runs.SeqQueued) + 1; e.Seq != want {
				t.Fatalf("run %s: seq %d after %d", e.RunID, e.Seq, seen[e.RunID])
			}
			seen[e.RunID] = e.Seq
		}
		if seen[one] != 51 || seen[two] != 51 {
			t.Fatalf("last numbers %v, want 51 for both runs", seen)
		}
	}
	expect(t, onlyTwo, two, 2, 50)
	// A marker event after: nothing of the other run came through the filter.
	b.Publish(status(two, store.RunSucceeded))
	if e := next(t, onlyTwo); e.RunID != two || e.Status != store.RunSucceeded {
		t.Fatalf("filtered subscriber got %+v", e)
	}
	stopTwo()
	stopTwo() // idempotent
	if _, ok := <-onlyTwo; ok {
		t.Fatal("the channel stays open after the subscription ended")
	}
}

func testSlow(t *testing.T, im impl) {
	a, b := im.open(t), im.open(t)
	run := runID(t)
	slow, stopSlow := b.Subscribe(nil, 16) // never read
	defer stopSlow()
	fast, stopFast := b.Subscribe(runs.ForRun(run), 4096)
	defer stopFast()
	const n = 2000
	start := time.Now()
	for i := range n {
		a.Publish(logEvent(run, i))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("publishing %d events took %v", n, d)
	}
	expect(t, fast, run, 2, n)
	if len(slow) != 16 {
		t.Fatalf("the slow subscriber holds %d events, want its 16", len(slow))
	}
}

func testLatest(t *testing.T, im impl) {
	a, b := im.open(t), im.open(t)
	run := runID(t)
	subA, stopA := a.Subscribe(runs.ForRun(run), 64)
	defer stopA()
	sub, stop := b.Subscribe(runs.ForRun(run), 64)
	defer stop()
	a.Publish(status(run, store.RunRunning))
	a.Publish(runs.Event{Type: runs.EventProgress, RunID: run, Status: store.RunRunning,
		Progress: &engine.Progress{RowsRead: 42}, RowsPerSecond: 7})
	expect(t, sub, run, 2, 2) // both processes have it (the publisher's own bus too)
	expect(t, subA, run, 2, 2)
	for _, x := range []runs.Bus{a, b} {
		if e, ok := x.Latest(run); !ok || e.Progress == nil || e.Progress.RowsRead != 42 || e.Seq != 3 {
			t.Fatalf("latest = %+v %v, want the progress event seq 3", e, ok)
		}
	}
	a.Publish(status(run, store.RunFailed))
	expect(t, sub, run, 4, 1)
	if e, ok := b.Latest(run); ok {
		t.Fatalf("latest after the run ended = %+v", e)
	}
}

func testLarge(t *testing.T, im impl) {
	a, b := im.open(t), im.open(t)
	run := runID(t)
	sub, stop := b.Subscribe(runs.ForRun(run), 64)
	defer stop()
	msg := strings.Repeat("é\"x", 10000) // 40,000 bytes; escapes take more in JSON
	e := logEvent(run, 0)
	e.Log.Message = msg
	e.Log.Details = []byte(`{"row":"` + strings.Repeat("y", 5000) + `"}`)
	a.Publish(e)
	nodes := make([]engine.NodeStats, 400)
	for i := range nodes {
		nodes[i] = engine.NodeStats{ID: fmt.Sprintf("node-%d", i), Kind: "transform", Type: "map", In: 1000, Out: 1000}
	}
	a.Publish(runs.Event{Type: runs.EventProgress, RunID: run, Status: store.RunRunning,
		Progress: &engine.Progress{RowsRead: 99, Nodes: nodes}})
	parts := make([]runs.PartitionPosition, 48)
	for i := range parts {
		parts[i] = runs.PartitionPosition{Source: "k", Partition: fmt.Sprintf("%s/%d", strings.Repeat("t", 300), i), Committed: "offset 1", LagUnit: "records"}
	}
	a.Publish(runs.Event{Type: runs.EventInstance, RunID: run, Status: store.RunRunning,
		Instance: &runs.InstanceEvent{Idx: 2, RowsRead: 7, Partitions: parts, PartitionsOmitted: 3}})
	failed := status(run, store.RunFailed)
	failed.Error = strings.Repeat("why ", 5000)
	a.Publish(failed)
	got := expect(t, sub, run, 2, 4)
	l, p, in, errText := got[0].Log, got[1].Progress, got[2].Instance, got[3].Error
	if im.limit == 0 {
		if l.Message != msg || len(p.Nodes) != 400 || errText != failed.Error || len(in.Partitions) != 48 {
			t.Fatalf("a bus without a limit changed a large event: message %d bytes, %d nodes, error %d bytes, %d partitions", len(l.Message), len(p.Nodes), len(errText), len(in.Partitions))
		}
		return
	}
	if in.Idx != 2 || in.RowsRead != 7 || len(in.Partitions) == 0 || len(in.Partitions) >= 48 || len(in.Partitions)+in.PartitionsOmitted != 48+3 ||
		in.Partitions[0].Partition != parts[0].Partition {
		t.Fatalf("large instance report arrived with %d partitions, %d omitted; want the first ones, the rest counted as omitted", len(in.Partitions), in.PartitionsOmitted)
	}
	if !strings.HasPrefix(errText, "why why") || !strings.HasSuffix(errText, "cut by the event bus: 20000 bytes in all; the store keeps all of it]") || len(errText) > im.limit {
		t.Fatalf("large status error arrived as %d bytes %.60q", len(errText), errText)
	}
	if !strings.HasPrefix(l.Message, "é\"x") || !strings.Contains(l.Message, "cut by the event bus: 40000 bytes in all") || l.Details != nil {
		t.Fatalf("large log line arrived as %d bytes %.60q... details %d bytes", len(l.Message), l.Message, len(l.Details))
	}
	if len(l.Message) < im.limit/3 {
		t.Fatalf("large log line cut to %d bytes: more than needed", len(l.Message))
	}
	if p.RowsRead != 99 || p.Nodes != nil {
		t.Fatalf("large progress arrived as %+v", p)
	}
}

func testReconnect(t *testing.T, im impl) {
	if im.kill == nil {
		t.Skip("in process: no connection to lose")
	}
	a, b := im.open(t), im.open(t)
	run := runID(t)
	sub, stop := b.Subscribe(runs.ForRun(run), 4096)
	defer stop()
	a.Publish(logEvent(run, 0))
	expect(t, sub, run, 2, 1)
	im.kill(t)
	// Publish a probe every 50 ms until one arrives through the new connections (events sent
	// while they were down are lost: that is the contract).
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last int64
	for last == 0 {
		a.Publish(logEvent(run, 1))
		select {
		case e := <-sub:
			last = e.Seq
		case <-tick.C:
			if time.Now().After(deadline) {
				t.Fatal("no event came through within 30 s of the connections being killed")
			}
		}
	}
	// Drain probes still on their way, then order holds again.
	for drained := false; !drained; {
		select {
		case e := <-sub:
			last = e.Seq
		case <-time.After(500 * time.Millisecond):
			drained = true
		}
	}
	for i := range 20 {
		a.Publish(logEvent(run, 100+i))
	}
	expect(t, sub, run, last+1, 20)
	// The loss and the return were logged, with what it means for the events.
	logs := im.logs.String()
	for _, want := range []string{"connection lost; reconnecting", "again; events published while disconnected were lost"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
}
