package runs_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// TestHelperProcess is the worker process TestStaleRunResumes kills. It runs only when started by
// that test: it serves the store named in its environment with a dispatcher whose CSV reader hangs
// after 300 rows, and waits to be killed.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("RUNS_HELPER") != "1" {
		t.Skip("helper process for TestStaleRunResumes")
	}
	b := backend{dialect: store.Dialect(os.Getenv("RUNS_HELPER_DIALECT")), dsn: os.Getenv("RUNS_HELPER_DSN")}
	st := openStore(t, b)
	setupOn(t, st, setupOptions{block: 300, dir: os.Getenv("RUNS_HELPER_DIR")})
	select {} // until killed
}

const resumeSpec = `version: 1
name: resume
sources:
  - id: orders
    type: slowcsv
    config: {path: in.csv}
destinations:
  - id: out
    type: csv
    inputs: [orders]
    config: {path: out.csv}
    write: {mode: overwrite}
`

// TestStaleRunResumes kills a worker process mid-run (SIGKILL, after checkpoints were saved); a new
// worker finds the run's stale heartbeat, requeues it, resumes from its last checkpoint, and the
// output holds every row exactly once.
func TestStaleRunResumes(t *testing.T) {
	if os.Getenv("RUNS_HELPER") == "1" {
		t.Skip("inside the helper process")
	}
	backends(t, func(t *testing.T, b backend) {
		const rows = 1000
		st := openStore(t, b)
		dir := t.TempDir()
		writeCSV(t, dir, "in.csv", rows)
		e := &env{t: t, st: st}
		p := e.createPipeline("resume", resumeSpec)
		// Queued with its job by an insert-only queue (an API node).
		api := setupOn(t, st, setupOptions{noDispatcher: true, dir: dir})
		inserter, err := runs.NewRiver(api.svc, runs.RiverOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_ = inserter
		run, err := api.svc.Start(bg, p.ID, 0, "manual", runs.Actor{})
		if err != nil {
			t.Fatal(err)
		}

		child := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		child.Env = append(os.Environ(), "RUNS_HELPER=1", "RUNS_HELPER_DIALECT="+string(b.dialect),
			"RUNS_HELPER_DSN="+b.dsn, "RUNS_HELPER_DIR="+dir)
		var out strings.Builder
		child.Stdout, child.Stderr = &out, &out
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- child.Wait() }()
		t.Cleanup(func() { _ = child.Process.Kill() })

		// Poll (bounded) until the child has saved a checkpoint past the first 100 rows.
		deadline := time.Now().Add(60 * time.Second)
		for {
			r, err := st.GetRun(bg, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if out := sourceOut(t, r); r.Status == store.RunRunning && out >= 100 {
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("helper exited early: %v\n%s", err, out.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint from the helper within 60s; run %+v\n%s", r, out.String())
			}
		}
		if err := child.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-exited
		killed, _ := st.GetRun(bg, run.ID)
		if killed.Status != store.RunRunning || len(killed.Checkpoint) == 0 {
			t.Fatalf("after the kill: %+v", killed)
		}
		checkpointed := committedRecords(t, killed, "out")

		// A new worker with a short lease: the killed worker's heartbeat expires at once.
		e2 := setupOn(t, st, setupOptions{dir: dir, lease: 300 * time.Millisecond})
		sub, stop := e2.svc.Broker().Subscribe(forPipeline(p.ID), 1024)
		defer stop()
		final, err := st.GetRun(bg, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !final.Status.Terminal() {
			ev := await(t, sub, "terminal", terminal)
			if ev.Status != store.RunSucceeded {
				t.Fatalf("resumed run ended %s: %s", ev.Status, ev.Error)
			}
		}
		final, _ = st.GetRun(bg, run.ID)
		if final.Status != store.RunSucceeded || final.Attempt != 2 {
			t.Fatalf("resumed run = %+v", final)
		}
		if got := e2.gate.emitted.Load(); got > int64(rows)-checkpointed {
			t.Errorf("the new worker read %d rows; resuming after %d checkpointed rows needs at most %d", got, checkpointed, int64(rows)-checkpointed)
		}
		if s := nodeStats(t, final)["out"]; s.Out != rows {
			t.Errorf("destination out after resume = %d, want %d", s.Out, rows)
		}
		data, err := os.ReadFile(filepath.Join(dir, "out.csv"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		seen := map[int]int{}
		for _, l := range lines[1:] {
			id, err := strconv.Atoi(strings.SplitN(l, ",", 2)[0])
			if err != nil {
				t.Fatalf("bad output line %q", l)
			}
			seen[id]++
		}
		for i := 1; i <= rows; i++ {
			if seen[i] != 1 {
				t.Fatalf("id %d appears %d times in the output (%d lines)", i, seen[i], len(lines)-1)
			}
		}
		if len(lines)-1 != rows {
			t.Fatalf("output has %d rows, want %d", len(lines)-1, rows)
		}
		logs, _, _ := st.ListLogs(bg, store.LogFilter{RunID: run.ID, Oldest: true})
		var text []string
		for _, l := range logs {
			text = append(text, l.Message)
		}
		joined := strings.Join(text, "\n")
		for _, want := range []string{"stopped sending heartbeats", "resuming from the last checkpoint", "run succeeded"} {
			if !strings.Contains(joined, want) {
				t.Errorf("run log lacks %q:\n%s", want, joined)
			}
		}
	})
}

// committedRecords is how many records the destination had committed at the run's checkpoint.
func committedRecords(t *testing.T, r store.Run, dest string) int64 {
	t.Helper()
	var cp engine.Checkpoint
	if err := json.Unmarshal(r.Checkpoint, &cp); err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Records int64 `json:"records"`
	}
	if err := json.Unmarshal(cp.Destinations[dest], &tok); err != nil {
		t.Fatalf("destination token %s: %v", cp.Destinations[dest], err)
	}
	return tok.Records
}

// sourceOut is the rows the source node emitted according to the run's stored counters.
func sourceOut(t *testing.T, r store.Run) int64 {
	t.Helper()
	if len(r.NodeStats) == 0 {
		return 0
	}
	var list []engine.NodeStats
	if err := json.Unmarshal(r.NodeStats, &list); err != nil {
		t.Fatal(err)
	}
	for _, n := range list {
		if n.Kind == "source" {
			return n.Out
		}
	}
	return 0
}
