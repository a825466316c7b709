-- +goose Up
-- A replay run (POST /api/v1/runs/{id}/dead-letters/replay) names the run whose
-- dead letters it replays ('' for every other run) and keeps the edited values
-- it was asked for (a JSON object: dead-letter id -> field -> text), so that a
-- worker executing it (or resuming it) replays exactly what was requested.
ALTER TABLE pipeline_runs ADD COLUMN replay_of TEXT NOT NULL DEFAULT '';
ALTER TABLE pipeline_runs ADD COLUMN replay_edits TEXT NULL;
CREATE INDEX ix_pipeline_runs_replay_of ON pipeline_runs (replay_of);

-- +goose Down
DROP INDEX ix_pipeline_runs_replay_of;
ALTER TABLE pipeline_runs DROP COLUMN replay_edits;
ALTER TABLE pipeline_runs DROP COLUMN replay_of;
