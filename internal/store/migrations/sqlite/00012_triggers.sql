-- +goose Up
-- Triggers (docs/triggers.md). A run records what started it: run_trigger says which kind
-- (manual, api, schedule, webhook, dependency, replay ...), trigger_detail the particulars as a
-- JSON object owned by internal/runs (the user, the webhook token's prefix, the upstream run).
ALTER TABLE pipeline_runs ADD COLUMN trigger_detail TEXT NULL;

-- One webhook token per pipeline: only its SHA-256 hash is kept, with the non-secret prefix shown
-- in the UI. Creating a token again replaces it (rotation); deleting the row revokes it.
CREATE TABLE pipeline_trigger_tokens (
    pipeline_id  TEXT PRIMARY KEY REFERENCES pipelines (id) ON DELETE CASCADE,
    prefix       TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    last_used_at TEXT NULL
);

-- "Run after these pipelines succeed" (the spec's triggers.after), resolved to ids at save time:
-- pipeline_id runs after upstream_id. Written with every save of pipeline_id.
CREATE TABLE pipeline_dependencies (
    pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    upstream_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    PRIMARY KEY (pipeline_id, upstream_id)
);
CREATE INDEX ix_pipeline_dependencies_upstream ON pipeline_dependencies (upstream_id);

-- +goose Down
DROP TABLE pipeline_dependencies;
DROP TABLE pipeline_trigger_tokens;
ALTER TABLE pipeline_runs DROP COLUMN trigger_detail;
