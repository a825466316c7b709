package runs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector/natsjs/natstest"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// TestDeploymentAcrossWorkers: a JetStream -> PostgreSQL pipeline with parallelism 2 runs as two
// consumer instances of one durable consumer on two workers (two River clients on one PostgreSQL
// store, as two `aggregator worker` processes are). When one worker dies (its store connections
// are gone, so its heartbeats stop), the other takes its instance over after the lease and resumes
// it from its checkpoint; every message reaches the upsert table once. Pause stops both instances
// after they committed, resume starts them again, stop ends the run succeeded.
func TestDeploymentAcrossWorkers(t *testing.T) {
	meta := backend{dialect: store.Postgres, dsn: testutil.Postgres(t).URL}
	f := newFleet(t, openStore(t, meta), 0)
	f.commitInterval, f.positionInterval = 100*time.Millisecond, 100*time.Millisecond
	stream, subj, js := natstest.Stream(t)
	publish := func(from, to int) {
		for i := from; i <= to; i++ {
			natstest.Publish(t, js, subj+".a", fmt.Appendf(nil, `{"id":%d,"name":"n%d","amount":"%d.25"}`, i, i, i))
		}
	}
	publish(1, 200)
	spec := fmt.Sprintf(`version: 1
name: deployed
parallelism: 2
sources:
  - id: src
    type: nats_jetstream
    config: {url: %q, stream: %s, subjects: ["%s.>"], durable: d, metadata: false, ack_wait: 30,
             fields: [{name: id, type: int}, {name: name, type: string}, {name: amount, type: decimal}]}
destinations:
  - id: dst
    type: postgres
    inputs: [src]
    config: {url: %q, table: dst}
    write: {mode: upsert, key: [id]}
`, natstest.URL(), stream, subj, f.url)

	// worker a: its own store handle, closed below to kill it; one instance at a time
	stA := openStore(t, meta)
	startWorker(t, f, stA, "worker-a", 1)
	run, ch := f.start(spec)
	bg := context.Background()
	running := func(what string, ok func(idx int, worker string) bool) {
		t.Helper()
		await(t, ch, what, func(e runs.Event) bool {
			return e.RunID == run.ID && e.Type == runs.EventChunk && e.Chunk.Status == store.RunRunning && ok(e.Chunk.Idx, e.Chunk.WorkerID)
		})
	}
	var onA int
	running("an instance on worker a", func(idx int, w string) bool { onA = idx; return w == "worker-a" })
	f.worker("worker-b", 2)
	running("the other instance on worker b", func(idx int, w string) bool { return idx != onA && w == "worker-b" })
	committed := func(seq int) {
		t.Helper()
		want := fmt.Sprintf("stream sequence %d", seq)
		await(t, ch, want+" committed", func(e runs.Event) bool {
			return e.RunID == run.ID && e.Type == runs.EventInstance && len(e.Instance.Partitions) == 1 &&
				e.Instance.Partitions[0].Committed == want && e.Instance.Partitions[0].Lag == 0
		})
	}
	committed(200)
	d, err := f.api.Deployment(bg, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	workers := map[string]bool{}
	for _, in := range d.Instances {
		workers[in.WorkerID] = in.State == "running"
	}
	if d.State != store.DeploymentRunning || d.Parallelism != 2 || len(d.Instances) != 2 || !workers["worker-a"] || !workers["worker-b"] {
		t.Fatalf("deployment %+v: want running, two instances running on worker-a and worker-b", d)
	}

	// worker a dies: worker b takes its instance over once its heartbeat is older than the lease
	stA.Close()
	running("the instance of worker a taken over by worker b", func(idx int, w string) bool { return idx == onA && w == "worker-b" })
	publish(201, 300)
	committed(300)
	f.checkIDs(300)

	// pause: both instances stop after committing; the deployment stays paused
	if _, err := f.api.Control(bg, run.ID, runs.ControlPause); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		await(t, ch, "an instance stopped", func(e runs.Event) bool {
			return e.RunID == run.ID && e.Type == runs.EventChunk && e.Chunk.Status == store.RunSucceeded
		})
	}
	if d, err := f.api.Deployment(bg, run.ID); err != nil || d.State != store.DeploymentPaused || d.Instances[0].State != "stopped" || d.Instances[1].State != "stopped" {
		t.Fatalf("after pause: %+v, %v; want paused with both instances stopped", d, err)
	}
	if _, err := f.api.Control(bg, run.ID, runs.ControlPause); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("pause of a paused deployment: %v, want a conflict", err)
	}
	publish(301, 320)
	if _, err := f.api.Control(bg, run.ID, runs.ControlResume); err != nil {
		t.Fatal(err)
	}
	committed(320)
	f.checkIDs(320)

	if _, err := f.api.Control(bg, run.ID, runs.ControlStop); err != nil {
		t.Fatal(err)
	}
	final := f.finish(run, ch)
	if final.Status != store.RunSucceeded {
		t.Fatalf("after stop the run is %s (%s), want succeeded", final.Status, final.Error)
	}
	if d, _ := f.api.Deployment(bg, run.ID); d == nil || d.State != store.DeploymentStopped {
		t.Fatalf("after stop: deployment %+v, want stopped", d)
	}
	if _, err := f.api.Control(bg, run.ID, runs.ControlResume); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("resume of an ended run: %v, want a conflict", err)
	}
}

// startWorker runs a worker "process" on its own store handle; it may die (its store closed), so
// its end is not checked.
func startWorker(t *testing.T, f *fleet, st *store.Store, id string, concurrency int) {
	t.Helper()
	q, err := runs.NewRiver(f.serviceOn(st), runs.RiverOptions{WorkerID: id, Workers: concurrency, FetchPoll: 50 * time.Millisecond,
		Heartbeat: 100 * time.Millisecond, Lease: time.Second, DrainTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// checkIDs asserts that dst holds ids 1..n exactly once.
func (f *fleet) checkIDs(n int) {
	f.t.Helper()
	var rows, distinct, lo, hi int64
	if err := f.data.QueryRow(context.Background(), `SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id) FROM dst`).Scan(&rows, &distinct, &lo, &hi); err != nil {
		f.t.Fatal(err)
	}
	if rows != int64(n) || distinct != int64(n) || lo != 1 || hi != int64(n) {
		f.t.Fatalf("dst: %d rows, %d distinct ids, ids %d..%d; want ids 1..%d exactly once", rows, distinct, lo, hi, n)
	}
}
