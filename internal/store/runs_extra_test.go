package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

// The run service's store methods, on both backends (same pattern as RunContract).
func runExtraContract(t *testing.T, open Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *store.Store, c *clock)
	}{
		{"NextQueuedRuns", testNextQueuedRuns},
		{"DeadLetterRewind", testDeadLetterRewind},
		{"RunOutputs", testRunOutputs},
		{"RunReplayOf", testRunReplayOf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			s := open(t, c.Now)
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			tt.fn(t, s, c)
		})
	}
}

func TestRunExtraSQLite(t *testing.T) {
	t.Parallel()
	runExtraContract(t, openSQLite)
}

func TestRunExtraPostgres(t *testing.T) {
	t.Parallel()
	runExtraContract(t, openPostgres)
}

func testNextQueuedRuns(t *testing.T, s *store.Store, c *clock) {
	p := newPipeline(t, s, "queue")
	var ids []string
	for range 4 {
		r := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
		ids = append(ids, r.ID)
		c.Advance(time.Second)
	}
	if _, err := s.ClaimRun(ctx, ids[0], "w1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RequestCancel(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	got := must(s.NextQueuedRuns(ctx, 10))(t)
	if len(got) != 2 || got[0].ID != ids[1] || got[1].ID != ids[3] {
		t.Fatalf("queued = %v, want [%s %s] oldest first", runIDs(got), ids[1], ids[3])
	}
	if got := must(s.NextQueuedRuns(ctx, 1))(t); len(got) != 1 || got[0].ID != ids[1] {
		t.Fatalf("limit 1 = %v", runIDs(got))
	}
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
