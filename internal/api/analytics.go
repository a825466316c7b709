package api

import (
	"context"
	"errors"
	"time"

	analytics "github.com/dataaggregator/aggregator/internal/metrics"
)

// Analytics: the metrics history as time series, per-pipeline figures and the summary
// (docs/metrics.md). Decode, call internal/metrics, respond; a bad parameter is a 422 naming it
// (query.<name>).

type analyticsRange struct {
	From       time.Time `query:"from" doc:"Start (RFC 3339; default: 24 hours before to)"`
	To         time.Time `query:"to" doc:"End, exclusive (RFC 3339; default: now)"`
	PipelineID string    `query:"pipeline_id" maxLength:"64" doc:"Only this pipeline"`
}

func (r analyticsRange) rng() analytics.Range { return analytics.Range{From: r.From, To: r.To} }

type timeseriesInput struct {
	From       time.Time `query:"from" doc:"Start (RFC 3339; default: 24 hours before to)"`
	To         time.Time `query:"to" doc:"End, exclusive (RFC 3339; default: now)"`
	PipelineID string    `query:"pipeline_id" maxLength:"64" doc:"Only this pipeline"`
	Metric     string    `query:"metric" required:"true" doc:"rows_in, rows_out, rows_rejected, bytes, runs_started, runs_succeeded, runs_failed, duration_ms_avg, rows_per_second, dead_letters or stream_lag"`
	Step       string    `query:"step" doc:"1m, 1h, 1d or auto (default): auto picks the finest with at most 1,500 points; an explicit step giving more than 10,000 points is refused"`
	GroupBy    string    `query:"group_by" doc:"pipeline: one series per pipeline (the limit largest by total); empty: one series over all pipelines"`
	Limit      int       `query:"limit" doc:"Series with group_by=pipeline (1 to 100, default 10)"`
	Node       string    `query:"node" maxLength:"128" doc:"With pipeline_id: one node's counts (rows_in, rows_out, rows_rejected, bytes, rows_per_second)"`
}

// TimeseriesPoint is one bucket: its start and value.
type TimeseriesPoint struct {
	T     time.Time `json:"t"`
	Value float64   `json:"value"`
}

// TimeseriesSeries is the points of one pipeline, or of all pipelines (pipeline_id "").
type TimeseriesSeries struct {
	PipelineID   string            `json:"pipeline_id"`
	PipelineName string            `json:"pipeline_name"`
	Points       []TimeseriesPoint `json:"points" nullable:"false" doc:"Buckets with data, in time order (empty buckets are left out)"`
}

// Timeseries is a metric over time.
type Timeseries struct {
	Metric string             `json:"metric"`
	Step   string             `json:"step" doc:"The bucket size used: 1m, 1h or 1d"`
	From   time.Time          `json:"from"`
	To     time.Time          `json:"to"`
	Series []TimeseriesSeries `json:"series" nullable:"false"`
}

func (s *Server) analyticsTimeseries(ctx context.Context, in *timeseriesInput) (*struct{ Body Timeseries }, error) {
	res, err := s.analytics.Timeseries(ctx, analytics.SeriesQuery{Metric: in.Metric, Range: analytics.Range{From: in.From, To: in.To}, Step: in.Step,
		PipelineID: in.PipelineID, Node: in.Node, GroupBy: in.GroupBy, Limit: in.Limit})
	if err != nil {
		return nil, analyticsError(err)
	}
	out := Timeseries{Metric: res.Metric, Step: res.Step, From: res.From, To: res.To, Series: make([]TimeseriesSeries, len(res.Series))}
	for i, sr := range res.Series {
		pts := make([]TimeseriesPoint, len(sr.Points))
		for j, p := range sr.Points {
			pts[j] = TimeseriesPoint{T: p.T, Value: p.Value}
		}
		out.Series[i] = TimeseriesSeries{PipelineID: sr.PipelineID, PipelineName: sr.PipelineName, Points: pts}
	}
	return &struct{ Body Timeseries }{Body: out}, nil
}

// PipelineAnalytics are one pipeline's figures over the time range, with its freshness now.
type PipelineAnalytics struct {
	PipelineID              string     `json:"pipeline_id"`
	PipelineName            string     `json:"pipeline_name"`
	Runs                    int64      `json:"runs" doc:"Runs that finished in the range (succeeded, failed, cancelled)"`
	Succeeded               int64      `json:"succeeded"`
	Failed                  int64      `json:"failed"`
	SuccessRate             *float64   `json:"success_rate" doc:"succeeded / (succeeded + failed), 0 to 1; null when neither"`
	MeanDurationMs          *float64   `json:"mean_duration_ms" doc:"Mean duration of the runs that started and finished in the range; null when none"`
	P95DurationMs           *int64     `json:"p95_duration_ms" doc:"95th percentile (nearest rank) of those durations; null when none"`
	RowsOut                 int64      `json:"rows_out" doc:"Rows written by the runs that finished in the range"`
	LastRunAt               *time.Time `json:"last_run_at" doc:"When its latest run finished (any time)"`
	LastSuccessAt           *time.Time `json:"last_success_at" doc:"When its latest successful run finished (any time)"`
	LastStatus              string     `json:"last_status" doc:"Status of its latest finished run (empty: none)"`
	FreshnessSeconds        *float64   `json:"freshness_seconds" doc:"Seconds since last_success_at; null if it never succeeded"`
	ExpectedIntervalSeconds *float64   `json:"expected_interval_seconds" doc:"Longest gap between the next firings of its enabled schedule; null without one"`
	Stale                   bool       `json:"stale" doc:"Scheduled and no success for more than twice the expected interval (since it was created, if it never succeeded)"`
}

// PipelinesAnalytics are the figures of every pipeline, by name.
type PipelinesAnalytics struct {
	From  time.Time           `json:"from"`
	To    time.Time           `json:"to"`
	Items []PipelineAnalytics `json:"items" nullable:"false"`
}

func (s *Server) analyticsPipelines(ctx context.Context, in *analyticsRange) (*struct{ Body PipelinesAnalytics }, error) {
	res, err := s.analytics.Pipelines(ctx, in.rng(), in.PipelineID)
	if err != nil {
		return nil, analyticsError(err)
	}
	out := PipelinesAnalytics{From: res.From, To: res.To, Items: make([]PipelineAnalytics, len(res.Items))}
	for i, p := range res.Items {
		out.Items[i] = PipelineAnalytics{PipelineID: p.PipelineID, PipelineName: p.PipelineName, Runs: p.Runs, Succeeded: p.Succeeded,
			Failed: p.Failed, SuccessRate: p.SuccessRate, MeanDurationMs: p.MeanDurationMs, P95DurationMs: p.P95DurationMs, RowsOut: p.RowsOut,
			LastRunAt: p.LastRunAt, LastSuccessAt: p.LastSuccessAt, LastStatus: p.LastStatus, FreshnessSeconds: p.FreshnessSeconds,
			ExpectedIntervalSeconds: p.ExpectedIntervalSeconds, Stale: p.Stale}
	}
	return &struct{ Body PipelinesAnalytics }{Body: out}, nil
}

// WorkerCounts are the worker processes up (a recent heartbeat) and down (none within the lease).
type WorkerCounts struct {
	Up   int64 `json:"up"`
	Down int64 `json:"down"`
}

// AnalyticsSummary is the platform at a glance.
type AnalyticsSummary struct {
	From             time.Time        `json:"from"`
	To               time.Time        `json:"to"`
	RunsByStatus     map[string]int64 `json:"runs_by_status" doc:"Runs created in the range, by status (every status present)"`
	RunningNow       int64            `json:"running_now"`
	RowsOut          int64            `json:"rows_out"`
	RowsRejected     int64            `json:"rows_rejected"`
	DeadLetters      int64            `json:"dead_letters"`
	DeadLetterRate   float64          `json:"dead_letter_rate" doc:"dead_letters / rows read in the range (0 when none read)"`
	FailingPipelines int64            `json:"failing_pipelines" doc:"Pipelines whose latest run failed"`
	StalePipelines   int64            `json:"stale_pipelines"`
	Workers          WorkerCounts     `json:"workers"`
	QueueDepth       int64            `json:"queue_depth" doc:"Jobs waiting in the queue"`
	MaxStreamLag     int64            `json:"max_stream_lag" doc:"Largest stream lag reported in the last 5 minutes (0 without streams)"`
}

func (s *Server) analyticsSummary(ctx context.Context, in *analyticsRange) (*struct{ Body AnalyticsSummary }, error) {
	sum, err := s.analytics.Summary(ctx, in.rng(), in.PipelineID)
	if err != nil {
		return nil, analyticsError(err)
	}
	return &struct{ Body AnalyticsSummary }{Body: AnalyticsSummary{From: sum.From, To: sum.To, RunsByStatus: sum.RunsByStatus,
		RunningNow: sum.RunningNow, RowsOut: sum.RowsOut, RowsRejected: sum.RowsRejected, DeadLetters: sum.DeadLetters,
		DeadLetterRate: sum.DeadLetterRate, FailingPipelines: sum.FailingPipelines, StalePipelines: sum.StalePipelines,
		Workers: WorkerCounts{Up: sum.WorkersUp, Down: sum.WorkersDown}, QueueDepth: sum.QueueDepth, MaxStreamLag: sum.MaxStreamLag}}, nil
}

// analyticsError turns a bad query parameter into a 422 naming it.
func analyticsError(err error) error {
	var fe *analytics.FieldError
	if errors.As(err, &fe) {
		return invalid("query."+fe.Field, fe.Message, nil)
	}
	return err
}
