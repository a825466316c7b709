package api

import (
	"context"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Schedules: a pipeline's schedule as the API shows it, the preview the editor calls while the
// user types, and pause/resume (no new version).

// nextRunCount is how many next run times the API shows.
const nextRunCount = 5

// Schedule is a pipeline's schedule.
type Schedule struct {
	Cron        string      `json:"cron" doc:"Cron expression (five fields or a macro such as @daily)"`
	Timezone    string      `json:"timezone" doc:"IANA time zone the expression is read in (UTC when the spec gives none)"`
	Misfire     string      `json:"misfire" enum:"skip,run_once" doc:"What happens to ticks missed while no server ran: skip them, or one catch-up run"`
	Paused      bool        `json:"paused" doc:"Paused schedules start no run (POST .../schedule/pause and /resume)"`
	Description string      `json:"description" doc:"The expression in plain words, e.g. \"At 06:00 on Monday to Friday\""`
	NextRuns    []time.Time `json:"next_runs" nullable:"false" doc:"The next five run times (none while paused), in the schedule's time zone"`
}

// toSchedule is the schedule of a stored pipeline at now; nil when it has none.
func toSchedule(p store.Pipeline, now time.Time) *Schedule {
	if p.Schedule == "" {
		return nil
	}
	tz := p.Timezone
	if tz == "" {
		tz = "UTC"
	}
	out := &Schedule{Cron: p.Schedule, Timezone: tz, Misfire: string(pipeline.Misfire(p.Misfire).OrDefault()),
		Paused: p.SchedulePaused, NextRuns: []time.Time{}}
	c, err := pipeline.ParseCron(p.Schedule)
	if err != nil {
		return out
	}
	out.Description = c.Describe()
	loc, err := pipeline.LoadTimezone(p.Timezone)
	if err != nil || p.SchedulePaused {
		return out
	}
	out.NextRuns = c.NextRuns(now, loc, nextRunCount)
	return out
}

type schedulePreviewInput struct {
	Cron     string `query:"cron" maxLength:"200" doc:"Cron expression: five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly"`
	Timezone string `query:"timezone" maxLength:"64" doc:"IANA time zone (default UTC)"`
}

// SchedulePreview is what a schedule would do.
type SchedulePreview struct {
	Cron        string      `json:"cron"`
	Timezone    string      `json:"timezone"`
	Description string      `json:"description" doc:"The expression in plain words"`
	NextRuns    []time.Time `json:"next_runs" nullable:"false" doc:"The next five run times, in the time zone"`
}

func (s *Server) previewSchedule(_ context.Context, in *schedulePreviewInput) (*struct{ Body SchedulePreview }, error) {
	expr := strings.TrimSpace(in.Cron)
	if expr == "" {
		return nil, invalid("query.cron", "required: a cron expression such as \"0 * * * *\" or @daily", in.Cron)
	}
	c, err := pipeline.ParseCron(expr)
	if err != nil {
		return nil, invalid("query.cron", err.Error(), in.Cron)
	}
	loc, err := pipeline.LoadTimezone(strings.TrimSpace(in.Timezone))
	if err != nil {
		return nil, invalid("query.timezone", err.Error(), in.Timezone)
	}
	return &struct{ Body SchedulePreview }{Body: SchedulePreview{Cron: expr, Timezone: loc.String(), Description: c.Describe(),
		NextRuns: c.NextRuns(time.Now(), loc, nextRunCount)}}, nil
}

func (s *Server) pauseSchedule(ctx context.Context, in *pipelineIDInput) (*pipelineOutput, error) {
	return s.setSchedulePaused(ctx, in.ID, true)
}

func (s *Server) resumeSchedule(ctx context.Context, in *pipelineIDInput) (*pipelineOutput, error) {
	return s.setSchedulePaused(ctx, in.ID, false)
}

func (s *Server) setSchedulePaused(ctx context.Context, id string, paused bool) (*pipelineOutput, error) {
	infoFrom(ctx).setTarget("pipeline", id)
	cur, err := s.data.Pipelines.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if cur.Schedule == "" {
		return nil, conflict("pipeline " + cur.Name + " has no schedule to pause or resume: add schedule: {cron: ...} to its spec")
	}
	if _, err := s.data.Pipelines.SetSchedulePaused(ctx, id, paused, principalFrom(ctx).Username); err != nil {
		return nil, err
	}
	p, err := s.data.Pipelines.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &pipelineOutput{Body: toPipelineDTO(p)}, nil
}
