package schedules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Store is what the service reads and writes of the schedules.
type Store interface {
	ListSchedules(ctx context.Context) ([]store.ScheduleState, error)
	AdvanceScheduleTick(ctx context.Context, pipelineID string, tick time.Time) error
}

// Runs starts runs (runs.Service).
type Runs interface {
	StartGuarded(ctx context.Context, pipelineID string, req runs.StartRequest) (store.Run, error)
}

// Trigger is the trigger of the runs a schedule starts.
const Trigger = "schedule"

// Actor is who the runs a schedule starts are recorded as started by.
var Actor = runs.Actor{Name: "schedule"}

// DefaultGrace is how late a tick may be handled and still count as on time.
const DefaultGrace = 2 * time.Minute

// Every is how often Tick should be called (the periodic job's interval).
const Every = time.Minute

// Options configure a Service. Store and Runs are required.
type Options struct {
	Store  Store
	Runs   Runs
	Logger *slog.Logger
	// Clock is the time of Run's ticks; time.Now when nil.
	Clock func() time.Time
	// Grace: a tick handled later than this after its time was missed and follows the pipeline's
	// misfire policy (default DefaultGrace). Keep it above Every.
	Grace time.Duration
}

// Service fires schedules. Build it with New.
type Service struct {
	o Options
}

// New checks the options and builds the service.
func New(o Options) (*Service, error) {
	var problems []string
	if o.Store == nil {
		problems = append(problems, "Store is required")
	}
	if o.Runs == nil {
		problems = append(problems, "Runs is required")
	}
	if o.Grace < 0 {
		problems = append(problems, fmt.Sprintf("Grace must not be negative, got %s", o.Grace))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("schedules: %s", strings.Join(problems, "; "))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	return &Service{o: o}, nil
}

// Fired is a run a tick started.
type Fired struct {
	PipelineID string
	Tick       time.Time
	Run        store.Run
	// CatchUp: the run stands for every tick missed up to Tick (misfire run_once).
	CatchUp bool
}

// Report is what one Tick did.
type Report struct {
	Fired []Fired
	// Taken counts ticks another process had already started a run for.
	Taken int
	// Skipped counts pipelines whose missed ticks were dropped (misfire skip).
	Skipped int
}

// Run handles the ticks due now (the periodic job's work).
func (s *Service) Run(ctx context.Context) error {
	_, err := s.Tick(ctx, s.o.Clock())
	return err
}

// errTaken rolls back a run whose tick another process claimed first.
var errTaken = errors.New("schedule tick already started a run")

// maxPerTick bounds the on-time ticks of one pipeline handled in one Tick.
const maxPerTick = 1000

// Tick starts a run for every tick due at now of every scheduled, unpaused pipeline that has not
// started one yet. One pipeline's failure does not stop the others; the error joins them all.
func (s *Service) Tick(ctx context.Context, now time.Time) (Report, error) {
	var rep Report
	list, err := s.o.Store.ListSchedules(ctx)
	if err != nil {
		return rep, fmt.Errorf("schedules: %w", err)
	}
	var errs []error
	for _, st := range list {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if err := s.tickOne(ctx, st, now, &rep); err != nil {
			s.o.Logger.ErrorContext(ctx, "schedule tick", "pipeline_id", st.PipelineID, "error", err)
			errs = append(errs, fmt.Errorf("pipeline %s: %w", st.PipelineID, err))
		}
	}
	return rep, errors.Join(errs...)
}

func (s *Service) tickOne(ctx context.Context, st store.ScheduleState, now time.Time, rep *Report) error {
	c, err := pipeline.ParseCron(st.Cron)
	if err != nil {
		return fmt.Errorf("schedule.cron: %w", err)
	}
	loc, err := pipeline.LoadTimezone(st.Timezone)
	if err != nil {
		return fmt.Errorf("schedule.timezone: %w", err)
	}
	from := st.Since
	if st.LastTick != nil && st.LastTick.After(from) {
		from = *st.LastTick
	}
	from = from.In(loc)
	first := c.Next(from)
	if first.IsZero() || first.After(now) {
		return nil
	}
	cutoff := now.Add(-s.o.Grace)
	if !first.After(cutoff) { // ticks were missed
		last := latestAtOrBefore(c, from, cutoff.In(loc))
		if pipeline.Misfire(st.Misfire).OrDefault() == pipeline.MisfireRunOnce {
			if err := s.fire(ctx, st.PipelineID, last, true, rep); err != nil {
				return err
			}
		} else {
			if err := s.o.Store.AdvanceScheduleTick(ctx, st.PipelineID, last); err != nil {
				return err
			}
			rep.Skipped++
			s.o.Logger.WarnContext(ctx, "missed schedule ticks skipped (misfire: skip)", "pipeline_id", st.PipelineID,
				"from", first.UTC(), "to", last.UTC())
		}
		from = last
	}
	if from.Before(cutoff) {
		from = cutoff.In(loc)
	}
	for i, t := 0, c.Next(from); i < maxPerTick && !t.IsZero() && !t.After(now); i, t = i+1, c.Next(t) {
		if err := s.fire(ctx, st.PipelineID, t, false, rep); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) fire(ctx context.Context, pipelineID string, tick time.Time, catchUp bool, rep *Report) error {
	tick = tick.UTC()
	guard := func(ctx context.Context, tx *store.Tx, run store.Run) error {
		ok, err := tx.ClaimScheduleTick(ctx, store.ScheduleTick{PipelineID: pipelineID, Tick: tick, RunID: run.ID, CatchUp: catchUp})
		if err != nil {
			return err
		}
		if !ok {
			return errTaken
		}
		return nil
	}
	run, err := s.o.Runs.StartGuarded(ctx, pipelineID, runs.StartRequest{Trigger: Trigger, Actor: Actor, Guard: guard,
		Detail: runs.TriggerDetail{Tick: &tick, CatchUp: catchUp}})
	if errors.Is(err, errTaken) {
		rep.Taken++
		return nil
	}
	if err != nil {
		return fmt.Errorf("start run for tick %s: %w", tick.Format(time.RFC3339), err)
	}
	rep.Fired = append(rep.Fired, Fired{PipelineID: pipelineID, Tick: tick, Run: run, CatchUp: catchUp})
	s.o.Logger.InfoContext(ctx, "scheduled run started", "pipeline_id", pipelineID, "run_id", run.ID,
		"tick", tick, "catch_up", catchUp)
	return nil
}

// windows are how far back latestAtOrBefore looks for the latest tick, shortest first.
var windows = []time.Duration{time.Minute, time.Hour, 25 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour}

// latestAtOrBefore returns the latest tick of c after from and at or before t (the caller knows
// there is one): it looks back over growing windows, then walks forward within the first that
// holds a tick, so that a year of missed minutes costs a few steps.
func latestAtOrBefore(c *pipeline.Cron, from, t time.Time) time.Time {
	start := from
	for _, w := range windows {
		if s := t.Add(-w); s.After(from) {
			if c.Next(s).After(t) {
				continue
			}
			start = s
		}
		break
	}
	last := c.Next(start)
	for n := c.Next(last); !n.IsZero() && !n.After(t); n = c.Next(n) {
		last = n
	}
	return last
}
