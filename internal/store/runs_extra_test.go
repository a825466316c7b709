package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

// The run service's store methods, on both backends (same pattern as RunContract).
func runExtraContract(t *testing.T, b backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *store.Store, c *clock)
	}{
		{"ClaimWithinLimit", testClaimWithinLimit},
		{"Attempts", testAttempts},
		{"Workers", testWorkers},
		{"QueueFigures", testQueueFigures},
		{"DeadLetterRewind", testDeadLetterRewind},
		{"RunOutputs", testRunOutputs},
		{"RunReplayOf", testRunReplayOf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			tt.fn(t, b.migrated(t, c.Now), c)
		})
	}
}

func TestRunExtraSQLite(t *testing.T) {
	t.Parallel()
	runExtraContract(t, sqliteBackend)
}

func TestRunExtraPostgres(t *testing.T) {
	t.Parallel()
	runExtraContract(t, postgresBackend)
}

func runIDs(rs []store.Run) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func testDeadLetterRewind(t *testing.T, s *store.Store, _ *clock) {
	p := newPipeline(t, s, "rewind")
	r1 := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
	r2 := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
	if id := must(s.LastDeadLetterID(ctx, r1.ID))(t); id != 0 {
		t.Fatalf("last id of a run without dead letters = %d", id)
	}
	add := func(run string, from, n int) {
		rows := make([]store.DeadLetter, n)
		for i := range rows {
			rows[i] = store.DeadLetter{RunID: run, Reason: fmt.Sprintf("bad %d", from+i), Line: int64(from + i)}
		}
		if err := s.AddDeadLetters(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	add(r1.ID, 1, 3)
	mark := must(s.LastDeadLetterID(ctx, r1.ID))(t)
	add(r2.ID, 1, 2) // another run's rows interleave and must survive
	add(r1.ID, 4, 5)
	if n := must(s.DeleteDeadLettersAfter(ctx, r1.ID, mark))(t); n != 5 {
		t.Fatalf("deleted %d, want 5", n)
	}
	left := must(s.ListDeadLetters(ctx, r1.ID, 0, 100))(t)
	if len(left) != 3 || left[2].Line != 3 || left[2].ID != mark {
		t.Fatalf("after rewind: %+v", left)
	}
	if n := must(s.CountDeadLetters(ctx, r2.ID))(t); n != 2 {
		t.Fatalf("other run lost rows: %d", n)
	}
}

// A finished run keeps the outputs it was finished with; a later finish without outputs keeps them.
func testRunOutputs(t *testing.T, s *store.Store, _ *clock) {
	p := newPipeline(t, s, "outputs")
	r := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
	if r.Outputs != nil {
		t.Fatalf("new run outputs = %s, want none", r.Outputs)
	}
	if _, err := s.ClaimRun(ctx, r.ID, "w1"); err != nil {
		t.Fatal(err)
	}
	outputs := `[{"node":"out","name":"a.ndjson","path":"out/a.ndjson","bytes":12,"rows":2}]`
	done := must(s.FinishRun(ctx, r.ID, []store.RunStatus{store.RunRunning},
		store.RunFinish{Status: store.RunSucceeded, Outputs: []byte(outputs), WorkerID: "w1", Attempt: 1}))(t)
	got := must(s.GetRun(ctx, done.ID))(t)
	if !jsonEqual(got.Outputs, []byte(outputs)) {
		t.Fatalf("outputs = %s, want %s", got.Outputs, outputs)
	}
	if _, err := s.FinishRun(ctx, r.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{Status: store.RunFailed}); err == nil {
		t.Fatal("finishing a finished run again succeeded")
	}
	if _, err := s.FinishRun(ctx, r.ID, nil, store.RunFinish{Status: store.RunFailed, Outputs: []byte("{bad")}); err == nil {
		t.Fatal("invalid outputs JSON accepted")
	}
}

// A replay run records the run it replays and its edits; runs can be listed by it.
func testRunReplayOf(t *testing.T, s *store.Store, _ *clock) {
	p := newPipeline(t, s, "replay")
	orig := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
	if orig.ReplayOf != "" || orig.ReplayEdits != nil {
		t.Fatalf("a plain run has replay fields: %+v", orig)
	}
	edits := `{"7":{"email":"a@example.com"}}`
	rep := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1, Trigger: "replay", ReplayOf: orig.ID,
		ReplayEdits: []byte(edits)}))(t)
	got := must(s.GetRun(ctx, rep.ID))(t)
	if got.ReplayOf != orig.ID || !jsonEqual(got.ReplayEdits, []byte(edits)) {
		t.Fatalf("replay run read back as replay_of %q edits %s", got.ReplayOf, got.ReplayEdits)
	}
	list, total, err := s.ListRuns(ctx, store.RunFilter{ReplayOf: orig.ID})
	if err != nil || total != 1 || len(list) != 1 || list[0].ID != rep.ID {
		t.Fatalf("runs replaying %s: %v %d %v", orig.ID, runIDs(list), total, err)
	}
	if _, err := s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1, ReplayEdits: []byte("{bad")}); err == nil {
		t.Fatal("invalid replay edits JSON accepted")
	}
}

func testClaimWithinLimit(t *testing.T, s *store.Store, c *clock) {
	p := newPipeline(t, s, "limited")
	a := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
	b := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
	if _, err := s.ClaimRunWithin(ctx, a.ID, "w1", 1); err != nil {
		t.Fatal(err)
	}
	_, err := s.ClaimRunWithin(ctx, b.ID, "w2", 1)
	wantErr(t, err, store.ErrBusy)
	if got := must(s.GetRun(ctx, b.ID))(t); got.Status != store.RunQueued || got.Attempt != 0 {
		t.Fatalf("a refused claim changed the run: %+v", got)
	}
	q, r, err := s.CountActiveRuns(ctx, p.ID)
	if err != nil || q != 1 || r != 1 {
		t.Fatalf("CountActiveRuns = %d queued, %d running, %v", q, r, err)
	}
	if _, err := s.ClaimRunWithin(ctx, b.ID, "w2", 2); err != nil {
		t.Fatalf("a second slot: %v", err)
	}
	_, err = s.ClaimRunWithin(ctx, b.ID, "w3", 0)
	wantErr(t, err, store.ErrConflict)
	_, err = s.ClaimRunWithin(ctx, "ghost", "w3", 0)
	wantErr(t, err, store.ErrNotFound)
	// fencing: a checkpoint of another attempt of the same worker is refused
	wantErr(t, s.SaveCheckpoint(ctx, a.ID, "w1", 2, []byte(`{}`), nil), store.ErrConflict)
	if err := s.SaveCheckpoint(ctx, a.ID, "w1", 1, []byte(`{}`), nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.Heartbeat(ctx, a.ID, "w1", 7)
	wantErr(t, err, store.ErrConflict)
}

func testAttempts(t *testing.T, s *store.Store, c *clock) {
	p := newPipeline(t, s, "attempts")
	r := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
	must(s.ClaimRunWithin(ctx, r.ID, "w1", 1))(t)
	c.Advance(time.Second)
	if err := s.EndAttempt(ctx, r.ID, 1, "lost", "worker w1 stopped sending heartbeats"); err != nil {
		t.Fatal(err)
	}
	// the first end wins
	if err := s.EndAttempt(ctx, r.ID, 1, "failed", "late"); err != nil {
		t.Fatal(err)
	}
	must(s.RequeueRun(ctx, r.ID, "w1", "taken over"))(t)
	must(s.ClaimRunWithin(ctx, r.ID, "w2", 1))(t)
	got := must(s.ListAttempts(ctx, r.ID))(t)
	if len(got) != 2 || got[0].Number != 1 || got[0].WorkerID != "w1" || got[0].Outcome != "lost" || got[0].FinishedAt == nil ||
		got[0].Error != "worker w1 stopped sending heartbeats" || got[1].Number != 2 || got[1].WorkerID != "w2" ||
		got[1].Outcome != "running" || got[1].FinishedAt != nil {
		t.Fatalf("attempts = %+v", got)
	}
}

func testWorkers(t *testing.T, s *store.Store, c *clock) {
	w := must(s.RegisterWorker(ctx, store.Worker{ID: "host-1-a", Host: "host", PID: 1, Version: "v1", Queues: []string{"runs"}, Concurrency: 4}))(t)
	if w.StartedAt.IsZero() || w.HeartbeatAt != w.StartedAt {
		t.Fatalf("registered = %+v", w)
	}
	_, err := s.RegisterWorker(ctx, store.Worker{ID: "host-1-a"})
	wantErr(t, err, store.ErrConflict)
	c.Advance(10 * time.Second)
	if err := s.WorkerHeartbeat(ctx, "host-1-a", 3); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.WorkerHeartbeat(ctx, "nobody", 0), store.ErrNotFound)
	must(s.RegisterWorker(ctx, store.Worker{ID: "host-2-b", Host: "host", PID: 2, Queues: []string{"runs", "maintenance"}, Concurrency: 1}))(t)
	if err := s.StopWorker(ctx, "host-2-b"); err != nil {
		t.Fatal(err)
	}
	list := must(s.ListWorkers(ctx, c.Now().Add(-time.Minute)))(t)
	if len(list) != 2 {
		t.Fatalf("workers = %+v", list)
	}
	byID := map[string]store.Worker{list[0].ID: list[0], list[1].ID: list[1]}
	a, b := byID["host-1-a"], byID["host-2-b"]
	if a.Running != 3 || a.Concurrency != 4 || len(a.Queues) != 1 || a.StoppedAt != nil || !a.HeartbeatAt.After(a.StartedAt) {
		t.Fatalf("worker a = %+v", a)
	}
	if b.StoppedAt == nil || len(b.Queues) != 2 || b.Running != 0 {
		t.Fatalf("worker b = %+v", b)
	}
	c.Advance(2 * time.Hour)
	if n := must(s.DeleteWorkersBefore(ctx, c.Now().Add(-time.Hour)))(t); n != 2 {
		t.Fatalf("aged out %d workers, want 2", n)
	}
	if list := must(s.ListWorkers(ctx, time.Time{}))(t); len(list) != 0 {
		t.Fatalf("after age-out: %+v", list)
	}
}

func testQueueFigures(t *testing.T, s *store.Store, c *clock) {
	f, err := s.QueueFigures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Waiting) != 0 || len(f.Running) != 0 || f.OldestWait != 0 {
		t.Fatalf("empty queue figures = %+v", f)
	}
}
