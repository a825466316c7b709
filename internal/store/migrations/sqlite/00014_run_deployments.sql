-- +goose Up
-- A streaming run deployed with parallelism: its consumer instances are the run's chunks (each
-- without a key range), and this row holds the deployment's state: running, paused, restarting,
-- stopping, stopped or failed. Each instance keeps its latest report (positions and lag per
-- partition, rows per second) on its chunk.
CREATE TABLE run_deployments (
    run_id      TEXT PRIMARY KEY REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    parallelism INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);
ALTER TABLE run_chunks ADD COLUMN positions TEXT NULL;

-- +goose Down
ALTER TABLE run_chunks DROP COLUMN positions;
DROP TABLE run_deployments;
