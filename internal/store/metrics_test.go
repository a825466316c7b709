package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/store"
)

func testMetrics(t *testing.T, s *store.Store, _ *clock) {
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(d, h, m, sec int) time.Time {
		return day.Add(time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second)
	}
	// Two batches: the second adds to buckets the first wrote.
	first := store.MetricBatch{Points: []store.MetricPoint{
		{PipelineID: "a", Bucket: at(0, 0, 0, 5), RowsIn: 10, RowsOut: 8, StreamLag: 7},
		{PipelineID: "a", Bucket: at(0, 0, 0, 50), RowsIn: 5, RowsOut: 5, StreamLag: 3}, // same minute, merged
		{PipelineID: "a", Bucket: at(0, 0, 1, 0), RowsIn: 1, RowsOut: 1},
		{PipelineID: "a", Bucket: at(0, 1, 30, 0), RowsIn: 100, RowsOut: 90, RunsSucceeded: 1, DurationMsSum: 4000, DurationCount: 1},
		{PipelineID: "b", Bucket: at(0, 0, 0, 0), RowsIn: 2, RowsOut: 2},
		{PipelineID: "b", Bucket: at(1, 0, 0, 0), RowsIn: 1000, RowsOut: 1000, RunsFailed: 1, DurationMsSum: 1000, DurationCount: 1},
	}, Nodes: []store.MetricNodePoint{
		{PipelineID: "a", Node: "src", Bucket: at(0, 0, 0, 1), RowsIn: 15, Bytes: 300},
		{PipelineID: "a", Node: "out", Bucket: at(0, 0, 0, 1), RowsIn: 13, RowsOut: 13},
	}}
	second := store.MetricBatch{Points: []store.MetricPoint{
		{PipelineID: "a", Bucket: at(0, 0, 0, 30), RowsIn: 1, RowsOut: 1, StreamLag: 9},
		{PipelineID: "a", Bucket: at(0, 1, 59, 0), RunsSucceeded: 1, DurationMsSum: 2000, DurationCount: 1},
	}, Nodes: []store.MetricNodePoint{{PipelineID: "a", Node: "src", Bucket: at(0, 0, 0, 59), RowsIn: 1, Bytes: 20}}}
	if err := s.AddMetrics(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMetrics(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMetrics(ctx, store.MetricBatch{Points: []store.MetricPoint{{Bucket: day, RowsIn: 1}}}); err == nil {
		t.Fatal("a point without a pipeline id was accepted")
	}

	type pt struct {
		P string
		T time.Time
		V float64
	}
	series := func(q store.MetricSeriesQuery) []pt {
		t.Helper()
		vs := must(s.MetricSeries(ctx, q))(t)
		out := make([]pt, len(vs))
		for i, v := range vs {
			out[i] = pt{v.PipelineID, v.Bucket, v.Value}
		}
		return out
	}
	all := func(col store.MetricColumn, step int64) store.MetricSeriesQuery {
		return store.MetricSeriesQuery{Column: col, Step: step, From: day, To: day.Add(3 * 24 * time.Hour)}
	}
	cases := []struct {
		name string
		q    store.MetricSeriesQuery
		want []pt
	}{
		{"rows_in 1m, all pipelines", all(store.MetricRowsIn, 60), []pt{
			{"", at(0, 0, 0, 0), 18}, {"", at(0, 0, 1, 0), 1}, {"", at(0, 1, 30, 0), 100}, {"", at(0, 1, 59, 0), 0}, {"", at(1, 0, 0, 0), 1000}}},
		{"rows_in 1h", all(store.MetricRowsIn, 3600), []pt{{"", at(0, 0, 0, 0), 19}, {"", at(0, 1, 0, 0), 100}, {"", at(1, 0, 0, 0), 1000}}},
		{"rows_in 1d", all(store.MetricRowsIn, 86400), []pt{{"", at(0, 0, 0, 0), 119}, {"", at(1, 0, 0, 0), 1000}}},
		{"stream lag keeps the largest", all(store.MetricStreamLag, 3600), []pt{{"", at(0, 0, 0, 0), 9}, {"", at(0, 1, 0, 0), 0}, {"", at(1, 0, 0, 0), 0}}},
		{"mean duration only where runs finished", all(store.MetricDurationAvg, 3600), []pt{{"", at(0, 1, 0, 0), 3000}, {"", at(1, 0, 0, 0), 1000}}},
		{"mean duration 1d", all(store.MetricDurationAvg, 86400), []pt{{"", at(0, 0, 0, 0), 3000}, {"", at(1, 0, 0, 0), 1000}}},
		{"one pipeline", store.MetricSeriesQuery{Column: store.MetricRowsOut, Step: 86400, From: day, To: day.Add(72 * time.Hour), PipelineIDs: []string{"b"}},
			[]pt{{"", at(0, 0, 0, 0), 2}, {"", at(1, 0, 0, 0), 1000}}},
		{"per pipeline", store.MetricSeriesQuery{Column: store.MetricRowsOut, Step: 86400, From: day, To: day.Add(72 * time.Hour), PerPipeline: true},
			[]pt{{"a", at(0, 0, 0, 0), 105}, {"b", at(0, 0, 0, 0), 2}, {"b", at(1, 0, 0, 0), 1000}}},
		{"range is [from, to)", store.MetricSeriesQuery{Column: store.MetricRowsIn, Step: 60, From: at(0, 0, 1, 0), To: at(0, 1, 30, 0)},
			[]pt{{"", at(0, 0, 1, 0), 1}}},
		{"a to inside a bucket keeps that bucket", store.MetricSeriesQuery{Column: store.MetricRowsIn, Step: 60, From: at(0, 0, 1, 0), To: at(0, 1, 30, 0).Add(100 * time.Millisecond)},
			[]pt{{"", at(0, 0, 1, 0), 1}, {"", at(0, 1, 30, 0), 100}}},
		{"a node", store.MetricSeriesQuery{Column: store.MetricBytes, Step: 3600, From: day, To: day.Add(time.Hour), PipelineIDs: []string{"a"}, Node: "src"},
			[]pt{{"", at(0, 0, 0, 0), 320}}},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, series(tc.q)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	// Every bucket size holds the same totals (the rollup is exact).
	for _, col := range []store.MetricColumn{store.MetricRowsIn, store.MetricRowsOut, store.MetricRunsSucceeded} {
		var sums []float64
		for _, step := range store.MetricSteps {
			sum := 0.0
			for _, p := range series(all(col, step)) {
				sum += p.V
			}
			sums = append(sums, sum)
		}
		if sums[0] != sums[1] || sums[1] != sums[2] {
			t.Errorf("%s totals per step 1m/1h/1d = %v, want equal", col, sums)
		}
	}
	top := must(s.MetricTopPipelines(ctx, all(store.MetricRowsOut, 3600), 1))(t)
	if diff := cmp.Diff([]store.MetricTotal{{PipelineID: "b", Total: 1002}}, top); diff != "" {
		t.Errorf("top pipelines (-want +got):\n%s", diff)
	}
	if _, err := s.MetricSeries(ctx, store.MetricSeriesQuery{Column: "nope", Step: 60, From: day, To: day.Add(time.Hour)}); err == nil {
		t.Error("an unknown column was accepted")
	}
	if _, err := s.MetricSeries(ctx, store.MetricSeriesQuery{Column: store.MetricRowsIn, Step: 120, From: day, To: day.Add(time.Hour)}); err == nil {
		t.Error("a step of 120 s was accepted")
	}
	sums := must(s.SumMetrics(ctx, 3600, day, day.Add(72*time.Hour)))(t)
	if sums != (store.MetricSums{RowsIn: 1119, RowsOut: 1107}) {
		t.Errorf("sums = %+v", sums)
	}
	// A range ending a moment into a minute sums that minute (the run that just ended).
	if sums := must(s.SumMetrics(ctx, 60, at(0, 1, 0, 0), at(0, 1, 30, 0).Add(time.Millisecond)))(t); sums != (store.MetricSums{RowsIn: 100, RowsOut: 90}) {
		t.Errorf("sums up to a moment into 01:30 = %+v", sums)
	}

	// Retention per bucket size: the 1-minute points of the first day go, the hours and days stay.
	cutoff := at(1, 0, 0, 0)
	n := 0
	for {
		k := must(s.DeleteMetricPointsBefore(ctx, 60, cutoff, 2))(t)
		n += k
		if k < 2 {
			break
		}
	}
	if n != 7 { // 5 minute points of a and b on day 0, 2 node points
		t.Errorf("deleted %d 1-minute points, want 7", n)
	}
	if got := series(all(store.MetricRowsIn, 60)); len(got) != 1 || got[0].T != cutoff {
		t.Errorf("1-minute points after retention: %v", got)
	}
	if got := series(all(store.MetricRowsIn, 3600)); len(got) != 3 {
		t.Errorf("1-hour points after the 1-minute retention: %v", got)
	}
	if k := must(s.DeleteMetricPointsBefore(ctx, 3600, cutoff, 100))(t); k != 5 {
		t.Errorf("deleted %d 1-hour points, want 5 (a 00h, a 01h, b 00h and two node hours)", k)
	}
	if got := series(all(store.MetricRowsIn, 86400)); len(got) != 2 {
		t.Errorf("1-day points after the other retentions: %v", got)
	}
}

func testMetricRuns(t *testing.T, s *store.Store, _ *clock) {
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ms := func(v int64) *int64 { return &v }
	var runs []store.MetricRun
	// Pipeline a: 20 runs lasting 100, 200, ... 2000 ms, every fourth failed; one cancelled before it started.
	for i := 1; i <= 20; i++ {
		st := base.Add(time.Duration(i) * time.Minute)
		status := store.RunSucceeded
		if i%4 == 0 {
			status = store.RunFailed
		}
		runs = append(runs, store.MetricRun{RunID: "a" + string(rune('a'+i)), PipelineID: "a", Status: status, StartedAt: &st,
			FinishedAt: st.Add(time.Duration(i) * 100 * time.Millisecond), DurationMs: ms(int64(i) * 100), RowsOut: 10})
	}
	runs = append(runs, store.MetricRun{RunID: "a-cancelled", PipelineID: "a", Status: store.RunCancelled, FinishedAt: base.Add(30 * time.Minute)})
	bStart := base.Add(time.Hour)
	runs = append(runs, store.MetricRun{RunID: "b1", PipelineID: "b", Status: store.RunFailed, StartedAt: &bStart, FinishedAt: bStart.Add(time.Second), DurationMs: ms(1000)})
	if err := s.AddMetrics(ctx, store.MetricBatch{Runs: runs}); err != nil {
		t.Fatal(err)
	}
	// Recording a run again replaces its row.
	if err := s.AddMetrics(ctx, store.MetricBatch{Runs: []store.MetricRun{runs[len(runs)-1]}}); err != nil {
		t.Fatal(err)
	}
	figs := must(s.PipelineRunFigures(ctx, base, base.Add(2*time.Hour)))(t)
	mean := 1050.0
	want := map[string]store.PipelineRunFigures{
		"a": {PipelineID: "a", Runs: 21, Succeeded: 15, Failed: 5, MeanDurationMs: &mean, P95DurationMs: ms(1900), RowsOut: 200},
		"b": {PipelineID: "b", Runs: 1, Failed: 1, MeanDurationMs: ptrF(1000), P95DurationMs: ms(1000)},
	}
	if diff := cmp.Diff(want, figs); diff != "" {
		t.Errorf("run figures (-want +got):\n%s", diff)
	}
	// A window holding only the first 10 runs of a: p95 of 100..1000 is 1000 (rank 10 of 10).
	figs = must(s.PipelineRunFigures(ctx, base, base.Add(10*time.Minute+time.Second*2)))(t)
	if f := figs["a"]; f.Runs != 10 || f.P95DurationMs == nil || *f.P95DurationMs != 1000 {
		t.Errorf("first ten runs: %+v", f)
	}
	last := must(s.LastRuns(ctx))(t)
	if l := last["a"]; l.LastStatus != store.RunCancelled || !l.LastRunAt.Equal(base.Add(30*time.Minute)) ||
		l.LastSuccessAt == nil || !l.LastSuccessAt.Equal(base.Add(19*time.Minute+1900*time.Millisecond)) {
		t.Errorf("last runs of a: %+v", l)
	}
	if l := last["b"]; l.LastStatus != store.RunFailed || l.LastSuccessAt != nil {
		t.Errorf("last runs of b: %+v", l)
	}
	if n := must(s.DeleteMetricRunsBefore(ctx, base.Add(10*time.Minute+time.Second*2), 1000))(t); n != 10 {
		t.Errorf("deleted %d run figures, want 10", n)
	}
	if f := must(s.PipelineRunFigures(ctx, base, base.Add(2*time.Hour)))(t)["a"]; f.Runs != 11 {
		t.Errorf("runs of a after retention: %d, want 11", f.Runs)
	}
}

func ptrF(v float64) *float64 { return &v }
