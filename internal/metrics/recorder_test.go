package metrics_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/metrics"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
)

// The recorder counts each run's rows once: deltas of cumulative progress counters (a counter
// that restarts counts from zero), chunk counters, and at the end what the stored final counters
// hold beyond them; lag is the largest sum over instances; one write per flush.
func TestRecorderCountsEachRowOnce(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.Options{Dialect: store.SQLite, DSN: filepath.Join(t.TempDir(), "m.db")})
	p, err := st.CreatePipeline(ctx, store.Pipeline{Name: "p", Spec: "version: 1"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := st.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	if run, err = st.ClaimRun(ctx, run.ID, "w"); err != nil {
		t.Fatal(err)
	}
	final := []engine.NodeStats{{ID: "src", Kind: "source", Out: 90, Rejected: 10, Bytes: 1000}, {ID: "dst", Kind: "destination", In: 90, Out: 90}}
	stats, _ := json.Marshal(final)
	if _, err := st.FinishRun(ctx, run.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{Status: store.RunSucceeded, NodeStats: stats}); err != nil {
		t.Fatal(err)
	}
	rec, err := metrics.NewRecorder(metrics.RecorderOptions{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	ev := func(typ string, at time.Duration) runs.Event {
		return runs.Event{Type: typ, RunID: run.ID, PipelineID: p.ID, Status: store.RunRunning, Time: t0.Add(at)}
	}
	progress := func(at time.Duration, read, written int64) runs.Event {
		e := ev(runs.EventProgress, at)
		e.Progress = &engine.Progress{RowsRead: read, RowsWritten: written, Nodes: []engine.NodeStats{{ID: "src", Kind: "source", Out: read}}}
		return e
	}
	rec.Publish(ev(runs.EventStatus, 0))
	rec.Publish(ev(runs.EventStatus, time.Second)) // running again: started once
	rec.Publish(progress(10*time.Second, 30, 20))
	rec.Publish(progress(70*time.Second, 50, 40))  // +20, +20 in the next minute
	rec.Publish(progress(130*time.Second, 10, 10)) // a new attempt: +10, +10
	inst := ev(runs.EventInstance, 140*time.Second)
	inst.Instance = &runs.InstanceEvent{Idx: 0, Partitions: []runs.PartitionPosition{{Lag: 5}, {Lag: 7}, {Lag: -1}}}
	rec.Publish(inst)
	inst2 := ev(runs.EventInstance, 150*time.Second)
	inst2.Instance = &runs.InstanceEvent{Idx: 1, Partitions: []runs.PartitionPosition{{Lag: 3}}}
	rec.Publish(inst2)
	end := ev(runs.EventStatus, 160*time.Second)
	end.Status = store.RunSucceeded
	rec.Publish(end)
	rec.Publish(end)                               // a repeated end is ignored
	rec.Publish(progress(170*time.Second, 99, 99)) // after the end: ignored
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(ctx); err != nil { // nothing new: no double count
		t.Fatal(err)
	}
	sum := func(col store.MetricColumn) float64 {
		vs, err := st.MetricSeries(ctx, store.MetricSeriesQuery{Column: col, Step: store.MetricStepDay, From: t0.Add(-48 * time.Hour), To: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		for _, v := range vs {
			total = max(total, 0) + v.Value
		}
		return total
	}
	// Counted from events: read 30+20+10 = 60, written 20+20+10 = 50; the final counters add the rest.
	for col, want := range map[store.MetricColumn]float64{store.MetricRowsIn: 100, store.MetricRowsOut: 90, store.MetricRowsRejected: 10,
		store.MetricBytes: 1000, store.MetricRunsStarted: 1, store.MetricRunsSucceeded: 1, store.MetricStreamLag: 15} {
		if got := sum(col); got != want {
			t.Errorf("%s = %v, want %v", col, got, want)
		}
	}
	vs, err := st.MetricSeries(ctx, store.MetricSeriesQuery{Column: store.MetricRowsIn, Step: store.MetricStepMinute, From: t0, To: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 3 || vs[0].Value != 30 || vs[1].Value != 20 {
		t.Errorf("1-minute rows_in = %+v, want 30 then 20 then the rest", vs)
	}
	figs, err := st.PipelineRunFigures(ctx, t0.Add(-48*time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if f := figs[p.ID]; f.Runs != 1 || f.Succeeded != 1 || f.RowsOut != 90 || f.P95DurationMs == nil {
		t.Errorf("run figures = %+v", f)
	}
}

// A run's end is written at once, not at the next tick: the dashboard refetches on the end event
// and must find the run's figures.
func TestRecorderWritesARunsEndAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := storetest.Open(t, store.Options{Dialect: store.SQLite, DSN: filepath.Join(t.TempDir(), "m.db")})
	p, err := st.CreatePipeline(ctx, store.Pipeline{Name: "p", Spec: "version: 1"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := st.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	if run, err = st.ClaimRun(ctx, run.ID, "w"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishRun(ctx, run.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{Status: store.RunFailed, Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	rec, err := metrics.NewRecorder(metrics.RecorderOptions{Store: st, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { rec.Run(ctx); close(done) }()
	now := time.Now().UTC()
	rec.Publish(runs.Event{Type: runs.EventStatus, RunID: run.ID, PipelineID: p.ID, Status: store.RunRunning, Time: now})
	rec.Publish(runs.Event{Type: runs.EventStatus, RunID: run.ID, PipelineID: p.ID, Status: store.RunFailed, Time: now})
	for deadline := time.Now().Add(30 * time.Second); ; {
		figs, err := st.PipelineRunFigures(ctx, now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(figs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run's end was not written within 30 s with an hourly flush (figures %+v)", figs)
		}
		time.Sleep(20 * time.Millisecond) // polling the store for the written figures
	}
	cancel()
	<-done
}
