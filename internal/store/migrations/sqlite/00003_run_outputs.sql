-- +goose Up
-- What a run's file destinations wrote (node id, file name, path under
-- DATA_DIR/files, bytes, rows), recorded when the run finishes, so that
-- GET /api/v1/runs/{id}/outputs can list and serve them.
ALTER TABLE pipeline_runs ADD COLUMN outputs TEXT NULL;

-- +goose Down
ALTER TABLE pipeline_runs DROP COLUMN outputs;
