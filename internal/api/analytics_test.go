package api

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/runs"
)

// runAndRecord starts a run of pipelineID, waits for its final event on the bus (the recorder
// sees every event before the bus does) and flushes the recorder.
func (e *env) runAndRecord(pipelineID string) Run {
	e.t.Helper()
	events, stop := e.data.runs.Events().Subscribe(func(ev runs.Event) bool {
		return ev.PipelineID == pipelineID && ev.Ends()
	}, 16)
	defer stop()
	var run Run
	r := e.do(http.MethodPost, "/api/v1/pipelines/"+pipelineID+"/run", e.tokens[auth.RoleDesigner], nil)
	if r.status != http.StatusCreated && r.status != http.StatusAccepted && r.status != http.StatusOK {
		e.t.Fatalf("start run: %d %s", r.status, r.body)
	}
	r.decode(e.t, &run)
	select {
	case <-events:
	case <-time.After(60 * time.Second):
		e.t.Fatalf("run %s did not end within 60s", run.ID)
	}
	if err := e.data.rec.Flush(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	return e.awaitRun(run.ID)
}

func TestAnalyticsOfARun(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := setup(t, setupOptions{postgres: backend == "postgres"})
			p := e.fixtureScheduledPipeline("*/5 * * * *")
			idle := e.fixturePipeline() // no runs: every figure empty
			run := e.runAndRecord(p.ID)
			if run.Status != "succeeded" {
				t.Fatalf("run = %+v", run)
			}
			exec := e.tokens[auth.RoleExecutive]

			// The run's counts, once each, in the series of the pipeline and of all pipelines.
			total := func(q string) (float64, Timeseries) {
				t.Helper()
				r := e.do(http.MethodGet, "/api/v1/analytics/timeseries?"+q, exec, nil)
				if r.status != http.StatusOK {
					t.Fatalf("timeseries %s: %d %s", q, r.status, r.body)
				}
				var ts Timeseries
				r.decode(t, &ts)
				sum := 0.0
				for _, s := range ts.Series {
					for _, pt := range s.Points {
						sum += pt.Value
					}
				}
				return sum, ts
			}
			for _, tc := range []struct {
				query string
				want  float64
			}{
				{"metric=rows_in", 7}, // 5 rows and 2 broken lines read
				{"metric=rows_out&pipeline_id=" + p.ID, 3},
				{"metric=rows_rejected&step=1h", 2},
				{"metric=dead_letters&step=1d", 2},
				{"metric=runs_started", 1},
				{"metric=runs_succeeded&group_by=pipeline", 1},
				{"metric=runs_failed", 0},
				{"metric=rows_in&pipeline_id=" + p.ID + "&node=orders", 7},
				{"metric=rows_out&pipeline_id=" + p.ID + "&node=out", 3},
				{"metric=rows_out&pipeline_id=" + idle.ID, 0},
			} {
				if got, ts := total(tc.query); got != tc.want {
					t.Errorf("%s: total %v, want %v (%+v)", tc.query, got, tc.want, ts)
				}
			}
			if _, ts := total("metric=rows_out"); ts.Step != "1m" || len(ts.Series) != 1 || ts.Series[0].PipelineName != "All pipelines" ||
				ts.To.Sub(ts.From) != 24*time.Hour {
				t.Errorf("default query: %+v", ts)
			}
			if _, ts := total("metric=rows_out&group_by=pipeline"); len(ts.Series) != 1 || ts.Series[0].PipelineID != p.ID || ts.Series[0].PipelineName != p.Name {
				t.Errorf("group_by=pipeline: %+v", ts)
			}
			// Over 40 days auto picks hours (960 points), over 70 days days; rows per second is rows read / bucket seconds.
			for _, tc := range []struct {
				days int
				step string
				secs float64
			}{{40, "1h", 3600}, {70, "1d", 86400}} {
				from := url.QueryEscape(time.Now().Add(-time.Duration(tc.days) * 24 * time.Hour).UTC().Format(time.RFC3339))
				if got, ts := total("metric=rows_per_second&from=" + from); ts.Step != tc.step || math.Abs(got-7/tc.secs) > 1e-12 {
					t.Errorf("rows_per_second over %d days: step %s, total %v, want %s and %v", tc.days, ts.Step, got, tc.step, 7/tc.secs)
				}
			}
			if got, _ := total("metric=duration_ms_avg"); got < 0 || got > float64(60*time.Second/time.Millisecond) {
				t.Errorf("mean duration %v ms", got)
			}

			// Pipeline figures.
			r := e.do(http.MethodGet, "/api/v1/analytics/pipelines", e.tokens[auth.RoleViewer], nil)
			if r.status != http.StatusOK {
				t.Fatalf("pipelines: %d %s", r.status, r.body)
			}
			var pa PipelinesAnalytics
			r.decode(t, &pa)
			byID := map[string]PipelineAnalytics{}
			for _, it := range pa.Items {
				byID[it.PipelineID] = it
			}
			got := byID[p.ID]
			if got.Runs != 1 || got.Succeeded != 1 || got.SuccessRate == nil || *got.SuccessRate != 1 || got.P95DurationMs == nil ||
				got.MeanDurationMs == nil || float64(*got.P95DurationMs) != *got.MeanDurationMs || got.RowsOut != 3 ||
				got.LastStatus != "succeeded" || got.LastSuccessAt == nil || got.FreshnessSeconds == nil || *got.FreshnessSeconds > 60 ||
				got.ExpectedIntervalSeconds == nil || *got.ExpectedIntervalSeconds != 300 || got.Stale {
				t.Errorf("figures of the run pipeline: %s", r.body)
			}
			if it, ok := byID[idle.ID]; !ok || it.Runs != 0 || it.SuccessRate != nil || it.P95DurationMs != nil || it.FreshnessSeconds != nil ||
				it.ExpectedIntervalSeconds != nil || it.Stale {
				t.Errorf("figures of the idle pipeline: %+v", it)
			}

			// Summary.
			r = e.do(http.MethodGet, "/api/v1/analytics/summary", e.tokens[auth.RoleExecutor], nil)
			if r.status != http.StatusOK {
				t.Fatalf("summary: %d %s", r.status, r.body)
			}
			var sum AnalyticsSummary
			r.decode(t, &sum)
			if sum.RunsByStatus["succeeded"] != 1 || sum.RunsByStatus["failed"] != 0 || len(sum.RunsByStatus) != 5 ||
				sum.RowsOut != 3 || sum.RowsRejected != 2 || sum.DeadLetters != 2 || sum.DeadLetterRate != 2.0/7 ||
				sum.FailingPipelines != 0 || sum.StalePipelines != 0 || sum.MaxStreamLag != 0 {
				t.Errorf("summary: %s", r.body)
			}
		})
	}
}

func TestAnalyticsBadInput(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	now := time.Now().UTC()
	ts := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339)) }
	cases := []struct {
		name, path, field, detail string
	}{
		{"unknown metric", "/api/v1/analytics/timeseries?metric=rows_sideways", "query.metric", "unknown metric"},
		{"no metric", "/api/v1/analytics/timeseries", "query.metric", ""},
		{"from after to", "/api/v1/analytics/timeseries?metric=rows_in&from=" + ts(now) + "&to=" + ts(now.Add(-time.Hour)), "query.from", "must be before to"},
		{"from equals to", "/api/v1/analytics/pipelines?from=" + ts(now) + "&to=" + ts(now), "query.from", "must be before to"},
		{"step too fine", "/api/v1/analytics/timeseries?metric=rows_in&step=1m&from=" + ts(now.Add(-30*24*time.Hour)), "query.step", "more than 10000"},
		{"unknown step", "/api/v1/analytics/timeseries?metric=rows_in&step=5m", "query.step", "unknown step"},
		{"unknown grouping", "/api/v1/analytics/timeseries?metric=rows_in&group_by=node", "query.group_by", "unknown grouping"},
		{"limit too large", "/api/v1/analytics/timeseries?metric=rows_in&group_by=pipeline&limit=500", "query.limit", "1 to 100"},
		{"node without pipeline", "/api/v1/analytics/timeseries?metric=rows_in&node=orders", "query.node", "needs pipeline_id"},
		{"not a time", "/api/v1/analytics/summary?from=yesterday", "query.from", ""},
		{"range too long", "/api/v1/analytics/summary?from=1990-01-01T00:00:00Z", "query.from", "3650 days"},
	}
	for _, tc := range cases {
		r := e.do(http.MethodGet, tc.path, e.tokens[auth.RoleViewer], nil)
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422: %s", tc.name, r.status, r.body)
			continue
		}
		p := r.problem(t)
		found := false
		for _, d := range p.Errors {
			if d.Location == tc.field {
				found = true
			}
		}
		if !found || !strings.Contains(string(r.body), tc.detail) {
			t.Errorf("%s: want an error at %s mentioning %q: %s", tc.name, tc.field, tc.detail, r.body)
		}
	}
	// An explicit step is accepted up to 10,000 points per series.
	if r := e.do(http.MethodGet, "/api/v1/analytics/timeseries?metric=rows_in&step=1m&from="+ts(now.Add(-6*24*time.Hour)), e.tokens[auth.RoleViewer], nil); r.status != http.StatusOK {
		t.Errorf("6 days of 1m: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/api/v1/analytics/pipelines?pipeline_id=nope", e.tokens[auth.RoleViewer], nil); r.status != http.StatusNotFound {
		t.Errorf("unknown pipeline: %d %s", r.status, r.body)
	}
}
