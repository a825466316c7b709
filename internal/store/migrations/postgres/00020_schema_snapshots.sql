-- +goose Up
-- Schema-change policies (docs/schema-changes.md). schema_review is a run's review of schema changes
-- (a JSON object owned by the runs package: the destination, the classified changes, the decision);
-- a run awaiting approval has status awaiting_approval. schema_snapshots holds, per pipeline and
-- destination node, the schema the destination received in the last successful run (JSON owned by
-- internal/schemachange), which the next run compares with.
ALTER TABLE pipeline_runs ADD COLUMN schema_review JSONB NULL;
CREATE TABLE schema_snapshots (
    pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    node        TEXT NOT NULL,
    snapshot    JSONB NOT NULL,
    run_id      TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (pipeline_id, node)
);

-- +goose Down
DROP TABLE schema_snapshots;
ALTER TABLE pipeline_runs DROP COLUMN schema_review;
