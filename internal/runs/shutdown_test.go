package runs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// TestShutdownRequeuesAndResumes stops a dispatcher while a run hangs mid-way: after the drain
// timeout the run is interrupted, its staged output kept and its status back to queued; the next
// dispatcher resumes it from its checkpoint and the output holds every row exactly once.
func TestShutdownRequeuesAndResumes(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		const rows = 600
		st := openStore(t, b)
		dir := t.TempDir()
		writeCSV(t, dir, "in.csv", rows)
		e := &env{t: t, st: st}
		p := e.createPipeline("shutdown", resumeSpec)

		first := newService(t, st, dir, newGated(200))
		disp, err := runs.NewRiver(first, runs.RiverOptions{Workers: 1, FetchPoll: 50 * time.Millisecond, DrainTimeout: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		events, stop := first.Broker().Subscribe(forPipeline(p.ID), 1024)
		defer stop()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- disp.Run(ctx) }()
		run, err := first.Start(bg, p.ID, 0, "manual", runs.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		// Rows flow, the reader hangs at 200; then shut down.
		await(t, events, "progress", func(ev runs.Event) bool { return ev.Type == runs.EventProgress && ev.Progress.RowsRead >= 200 })
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got, _ := st.GetRun(bg, run.ID)
		if got.Status != store.RunQueued || len(got.Checkpoint) == 0 || got.Attempt != 1 {
			t.Fatalf("after shutdown: %+v", got)
		}
		staged, _ := filepath.Glob(filepath.Join(dir, ".out.csv.*"))
		if len(staged) == 0 {
			t.Fatalf("the interrupted run's staged output was discarded")
		}
		if _, err := os.Stat(filepath.Join(dir, "out.csv")); !os.IsNotExist(err) {
			t.Fatalf("out.csv exists before the run finished: %v", err)
		}

		// The next start resumes it.
		e2 := setupOn(t, st, setupOptions{dir: dir})
		sub, stop2 := e2.svc.Broker().Subscribe(forPipeline(p.ID), 1024)
		defer stop2()
		if cur, _ := st.GetRun(bg, run.ID); !cur.Status.Terminal() {
			if ev := await(t, sub, "terminal", terminal); ev.Status != store.RunSucceeded {
				t.Fatalf("resumed run ended %s: %s", ev.Status, ev.Error)
			}
		}
		final, _ := st.GetRun(bg, run.ID)
		if final.Status != store.RunSucceeded || final.Attempt != 2 {
			t.Fatalf("final run = %+v", final)
		}
		if read := e2.gate.emitted.Load(); read >= rows {
			t.Errorf("the resumed run read %d rows: it started over", read)
		}
		data, err := os.ReadFile(filepath.Join(dir, "out.csv"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != rows+1 {
			t.Fatalf("out.csv has %d data rows, want %d", len(lines)-1, rows)
		}
		seen := map[string]bool{}
		for _, l := range lines[1:] {
			id := strings.SplitN(l, ",", 2)[0]
			if seen[id] {
				t.Fatalf("id %s written twice", id)
			}
			seen[id] = true
		}
	})
}

func newService(t *testing.T, st *store.Store, dir string, gate gatedCSV) *runs.Service {
	t.Helper()
	conns, err := connector.NewRegistry(csv.New(), gate)
	if err != nil {
		t.Fatal(err)
	}
	trs, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := runs.New(runs.Options{Store: st, Connectors: conns, Transforms: trs,
		Env:       connector.Env{FileRoots: []string{dir}},
		BatchSize: 50, CommitRows: 100, ProgressInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}
