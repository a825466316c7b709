-- +goose Up
-- Schedules fire (internal/schedules). Per pipeline: the misfire policy copied
-- from the spec (skip | run_once), the pause flag (set by the API, not by a
-- save), the time from which ticks count (set when the schedule is created or
-- changed and at resume) and the latest tick handled.
ALTER TABLE pipelines ADD COLUMN schedule_misfire TEXT NOT NULL DEFAULT 'skip';
ALTER TABLE pipelines ADD COLUMN schedule_paused BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE pipelines ADD COLUMN schedule_since TEXT NULL;
ALTER TABLE pipelines ADD COLUMN schedule_last_tick TEXT NULL;
UPDATE pipelines SET schedule_since = updated_at;

-- One row per (pipeline, tick) that started a run, inserted in the transaction
-- that creates the run: the primary key is what makes a tick start one run
-- however many processes handle it.
CREATE TABLE schedule_ticks (
    pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    tick        TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    catch_up    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (pipeline_id, tick)
);

-- +goose Down
DROP TABLE schedule_ticks;
ALTER TABLE pipelines DROP COLUMN schedule_last_tick;
ALTER TABLE pipelines DROP COLUMN schedule_since;
ALTER TABLE pipelines DROP COLUMN schedule_paused;
ALTER TABLE pipelines DROP COLUMN schedule_misfire;
