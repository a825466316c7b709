package runs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

var bg = context.Background()

func forPipeline(id string) func(runs.Event) bool {
	return func(e runs.Event) bool { return e.PipelineID == id }
}

func nodeStats(t *testing.T, r store.Run) map[string]engine.NodeStats {
	t.Helper()
	var list []engine.NodeStats
	if err := json.Unmarshal(r.NodeStats, &list); err != nil {
		t.Fatalf("node stats %s: %v", r.NodeStats, err)
	}
	out := map[string]engine.NodeStats{}
	for _, n := range list {
		out[n.ID] = n
	}
	return out
}

const cleanSpec = `version: 1
name: orders
sources:
  - id: orders
    type: csv
    config: {path: in.csv}
transforms:
  - id: big
    type: filter
    inputs: [orders]
    config: {expression: "id > 10"}
destinations:
  - id: out
    type: csv
    inputs: [big]
    config: {path: out.csv}
    write: {mode: overwrite}
error_policy: {on_reject: dead_letter}
`

func TestRunSucceedsWithNodeCounters(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		e := setup(t, b, setupOptions{})
		writeCSV(t, e.dir, "in.csv", 250)
		p := e.createPipeline("orders", cleanSpec)
		events, stop := e.svc.Broker().Subscribe(forPipeline(p.ID), 1024)
		defer stop()
		run, err := e.svc.Start(bg, p.ID, 0, "manual", runs.Actor{ID: "u1", Name: "tester"})
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != store.RunQueued || run.PipelineVersion != 1 {
			t.Fatalf("started run = %+v", run)
		}
		await(t, events, "running", func(ev runs.Event) bool { return ev.Status == store.RunRunning })
		ev := await(t, events, "terminal", terminal)
		if ev.Status != store.RunSucceeded {
			t.Fatalf("run ended %s: %s", ev.Status, ev.Error)
		}
		got, err := e.st.GetRun(bg, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.RunSucceeded || got.StartedAt == nil || got.FinishedAt == nil || got.Error != "" || got.Attempt != 1 {
			t.Fatalf("stored run = %+v", got)
		}
		stats := nodeStats(t, got)
		if s := stats["orders"]; s.Out != 250 || s.Bytes == 0 || s.Kind != "source" {
			t.Errorf("source stats = %+v", s)
		}
		if s := stats["big"]; s.In != 250 || s.Out != 240 || s.Filtered != 10 {
			t.Errorf("filter stats = %+v", s)
		}
		if s := stats["out"]; s.In != 240 || s.Out != 240 {
			t.Errorf("destination stats = %+v", s)
		}
		out, err := os.ReadFile(filepath.Join(e.dir, "out.csv"))
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Count(string(out), "\n"); lines != 241 {
			t.Errorf("out.csv has %d lines, want header + 240", lines)
		}
		logs, _, err := e.st.ListLogs(bg, store.LogFilter{RunID: run.ID, Oldest: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(logs) < 2 || !strings.HasPrefix(logs[0].Message, "run started: pipeline version 1") ||
			!strings.HasPrefix(logs[len(logs)-1].Message, "run succeeded: 250 rows read, 240 written") {
			t.Errorf("run log = %+v", logs)
		}
	})
}

func TestRunWithBrokenRowsKeepsDeadLetters(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		e := setup(t, b, setupOptions{})
		writeCSV(t, e.dir, "in.csv", 20, "21,short row", `22,"unbalanced,1.5`)
		p := e.createPipeline("broken", strings.Replace(cleanSpec, "id > 10", "id > 0", 1))
		events, stop := e.svc.Broker().Subscribe(forPipeline(p.ID), 1024)
		defer stop()
		run, err := e.svc.Start(bg, p.ID, 0, "manual", runs.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		if ev := await(t, events, "terminal", terminal); ev.Status != store.RunSucceeded {
			t.Fatalf("run ended %s: %s", ev.Status, ev.Error)
		}
		got, _ := e.st.GetRun(bg, run.ID)
		if s := nodeStats(t, got)["orders"]; s.Out != 20 || s.Rejected != 2 {
			t.Errorf("source stats = %+v", s)
		}
		dls, err := e.st.ListDeadLetters(bg, run.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(dls) != 2 {
			t.Fatalf("dead letters = %+v", dls)
		}
		if dls[0].Line != 22 || dls[0].Source != "in.csv" || dls[0].Reason == "" || dls[0].Node != "orders" {
			t.Errorf("first dead letter = %+v", dls[0])
		}
		var row runs.DeadLetterRow
		if err := json.Unmarshal(dls[0].Raw, &row); err != nil || !strings.Contains(row.Raw, "short row") {
			t.Errorf("dead letter raw = %s (%v)", dls[0].Raw, err)
		}
	})
}

func TestCancelRunningRun(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		e := setup(t, b, setupOptions{block: 50})
		writeCSV(t, e.dir, "in.csv", 500)
		p := e.createPipeline("hangs", strings.Replace(cleanSpec, "type: csv\n    config: {path: in.csv}", "type: slowcsv\n    config: {path: in.csv}", 1))
		events, stop := e.svc.Broker().Subscribe(forPipeline(p.ID), 1024)
		defer stop()
		run, err := e.svc.Start(bg, p.ID, 0, "manual", runs.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		// Wait until rows flow (the reader then hangs), then cancel.
		await(t, events, "progress", func(ev runs.Event) bool { return ev.Type == runs.EventProgress && ev.Progress.RowsRead >= 50 })
		c, err := e.svc.Cancel(bg, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != store.RunRunning || !c.CancelRequested {
			t.Fatalf("after cancel request: %+v", c)
		}
		if ev := await(t, events, "terminal", terminal); ev.Status != store.RunCancelled {
			t.Fatalf("run ended %s, want cancelled", ev.Status)
		}
		got, _ := e.st.GetRun(bg, run.ID)
		if got.Status != store.RunCancelled || got.FinishedAt == nil {
			t.Fatalf("stored run = %+v", got)
		}
		if _, err := os.Stat(filepath.Join(e.dir, "out.csv")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a cancelled overwrite left out.csv behind: %v", err)
		}
		if _, err := e.svc.Cancel(bg, run.ID); !errors.Is(err, store.ErrConflict) {
			t.Errorf("cancelling a finished run: %v, want ErrConflict", err)
		}
	})
}

func TestCancelQueuedRun(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		e := setup(t, b, setupOptions{noDispatcher: true})
		p := e.createPipeline("queued", cleanSpec)
		events, stop := e.svc.Broker().Subscribe(forPipeline(p.ID), 64)
		defer stop()
		run, err := e.svc.Start(bg, p.ID, 0, "api", runs.Actor{ID: "u1", Name: "tester"})
		if err != nil {
			t.Fatal(err)
		}
		await(t, events, "queued", func(ev runs.Event) bool { return ev.Status == store.RunQueued && ev.RunID == run.ID })
		c, err := e.svc.Cancel(bg, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != store.RunCancelled || c.FinishedAt == nil || c.StartedAt != nil {
			t.Fatalf("cancelled queued run = %+v", c)
		}
		if ev := await(t, events, "terminal", terminal); ev.Status != store.RunCancelled {
			t.Fatalf("event status %s", ev.Status)
		}
		// A job that gets it later does nothing.
		q, err := runs.NewRiver(e.svc, runs.RiverOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.RunJob(bg, run.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.st.GetRun(bg, run.ID); got.Status != store.RunCancelled || got.Attempt != 0 {
			t.Fatalf("run after a late Execute = %+v", got)
		}
	})
}

// A pipeline deleted while its run is queued fails the run with the reason when a worker takes
// it, without reading or writing anything.
func TestRunOfPipelineDeletedWhileQueuedFails(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		e := setup(t, b, setupOptions{noDispatcher: true})
		p := e.createPipeline("deleted", cleanSpec)
		run, err := e.svc.Start(bg, p.ID, 0, "api", runs.Actor{ID: "u1", Name: "tester"})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.st.DeletePipeline(bg, p.ID, "tester"); err != nil {
			t.Fatal(err)
		}
		q, err := runs.NewRiver(e.svc, runs.RiverOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.RunJob(bg, run.ID); err != nil {
			t.Fatal(err)
		}
		got, err := e.st.GetRun(bg, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.RunFailed || !strings.Contains(got.Error, "was deleted while this run was queued") {
			t.Fatalf("run = %s %q, want failed saying the pipeline was deleted", got.Status, got.Error)
		}
		if _, err := os.Stat(filepath.Join(e.dir, "out.csv")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the destination was written: %v", err)
		}
	})
}

// Start does not plan (the spec was planned when saved); a saved version that no longer plans fails
// its run with the problem and its path, and an unknown version is refused at once.
func TestRunOfSpecThatNoLongerPlansFails(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		e := setup(t, b, setupOptions{})
		p := e.createPipeline("bad", strings.Replace(cleanSpec, "type: filter", "type: nosuch", 1))
		events, stop := e.svc.Broker().Subscribe(forPipeline(p.ID), 1024)
		defer stop()
		run, err := e.svc.Start(bg, p.ID, 0, "manual", runs.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		ev := await(t, events, "terminal", terminal)
		got, _ := e.st.GetRun(bg, run.ID)
		if ev.Status != store.RunFailed || !strings.Contains(got.Error, "transforms[0].type") {
			t.Fatalf("run ended %s with %q, want failed naming transforms[0].type", got.Status, got.Error)
		}
		if _, err := e.svc.Start(bg, p.ID, 7, "manual", runs.Actor{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("start of version 7 = %v, want not found", err)
		}
	})
}

// countingSaved resolves one saved CSV connector and counts the resolutions: each plan of a spec
// naming it resolves it once.
type countingSaved struct{ calls *atomic.Int64 }

func (c countingSaved) Resolve(_ context.Context, name string) (string, map[string]any, error) {
	c.calls.Add(1)
	if name != "orders file" {
		return "", nil, store.ErrNotFound
	}
	return "csv", map[string]any{"path": "in.csv"}, nil
}

// A run is planned once: Start records and queues it without planning, and the executor plans the
// recorded version once (before, Start planned it and the executor planned it again).
func TestRunIsPlannedOnce(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		calls := &atomic.Int64{}
		e := setup(t, b, setupOptions{saved: countingSaved{calls: calls}})
		writeCSV(t, e.dir, "in.csv", 30)
		p := e.createPipeline("saved", strings.Replace(cleanSpec, "type: csv\n    config: {path: in.csv}", "connector: orders file", 1))
		events, stop := e.svc.Broker().Subscribe(forPipeline(p.ID), 1024)
		defer stop()
		for i := 1; i <= 2; i++ {
			if _, err := e.svc.Start(bg, p.ID, 0, "manual", runs.Actor{}); err != nil {
				t.Fatal(err)
			}
			if ev := await(t, events, "terminal", terminal); ev.Status != store.RunSucceeded {
				t.Fatalf("run %d ended %s: %s", i, ev.Status, ev.Error)
			}
			if n := calls.Load(); n != int64(i) {
				t.Fatalf("after %d runs the spec was planned %d times, want %d", i, n, i)
			}
		}
	})
}

// A succeeded run records what its file destinations wrote; an output under the output directory
// opens for download, one outside it is listed but refused, an unknown node is ErrNoOutput.
func TestRunRecordsOutputs(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		outDir := t.TempDir()
		e := setup(t, b, setupOptions{outputDir: outDir})
		writeCSV(t, e.dir, "in.csv", 250)
		outside := filepath.Join(e.dir, "outside.csv")
		spec := cleanSpec + strings.Replace(`  - id: copy
    type: csv
    inputs: [orders]
    config: {path: OUTSIDE}
    write: {mode: overwrite}
`, "OUTSIDE", outside, 1)
		spec = strings.Replace(spec, "\nerror_policy: {on_reject: dead_letter}\n", "\n", 1) + "error_policy: {on_reject: dead_letter}\n"
		p := e.createPipeline("outputs", spec)
		events, stop := e.svc.Broker().Subscribe(forPipeline(p.ID), 1024)
		defer stop()
		run, err := e.svc.Start(bg, p.ID, 0, "manual", runs.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		if ev := await(t, events, "terminal", terminal); ev.Status != store.RunSucceeded {
			t.Fatalf("run ended %s: %s", ev.Status, ev.Error)
		}
		written, err := os.ReadFile(filepath.Join(outDir, "out.csv"))
		if err != nil {
			t.Fatalf("the relative destination did not write under the output directory: %v", err)
		}
		if _, err := os.Stat(filepath.Join(e.dir, "out.csv")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("out.csv was written into the file root: %v", err)
		}
		list, err := e.svc.Outputs(bg, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []runs.Output{
			{Node: "out", Name: "out.csv", Path: "out.csv", Bytes: int64(len(written)), Rows: 240},
			{Node: "copy", Name: "outside.csv", Path: "", Bytes: fileSize(t, outside), Rows: 250},
		}
		if len(list) != len(want) {
			t.Fatalf("outputs = %+v, want %+v", list, want)
		}
		for i := range want {
			g := list[i]
			if g.Node != want[i].Node || g.Name != want[i].Name || g.Path != want[i].Path || g.Bytes != want[i].Bytes || g.Rows != want[i].Rows {
				t.Errorf("output %d = %+v, want %+v", i, g, want[i])
			}
		}
		o, f, err := e.svc.OpenOutput(bg, run.ID, "out")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(f)
		f.Close()
		if string(got) != string(written) || o.Name != "out.csv" {
			t.Errorf("opened %s: %d bytes, want %d", o.Name, len(got), len(written))
		}
		if _, _, err := e.svc.OpenOutput(bg, run.ID, "copy"); !errors.Is(err, runs.ErrOutputOutside) {
			t.Errorf("open an output outside the output directory = %v, want ErrOutputOutside", err)
		}
		if _, _, err := e.svc.OpenOutput(bg, run.ID, "orders"); !errors.Is(err, runs.ErrNoOutput) || !strings.Contains(err.Error(), `"orders"`) {
			t.Errorf("open a source's output = %v, want ErrNoOutput naming the node", err)
		}
		// A symlink swapped in after the run does not lead out of the output directory.
		if err := os.Remove(filepath.Join(outDir, "out.csv")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(outDir, "out.csv")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.OpenOutput(bg, run.ID, "out"); !errors.Is(err, runs.ErrOutputOutside) {
			t.Errorf("open through a symlink out of the output directory = %v, want ErrOutputOutside", err)
		}
	})
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func TestSavedReferencesResolveThroughTheStore(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		e := setup(t, b, setupOptions{})
		writeCSV(t, e.dir, "in.csv", 30)
		if _, err := e.st.CreateConnector(bg, store.Connector{Name: "Orders File", Type: "csv", Config: json.RawMessage(`{"path":"in.csv"}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.CreateTransformation(bg, store.Transformation{Name: "over-ten", Type: "filter", Config: json.RawMessage(`{"expression":"id > 10"}`)}); err != nil {
			t.Fatal(err)
		}
		spec := strings.NewReplacer("type: csv\n    config: {path: in.csv}", "connector: orders file",
			"type: filter\n    inputs: [orders]\n    config: {expression: \"id > 10\"}", "transformation: over-ten\n    inputs: [orders]").Replace(cleanSpec)
		p := e.createPipeline("saved", spec)
		events, stop := e.svc.Broker().Subscribe(forPipeline(p.ID), 1024)
		defer stop()
		run, err := e.svc.Start(bg, p.ID, 0, "manual", runs.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		if ev := await(t, events, "terminal", terminal); ev.Status != store.RunSucceeded {
			t.Fatalf("run ended %s: %s", ev.Status, ev.Error)
		}
		got, _ := e.st.GetRun(bg, run.ID)
		if s := nodeStats(t, got)["out"]; s.Out != 20 {
			t.Errorf("destination stats = %+v", s)
		}
		// A missing saved connector is a problem with its path.
		_, err = e.svc.Plan(bg, mustParse(t, strings.Replace(spec, "connector: orders file", "connector: gone", 1)))
		if ps, ok := pipeline.AsProblems(err); !ok || ps[0].Path != "sources[0].connector" || !strings.Contains(ps[0].Message, "no saved connector") {
			t.Errorf("missing saved connector: %v", err)
		}
	})
}

func mustParse(t *testing.T, text string) *pipeline.Spec {
	t.Helper()
	s, err := pipeline.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStaleRunWithCancelRequestEndsCancelled(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		st := openStore(t, b)
		e := &env{t: t, st: st}
		p := e.createPipeline("orphan", cleanSpec)
		run, err := st.CreateRun(bg, store.Run{PipelineID: p.ID, PipelineVersion: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.ClaimRun(bg, run.ID, "dead-worker"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RequestCancel(bg, run.ID); err != nil {
			t.Fatal(err)
		}
		e2 := setupOn(t, st, setupOptions{noDispatcher: true})
		disp, err := runs.NewRiver(e2.svc, runs.RiverOptions{Now: func() time.Time { return time.Now().Add(time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		if err := disp.CheckLeases(bg); err != nil {
			t.Fatal(err)
		}
		got, _ := st.GetRun(bg, run.ID)
		if got.Status != store.RunCancelled || got.Attempt != 1 {
			t.Fatalf("orphaned cancelled run = %+v", got)
		}
	})
}

// TestPoisonRunStopsAfterItsAttempts: a run whose worker dies on every attempt (as a process does
// when an input exhausts its memory) is requeued until it has had MaxAttempts attempts, then fails
// with the reason instead of being requeued at every start.
func TestPoisonRunStopsAfterItsAttempts(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		st := openStore(t, b)
		e := &env{t: t, st: st}
		p := e.createPipeline("poison", cleanSpec)
		run, err := st.CreateRun(bg, store.Run{PipelineID: p.ID, PipelineVersion: 1})
		if err != nil {
			t.Fatal(err)
		}
		e2 := setupOn(t, st, setupOptions{noDispatcher: true})
		events, stop := e2.svc.Broker().Subscribe(forPipeline(p.ID), 64)
		defer stop()
		// The clock of the recovering dispatcher is an hour ahead: every heartbeat is stale to it.
		disp, err := runs.NewRiver(e2.svc, runs.RiverOptions{MaxAttempts: 3, Now: func() time.Time { return time.Now().Add(time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		for attempt := 1; attempt <= 3; attempt++ {
			// A worker claims the run and dies without a word.
			claimed, err := st.ClaimRun(bg, run.ID, fmt.Sprintf("doomed-%d", attempt))
			if err != nil {
				t.Fatalf("attempt %d: claim: %v", attempt, err)
			}
			if claimed.Attempt != attempt {
				t.Fatalf("attempt %d: the run counts %d attempts", attempt, claimed.Attempt)
			}
			if err := disp.CheckLeases(bg); err != nil {
				t.Fatal(err)
			}
			got, _ := st.GetRun(bg, run.ID)
			if attempt < 3 {
				if got.Status != store.RunQueued || !strings.Contains(got.Error, "doomed-"+strconv.Itoa(attempt)+" stopped sending heartbeats") {
					t.Fatalf("after attempt %d: %+v, want queued again with the reason", attempt, got)
				}
				continue
			}
			if got.Status != store.RunFailed || got.Attempt != 3 {
				t.Fatalf("after the last attempt: %+v, want failed after 3 attempts", got)
			}
			for _, want := range []string{"gave up after 3 attempts", "worker doomed-3 stopped sending heartbeats"} {
				if !strings.Contains(got.Error, want) {
					t.Errorf("error %q lacks %q", got.Error, want)
				}
			}
		}
		if ev := await(t, events, "terminal", terminal); ev.Status != store.RunFailed || !strings.Contains(ev.Error, "gave up after 3 attempts") {
			t.Errorf("terminal event = %+v", ev)
		}
		// Another start finds nothing to requeue: the run does not come back.
		if err := disp.CheckLeases(bg); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetRun(bg, run.ID); got.Status != store.RunFailed {
			t.Fatalf("a later recovery changed the failed run: %+v", got)
		}
		logs, _, _ := st.ListLogs(bg, store.LogFilter{RunID: run.ID, Oldest: true})
		var text []string
		for _, l := range logs {
			text = append(text, l.Message)
		}
		joined := strings.Join(text, "\n")
		if !strings.Contains(joined, "attempt 2 of 3") || !strings.Contains(joined, "gave up after 3 attempts") {
			t.Errorf("run log does not tell the attempts:\n%s", joined)
		}
	})
}
