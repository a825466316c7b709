-- +goose Up
-- Settings an administrator changes at run time (GET/PUT /api/v1/admin/settings/...), one JSON
-- document per key ("retention": how long runs, dead letters, logs, uploads and staged outputs
-- are kept). A missing key means the defaults the owning package declares.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
-- The clean-up service (internal/retention) finds finished runs and old dead letters by age.
CREATE INDEX ix_pipeline_runs_finished ON pipeline_runs (finished_at);
CREATE INDEX ix_dead_letters_created ON dead_letters (created_at);

-- +goose Down
DROP INDEX ix_dead_letters_created;
DROP INDEX ix_pipeline_runs_finished;
DROP TABLE settings;
