package store

import (
	"context"
	"fmt"
	"time"
)

func misfireOrSkip(m string) string {
	if m == "" {
		return "skip"
	}
	return m
}

// ScheduleState is what the scheduler reads of a scheduled pipeline: its schedule, the time from
// which its ticks count (Since: when the schedule was created or changed, or resumed) and the
// latest tick handled (run or skipped; nil when none was).
type ScheduleState struct {
	PipelineID string
	Cron       string
	Timezone   string
	Misfire    string
	Since      time.Time
	LastTick   *time.Time
}

// ListSchedules returns every live pipeline with a schedule that is not paused, by id.
func (s *Store) ListSchedules(ctx context.Context) ([]ScheduleState, error) {
	return queryAll(ctx, s, "list schedules", `SELECT id, schedule, timezone, schedule_misfire,
		COALESCE(schedule_since, updated_at), schedule_last_tick FROM pipelines
		WHERE deleted_at IS NULL AND schedule <> '' AND enabled = $1 AND schedule_paused = $2 ORDER BY id`,
		[]any{true, false}, func(row scanner) (ScheduleState, error) {
			var st ScheduleState
			err := row.Scan(&st.PipelineID, &st.Cron, &st.Timezone, &st.Misfire, timeCol{&st.Since}, nullTimeCol{&st.LastTick})
			return st, err
		})
}

// SetSchedulePaused pauses or resumes a live pipeline's schedule without a new version. A resumed
// schedule counts its ticks from now (the ticks of the pause are neither run nor missed). A
// pipeline without a schedule is ErrConflict.
func (s *Store) SetSchedulePaused(ctx context.Context, id string, paused bool, actor string) (Pipeline, error) {
	op := "resume schedule"
	if paused {
		op = "pause schedule"
	}
	p, err := s.GetPipeline(ctx, id)
	if err != nil {
		return Pipeline{}, err
	}
	if p.Schedule == "" {
		return Pipeline{}, fmt.Errorf("%s: pipeline %q has no schedule: %w", op, p.Name, ErrConflict)
	}
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE pipelines SET schedule_paused = $1, updated_by = $2, updated_at = $3,
		schedule_since = CASE WHEN $1 THEN schedule_since ELSE $3 END
		WHERE id = $4 AND deleted_at IS NULL AND schedule <> ''`, paused, actor, now, id)
	if err := affectedOne(s, res, err, op, "pipeline", id); err != nil {
		return Pipeline{}, err
	}
	return s.GetPipeline(ctx, id)
}

// ScheduleTick is a tick of a pipeline's schedule that started a run. CatchUp: the run stands
// for every tick missed up to Tick (misfire: run_once).
type ScheduleTick struct {
	PipelineID string
	Tick       time.Time
	RunID      string
	CatchUp    bool
	CreatedAt  time.Time
}

// ClaimScheduleTick records that tick of the pipeline's schedule starts run t.RunID and moves the
// pipeline's latest handled tick forward to it. It returns false, and records nothing, when the
// tick was already claimed: call it in the transaction that creates the run and roll that back
// then, so a tick starts one run however many processes handle it (the primary key decides).
func (t *Tx) ClaimScheduleTick(ctx context.Context, k ScheduleTick) (bool, error) {
	s := t.s
	const op = "claim schedule tick"
	res, err := s.db.ExecContext(ctx, `INSERT INTO schedule_ticks (pipeline_id, tick, run_id, catch_up, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (pipeline_id, tick) DO NOTHING`,
		k.PipelineID, s.ts(k.Tick), k.RunID, k.CatchUp, s.ts(s.nowUTC()))
	n, err := rowsAffected(s, res, err, op)
	if err != nil || n == 0 {
		return false, err
	}
	if err := s.advanceScheduleTick(ctx, s.db, k.PipelineID, k.Tick); err != nil {
		return false, err
	}
	return true, nil
}

// AdvanceScheduleTick moves the pipeline's latest handled tick forward to tick (never back): the
// ticks up to it were skipped (misfire: skip).
func (s *Store) AdvanceScheduleTick(ctx context.Context, pipelineID string, tick time.Time) error {
	return s.advanceScheduleTick(ctx, s.db, pipelineID, tick)
}

func (s *Store) advanceScheduleTick(ctx context.Context, ex execer, pipelineID string, tick time.Time) error {
	_, err := ex.ExecContext(ctx, `UPDATE pipelines SET schedule_last_tick = $1
		WHERE id = $2 AND (schedule_last_tick IS NULL OR schedule_last_tick < $1)`, s.ts(tick), pipelineID)
	return s.mapErr(err, "advance schedule tick")
}

// ListScheduleTicks lists the ticks of a pipeline's schedule that started runs, oldest first.
func (s *Store) ListScheduleTicks(ctx context.Context, pipelineID string) ([]ScheduleTick, error) {
	return queryAll(ctx, s, "list schedule ticks", `SELECT pipeline_id, tick, run_id, catch_up, created_at
		FROM schedule_ticks WHERE pipeline_id = $1 ORDER BY tick`, []any{pipelineID}, func(row scanner) (ScheduleTick, error) {
		var k ScheduleTick
		err := row.Scan(&k.PipelineID, timeCol{&k.Tick}, &k.RunID, &k.CatchUp, timeCol{&k.CreatedAt})
		return k, err
	})
}
