-- +goose Up
-- The chunks of a partitioned run: one key range of its source each, run as its own queue job on
-- any worker, with its own lease (worker_id, attempt, heartbeat_at), checkpoint and counters. The
-- run is running until every chunk has ended; the chunk that ends last records the run's outcome.
CREATE TABLE run_chunks (
    run_id       TEXT NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    range_field  TEXT NOT NULL,
    range_lo     TEXT NOT NULL DEFAULT '',
    range_hi     TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    attempt      INTEGER NOT NULL DEFAULT 0,
    worker_id    TEXT NOT NULL DEFAULT '',
    heartbeat_at TEXT NULL,
    checkpoint   TEXT NULL,
    node_stats   TEXT NULL,
    rows_read    BIGINT NOT NULL DEFAULT 0,
    rows_written BIGINT NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    started_at   TEXT NULL,
    finished_at  TEXT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (run_id, idx)
);
CREATE INDEX ix_run_chunks_running ON run_chunks (status, heartbeat_at);

-- +goose Down
DROP TABLE run_chunks;
