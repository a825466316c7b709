package runs_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/pipelines"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// specNamed is cleanSpec named name, writing out-<name>.csv.
func specNamed(name string) string {
	s := strings.Replace(cleanSpec, "name: orders", "name: "+name, 1)
	return strings.Replace(s, "path: out.csv", "path: out-"+name+".csv", 1)
}

// merge forwards the events of several subscriptions to one channel until stop is called.
func merge(chs ...<-chan runs.Event) <-chan runs.Event {
	out := make(chan runs.Event, 4096)
	for _, ch := range chs {
		go func() {
			for ev := range ch {
				out <- ev
			}
		}()
	}
	return out
}

// TestDependencyRunsOncePerSuccess: two queue clients (two services over two connection pools, as
// two worker processes) work the runs of an upstream pipeline on one PostgreSQL store; every
// success starts exactly one run of each pipeline that runs after it, with trigger "dependency" and
// a detail naming the upstream run. A failed upstream run starts nothing.
func TestDependencyRunsOncePerSuccess(t *testing.T) {
	pg := testutil.Postgres(t)
	b := backend{dialect: store.Postgres, dsn: pg.URL}
	dir := t.TempDir()
	writeCSV(t, dir, "in.csv", 30)
	e1 := setupOn(t, openStore(t, b), setupOptions{dir: dir})
	e2 := setupOn(t, openStore(t, b), setupOptions{dir: dir})

	up := e1.createPipeline("up", specNamed("up"))
	var downs []store.Pipeline
	for _, name := range []string{"down-a", "down-b"} {
		p, err := e1.st.CreatePipeline(bg, store.Pipeline{Name: name, Spec: specNamed(name) + "triggers: {after: [UP]}\n", After: []string{"UP"}})
		if err != nil {
			t.Fatal(err)
		}
		downs = append(downs, p)
	}
	ch1, stop1 := e1.svc.Broker().Subscribe(nil, 4096)
	defer stop1()
	ch2, stop2 := e2.svc.Broker().Subscribe(nil, 4096)
	defer stop2()
	events := merge(ch1, ch2)

	const n = 4
	var upRuns []string
	for i := range n {
		svc := e1.svc
		if i%2 == 1 {
			svc = e2.svc
		}
		r, err := svc.Start(bg, up.ID, 0, runs.TriggerManual, runs.Actor{Name: "tester"})
		if err != nil {
			t.Fatal(err)
		}
		upRuns = append(upRuns, r.ID)
	}
	// Every upstream run and every dependency run ends.
	ended := map[string]store.RunStatus{}
	for len(ended) < n+n*len(downs) {
		ev := await(t, events, "terminal", terminal)
		ended[ev.RunID] = ev.Status
	}
	for id, st := range ended {
		if st != store.RunSucceeded {
			r, _ := e1.st.GetRun(bg, id)
			t.Fatalf("run %s of %s ended %s: %s", id, r.PipelineID, st, r.Error)
		}
	}
	for _, d := range downs {
		list, total, err := e1.st.ListRuns(bg, store.RunFilter{PipelineID: d.ID, Page: store.Page{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		if total != n {
			t.Fatalf("pipeline %s has %d runs, want %d (one per successful run of up)", d.Name, total, n)
		}
		var from []string
		for _, r := range list {
			det := runs.DecodeTriggerDetail(r.TriggerDetail)
			if r.Trigger != runs.TriggerDependency || det.UpstreamPipelineID != up.ID || det.UpstreamPipelineName != "up" {
				t.Errorf("run %s of %s: trigger %q detail %+v", r.ID, d.Name, r.Trigger, det)
			}
			from = append(from, det.UpstreamRunID)
		}
		slices.Sort(from)
		want := slices.Clone(upRuns)
		slices.Sort(want)
		if !slices.Equal(from, want) {
			t.Errorf("runs of %s started after %v, want each of %v once", d.Name, from, want)
		}
	}

	// A failed upstream run starts nothing: the source file is gone.
	if err := os.Remove(filepath.Join(dir, "in.csv")); err != nil {
		t.Fatal(err)
	}
	r, err := e1.svc.Start(bg, up.ID, 0, runs.TriggerManual, runs.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	ev := await(t, events, "the failed run", func(ev runs.Event) bool { return ev.RunID == r.ID && terminal(ev) })
	if ev.Status != store.RunFailed {
		t.Fatalf("run without its input ended %s", ev.Status)
	}
	for _, d := range downs {
		if _, total, _ := e1.st.ListRuns(bg, store.RunFilter{PipelineID: d.ID}); total != n {
			t.Errorf("pipeline %s has %d runs after a failed upstream run, want %d", d.Name, total, n)
		}
	}
}

// TestDependencyOfDraftIsNotStarted: a dependent whose current version is a draft is not started;
// the upstream run's log says so.
func TestDependencyOfDraftIsNotStarted(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		e := setup(t, b, setupOptions{})
		writeCSV(t, e.dir, "in.csv", 20)
		up := e.createPipeline("up", specNamed("up"))
		d, err := e.st.CreatePipeline(bg, store.Pipeline{Name: "down", Spec: specNamed("down"), After: []string{"up"},
			Problems: []byte(`[{"path":"sources","message":"broken"}]`)})
		if err != nil {
			t.Fatal(err)
		}
		events, stop := e.svc.Broker().Subscribe(nil, 1024)
		defer stop()
		r, err := e.svc.Start(bg, up.ID, 0, runs.TriggerManual, runs.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		if ev := await(t, events, "terminal", func(ev runs.Event) bool { return ev.RunID == r.ID && terminal(ev) }); ev.Status != store.RunSucceeded {
			t.Fatalf("upstream run ended %s: %s", ev.Status, ev.Error)
		}
		if _, total, _ := e.st.ListRuns(bg, store.RunFilter{PipelineID: d.ID}); total != 0 {
			t.Fatalf("a draft dependent got %d runs", total)
		}
		logs, _, err := e.st.ListLogs(bg, store.LogFilter{RunID: r.ID, Page: store.Page{Limit: 500}})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range logs {
			found = found || strings.Contains(l.Message, "pipeline down runs after this one but was not started: its current version 1 is a draft")
		}
		if !found {
			t.Errorf("the upstream run's log does not say why down was not started")
		}
		// Running the draft itself is refused as before.
		if _, err := e.svc.Start(bg, d.ID, 0, runs.TriggerManual, runs.Actor{}); !errors.As(err, new(*pipelines.DraftError)) {
			t.Errorf("start of a draft: %v", err)
		}
	})
}
