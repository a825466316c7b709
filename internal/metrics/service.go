package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Store is what the Service reads (*store.Store implements it).
type Store interface {
	MetricSeries(ctx context.Context, q store.MetricSeriesQuery) ([]store.MetricValue, error)
	MetricTopPipelines(ctx context.Context, q store.MetricSeriesQuery, limit int) ([]store.MetricTotal, error)
	SumMetrics(ctx context.Context, step int64, from, to time.Time) (store.MetricSums, error)
	PipelineRunFigures(ctx context.Context, from, to time.Time) (map[string]store.PipelineRunFigures, error)
	LastRuns(ctx context.Context) (map[string]store.LastRuns, error)
	CountRunsByStatus(ctx context.Context, from, to time.Time) (map[store.RunStatus]int64, error)
	CountRunning(ctx context.Context) (int64, error)
	ListPipelines(ctx context.Context, f store.PipelineFilter) ([]store.Pipeline, int, error)
	GetPipeline(ctx context.Context, id string) (store.Pipeline, error)
	ListWorkers(ctx context.Context, since time.Time) ([]store.Worker, error)
	QueueFigures(ctx context.Context) (store.QueueFigures, error)
}

var _ Store = (*store.Store)(nil)

// Limits of the queries.
const (
	// AutoMaxPoints is the most points step "auto" returns per series.
	AutoMaxPoints = 1500
	// MaxPoints is the most points an explicit step may return per series.
	MaxPoints = 10_000
	// DefaultRange is the time range when from and to are not given.
	DefaultRange = 24 * time.Hour
	// MaxRange is the longest time range a query may cover.
	MaxRange = 3650 * 24 * time.Hour
	// DefaultLimit and MaxLimit bound the series of group_by=pipeline.
	DefaultLimit = 10
	MaxLimit     = 100
)

// Metrics are the names a time series may ask for, in the order the API lists them.
var Metrics = []string{"rows_in", "rows_out", "rows_rejected", "bytes", "runs_started", "runs_succeeded", "runs_failed",
	"duration_ms_avg", "rows_per_second", "dead_letters", "stream_lag"}

// Steps are the bucket sizes a query may ask for, by name.
var Steps = map[string]int64{"1m": store.MetricStepMinute, "1h": store.MetricStepHour, "1d": store.MetricStepDay}

// StepName is the name of a bucket size.
func StepName(step int64) string {
	for n, s := range Steps {
		if s == step {
			return n
		}
	}
	return ""
}

// FieldError is a query parameter that is wrong; Field names it as the API does.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func bad(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Options configure New.
type Options struct {
	Store Store
	// WorkerLease is how old a worker's heartbeat may be for it to count as up (default 1m).
	WorkerLease time.Duration
	Logger      *slog.Logger
	Clock       func() time.Time
}

// Service answers the analytics queries.
type Service struct {
	st    Store
	lease time.Duration
	log   *slog.Logger
	now   func() time.Time
}

// New builds the service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("metrics: Options.Store is required")
	}
	if o.WorkerLease <= 0 {
		o.WorkerLease = time.Minute
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{st: o.Store, lease: o.WorkerLease, log: o.Logger, now: o.Clock}, nil
}

// Range is a time range; zero times take the defaults (the last DefaultRange).
type Range struct{ From, To time.Time }

// resolve fills in the defaults and checks the range.
func (s *Service) resolve(r Range) (Range, error) {
	now := s.now().UTC()
	if r.To.IsZero() {
		r.To = now
	}
	if r.From.IsZero() {
		r.From = r.To.Add(-DefaultRange)
	}
	r.From, r.To = r.From.UTC(), r.To.UTC()
	if !r.From.Before(r.To) {
		return r, bad("from", "must be before to (from %s, to %s)", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	}
	if r.To.Sub(r.From) > MaxRange {
		return r, bad("from", "the range from %s to %s is longer than 3650 days", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	}
	return r, nil
}

// SeriesQuery asks for a time series.
type SeriesQuery struct {
	Metric string
	Range
	// Step is "1m", "1h", "1d" or "auto" ("" is auto).
	Step       string
	PipelineID string
	// Node, with PipelineID, reads one node's counts (rows_in, rows_out, rows_rejected, bytes,
	// rows_per_second).
	Node string
	// GroupBy "pipeline" returns one series per pipeline (the Limit largest by total).
	GroupBy string
	Limit   int
}

// Point is one bucket's value.
type Point struct {
	T     time.Time
	Value float64
}

// Series is the points of one pipeline, or of all pipelines (PipelineID "").
type Series struct {
	PipelineID   string
	PipelineName string
	Points       []Point
}

// SeriesResult is a time series answer.
type SeriesResult struct {
	Metric string
	Step   string
	From   time.Time
	To     time.Time
	Series []Series
}

// column maps a metric to the figure it reads; rows_per_second reads rows_in and divides.
func column(metric string) (store.MetricColumn, bool) {
	switch metric {
	case "rows_per_second":
		return store.MetricRowsIn, true
	case "rows_in", "rows_out", "rows_rejected", "bytes", "runs_started", "runs_succeeded", "runs_failed",
		"duration_ms_avg", "dead_letters", "stream_lag":
		return store.MetricColumn(metric), true
	}
	return "", false
}

// pickStep returns the bucket size of a query: the named one (refused when the range would take
// more than MaxPoints of it), or for "auto" the finest with at most AutoMaxPoints points.
func pickStep(name string, r Range) (int64, error) {
	span := r.To.Sub(r.From)
	if name == "" || name == "auto" {
		for _, st := range store.MetricSteps {
			if span <= time.Duration(AutoMaxPoints*st)*time.Second {
				return st, nil
			}
		}
		return store.MetricStepDay, nil
	}
	st, ok := Steps[name]
	if !ok {
		return 0, bad("step", "unknown step %q: use 1m, 1h, 1d or auto", name)
	}
	if n := int64(span / (time.Duration(st) * time.Second)); n > MaxPoints {
		return 0, bad("step", "step %s over %s gives %d points per series, more than %d: use a coarser step or auto",
			name, span.Round(time.Second), n, MaxPoints)
	}
	return st, nil
}

// Timeseries answers a time series query.
func (s *Service) Timeseries(ctx context.Context, q SeriesQuery) (SeriesResult, error) {
	col, ok := column(q.Metric)
	if !ok {
		return SeriesResult{}, bad("metric", "unknown metric %q: use one of %v", q.Metric, Metrics)
	}
	r, err := s.resolve(q.Range)
	if err != nil {
		return SeriesResult{}, err
	}
	step, err := pickStep(q.Step, r)
	if err != nil {
		return SeriesResult{}, err
	}
	switch q.GroupBy {
	case "", "pipeline":
	default:
		return SeriesResult{}, bad("group_by", "unknown grouping %q: use pipeline or leave it out", q.GroupBy)
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return SeriesResult{}, bad("limit", "must be 1 to %d, got %d", MaxLimit, q.Limit)
	}
	if q.Node != "" {
		if q.PipelineID == "" {
			return SeriesResult{}, bad("node", "a node's series needs pipeline_id")
		}
		switch q.Metric {
		case "rows_in", "rows_out", "rows_rejected", "bytes", "rows_per_second":
		default:
			return SeriesResult{}, bad("node", "nodes count rows_in, rows_out, rows_rejected, bytes and rows_per_second only, not %s", q.Metric)
		}
	}
	sq := store.MetricSeriesQuery{Column: col, Step: step, From: r.From, To: r.To, Node: q.Node}
	out := SeriesResult{Metric: q.Metric, Step: StepName(step), From: r.From, To: r.To, Series: []Series{}}
	scale := 1.0
	if q.Metric == "rows_per_second" {
		scale = 1 / float64(step)
	}
	toPoints := func(vs []store.MetricValue) []Point {
		ps := make([]Point, len(vs))
		for i, v := range vs {
			ps[i] = Point{T: v.Bucket, Value: v.Value * scale}
		}
		return ps
	}
	switch {
	case q.PipelineID != "":
		name, err := s.pipelineName(ctx, q.PipelineID)
		if err != nil {
			return SeriesResult{}, err
		}
		sq.PipelineIDs = []string{q.PipelineID}
		vs, err := s.st.MetricSeries(ctx, sq)
		if err != nil {
			return SeriesResult{}, err
		}
		out.Series = append(out.Series, Series{PipelineID: q.PipelineID, PipelineName: name, Points: toPoints(vs)})
	case q.GroupBy == "pipeline":
		top, err := s.st.MetricTopPipelines(ctx, sq, limit)
		if err != nil {
			return SeriesResult{}, err
		}
		if len(top) == 0 {
			break
		}
		for _, t := range top {
			sq.PipelineIDs = append(sq.PipelineIDs, t.PipelineID)
		}
		sq.PerPipeline = true
		vs, err := s.st.MetricSeries(ctx, sq)
		if err != nil {
			return SeriesResult{}, err
		}
		by := map[string][]store.MetricValue{}
		for _, v := range vs {
			by[v.PipelineID] = append(by[v.PipelineID], v)
		}
		for _, t := range top {
			name, err := s.pipelineName(ctx, t.PipelineID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return SeriesResult{}, err
			}
			out.Series = append(out.Series, Series{PipelineID: t.PipelineID, PipelineName: name, Points: toPoints(by[t.PipelineID])})
		}
	default:
		vs, err := s.st.MetricSeries(ctx, sq)
		if err != nil {
			return SeriesResult{}, err
		}
		out.Series = append(out.Series, Series{PipelineID: "", PipelineName: "All pipelines", Points: toPoints(vs)})
	}
	return out, nil
}

// pipelineName is a pipeline's name, or its id when it was deleted (its figures outlive it).
func (s *Service) pipelineName(ctx context.Context, id string) (string, error) {
	p, err := s.st.GetPipeline(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return id, nil
	}
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

// PipelineFigures are one pipeline's figures over a time range, with its freshness now.
type PipelineFigures struct {
	PipelineID   string
	PipelineName string
	Runs         int64
	Succeeded    int64
	Failed       int64
	// SuccessRate is succeeded / (succeeded + failed) (nil: neither); cancelled runs do not count.
	SuccessRate    *float64
	MeanDurationMs *float64
	P95DurationMs  *int64
	RowsOut        int64
	LastRunAt      *time.Time
	LastSuccessAt  *time.Time
	LastStatus     string
	// FreshnessSeconds is now - LastSuccessAt (nil: never succeeded).
	FreshnessSeconds *float64
	// ExpectedIntervalSeconds is the longest gap between the next firings of its enabled
	// schedule (nil: no enabled schedule).
	ExpectedIntervalSeconds *float64
	// Stale: scheduled, and no success for more than twice the expected interval (since it was
	// created when it never succeeded).
	Stale bool
}

// PipelinesResult is the figures of every pipeline.
type PipelinesResult struct {
	From, To time.Time
	Items    []PipelineFigures
}

// Pipelines returns the figures of every live pipeline (or the one pipelineID), by name.
func (s *Service) Pipelines(ctx context.Context, rg Range, pipelineID string) (PipelinesResult, error) {
	r, err := s.resolve(rg)
	if err != nil {
		return PipelinesResult{}, err
	}
	ps, err := s.livePipelines(ctx, pipelineID)
	if err != nil {
		return PipelinesResult{}, err
	}
	figs, err := s.st.PipelineRunFigures(ctx, r.From, r.To)
	if err != nil {
		return PipelinesResult{}, err
	}
	last, err := s.st.LastRuns(ctx)
	if err != nil {
		return PipelinesResult{}, err
	}
	now := s.now().UTC()
	out := PipelinesResult{From: r.From, To: r.To, Items: make([]PipelineFigures, 0, len(ps))}
	for _, p := range ps {
		f := figs[p.ID]
		item := PipelineFigures{PipelineID: p.ID, PipelineName: p.Name, Runs: f.Runs, Succeeded: f.Succeeded, Failed: f.Failed,
			MeanDurationMs: f.MeanDurationMs, P95DurationMs: f.P95DurationMs, RowsOut: f.RowsOut}
		if n := f.Succeeded + f.Failed; n > 0 {
			rate := float64(f.Succeeded) / float64(n)
			item.SuccessRate = &rate
		}
		if l, ok := last[p.ID]; ok {
			at := l.LastRunAt
			item.LastRunAt, item.LastStatus, item.LastSuccessAt = &at, string(l.LastStatus), l.LastSuccessAt
		}
		if item.LastSuccessAt != nil {
			sec := max(0, now.Sub(*item.LastSuccessAt).Seconds())
			item.FreshnessSeconds = &sec
		}
		if iv, ok := ExpectedInterval(p, now); ok {
			sec := iv.Seconds()
			item.ExpectedIntervalSeconds = &sec
			since := p.CreatedAt
			if item.LastSuccessAt != nil {
				since = *item.LastSuccessAt
			}
			item.Stale = now.Sub(since) > 2*iv
		}
		out.Items = append(out.Items, item)
	}
	return out, nil
}

// livePipelines lists every live pipeline by name, or the one id (ErrNotFound when it is not).
func (s *Service) livePipelines(ctx context.Context, id string) ([]store.Pipeline, error) {
	if id != "" {
		p, err := s.st.GetPipeline(ctx, id)
		if err != nil {
			return nil, err
		}
		return []store.Pipeline{p}, nil
	}
	var all []store.Pipeline
	for off := 0; ; off += store.MaxLimit {
		ps, total, err := s.st.ListPipelines(ctx, store.PipelineFilter{Page: store.Page{Limit: store.MaxLimit, Offset: off}})
		if err != nil {
			return nil, err
		}
		all = append(all, ps...)
		if len(ps) < store.MaxLimit || len(all) >= total {
			break
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all, nil
}

// ExpectedInterval is how often an enabled, unpaused schedule of p fires: the longest gap between
// its next eight firings after now (so a weekday schedule expects its weekend gap).
func ExpectedInterval(p store.Pipeline, now time.Time) (time.Duration, bool) {
	if p.Schedule == "" || !p.Enabled || p.SchedulePaused {
		return 0, false
	}
	c, err := pipeline.ParseCron(p.Schedule)
	if err != nil {
		return 0, false
	}
	loc := time.UTC
	if p.Timezone != "" {
		if l, err := time.LoadLocation(p.Timezone); err == nil {
			loc = l
		}
	}
	next := c.NextRuns(now, loc, 8)
	var longest time.Duration
	for i := 1; i < len(next); i++ {
		longest = max(longest, next[i].Sub(next[i-1]))
	}
	return longest, longest > 0
}

// Summary is the platform at a glance over a time range.
type Summary struct {
	From, To         time.Time
	RunsByStatus     map[string]int64
	RunningNow       int64
	RowsOut          int64
	RowsRejected     int64
	DeadLetters      int64
	DeadLetterRate   float64
	FailingPipelines int64
	StalePipelines   int64
	WorkersUp        int64
	WorkersDown      int64
	QueueDepth       int64
	MaxStreamLag     int64
}

// Summary answers the summary query (pipelineID restricts the pipeline counts and figures).
func (s *Service) Summary(ctx context.Context, rg Range, pipelineID string) (Summary, error) {
	r, err := s.resolve(rg)
	if err != nil {
		return Summary{}, err
	}
	out := Summary{From: r.From, To: r.To, RunsByStatus: map[string]int64{}}
	for _, st := range []store.RunStatus{store.RunQueued, store.RunRunning, store.RunSucceeded, store.RunFailed, store.RunCancelled} {
		out.RunsByStatus[string(st)] = 0
	}
	byStatus, err := s.st.CountRunsByStatus(ctx, r.From, r.To)
	if err != nil {
		return Summary{}, err
	}
	for st, n := range byStatus {
		out.RunsByStatus[string(st)] = n
	}
	if out.RunningNow, err = s.st.CountRunning(ctx); err != nil {
		return Summary{}, err
	}
	step := int64(store.MetricStepMinute)
	if r.To.Sub(r.From) > 48*time.Hour {
		step = store.MetricStepHour
	}
	sums, err := s.st.SumMetrics(ctx, step, r.From, r.To)
	if err != nil {
		return Summary{}, err
	}
	out.RowsOut, out.RowsRejected, out.DeadLetters = sums.RowsOut, sums.RowsRejected, sums.DeadLetters
	if sums.RowsIn > 0 {
		out.DeadLetterRate = float64(sums.DeadLetters) / float64(sums.RowsIn)
	}
	pf, err := s.Pipelines(ctx, r, pipelineID)
	if err != nil {
		return Summary{}, err
	}
	for _, p := range pf.Items {
		if p.LastStatus == string(store.RunFailed) {
			out.FailingPipelines++
		}
		if p.Stale {
			out.StalePipelines++
		}
	}
	now := s.now()
	ws, err := s.st.ListWorkers(ctx, now.Add(-24*time.Hour))
	if err != nil {
		return Summary{}, err
	}
	for _, w := range ws {
		switch {
		case w.StoppedAt != nil:
		case now.Sub(w.HeartbeatAt) <= s.lease:
			out.WorkersUp++
		default:
			out.WorkersDown++
		}
	}
	qf, err := s.st.QueueFigures(ctx)
	if err != nil {
		return Summary{}, err
	}
	for _, n := range qf.Waiting {
		out.QueueDepth += int64(n)
	}
	lag, err := s.st.MetricSeries(ctx, store.MetricSeriesQuery{Column: store.MetricStreamLag, Step: store.MetricStepMinute,
		From: now.Add(-5 * time.Minute), To: now.Add(time.Minute)})
	if err != nil {
		return Summary{}, err
	}
	for _, v := range lag {
		out.MaxStreamLag = max(out.MaxStreamLag, int64(v.Value))
	}
	return out, nil
}
