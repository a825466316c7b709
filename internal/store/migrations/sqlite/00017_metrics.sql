-- +goose Up
-- Metrics history (docs/metrics.md). metric_points holds each pipeline's figures per bucket: step
-- is the bucket size in seconds (60, 3600 or 86400) and bucket the bucket's start in Unix seconds
-- (UTC). Every figure recorded goes to its 1-minute, 1-hour and 1-day bucket at once (the rollup),
-- counts add up; stream_lag is the largest lag seen in the bucket; duration_ms_sum and
-- duration_count are the finished runs' durations (their mean is sum / count).
-- metric_node_points holds the same counts per pipeline node. metric_runs holds one row per
-- finished run (times in Unix milliseconds; duration_ms NULL when the run never started): success
-- rate, mean and p95 duration and freshness are computed from it. The retention clean-up deletes
-- each bucket size after its own period, and metric_runs with the 1-day buckets.
CREATE TABLE metric_points (
    step            INTEGER NOT NULL,
    bucket          BIGINT NOT NULL,
    pipeline_id     TEXT NOT NULL,
    rows_in         BIGINT NOT NULL DEFAULT 0,
    rows_out        BIGINT NOT NULL DEFAULT 0,
    rows_rejected   BIGINT NOT NULL DEFAULT 0,
    bytes           BIGINT NOT NULL DEFAULT 0,
    runs_started    BIGINT NOT NULL DEFAULT 0,
    runs_succeeded  BIGINT NOT NULL DEFAULT 0,
    runs_failed     BIGINT NOT NULL DEFAULT 0,
    runs_cancelled  BIGINT NOT NULL DEFAULT 0,
    duration_ms_sum BIGINT NOT NULL DEFAULT 0,
    duration_count  BIGINT NOT NULL DEFAULT 0,
    dead_letters    BIGINT NOT NULL DEFAULT 0,
    stream_lag      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (step, pipeline_id, bucket)
) WITHOUT ROWID;
CREATE INDEX ix_metric_points_time ON metric_points (step, bucket);

CREATE TABLE metric_node_points (
    step          INTEGER NOT NULL,
    bucket        BIGINT NOT NULL,
    pipeline_id   TEXT NOT NULL,
    node          TEXT NOT NULL,
    rows_in       BIGINT NOT NULL DEFAULT 0,
    rows_out      BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    bytes         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (step, pipeline_id, node, bucket)
) WITHOUT ROWID;
CREATE INDEX ix_metric_node_points_time ON metric_node_points (step, bucket);

CREATE TABLE metric_runs (
    run_id        TEXT PRIMARY KEY,
    pipeline_id   TEXT NOT NULL,
    status        TEXT NOT NULL,
    started_at    BIGINT NULL,
    finished_at   BIGINT NOT NULL,
    duration_ms   BIGINT NULL,
    rows_in       BIGINT NOT NULL DEFAULT 0,
    rows_out      BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    bytes         BIGINT NOT NULL DEFAULT 0,
    dead_letters  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX ix_metric_runs_pipeline ON metric_runs (pipeline_id, finished_at);
CREATE INDEX ix_metric_runs_finished ON metric_runs (finished_at);

-- The runs that finished before this migration: status and duration (their row counts were not
-- recorded as figures and stay 0).
INSERT INTO metric_runs (run_id, pipeline_id, status, started_at, finished_at, duration_ms)
SELECT id, pipeline_id, status,
       CASE WHEN started_at IS NULL THEN NULL ELSE CAST(ROUND((julianday(started_at) - 2440587.5) * 86400000) AS INTEGER) END,
       CAST(ROUND((julianday(finished_at) - 2440587.5) * 86400000) AS INTEGER),
       CASE WHEN started_at IS NULL THEN NULL ELSE MAX(0, CAST(ROUND((julianday(finished_at) - julianday(started_at)) * 86400000) AS INTEGER)) END
FROM pipeline_runs WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at IS NOT NULL;

-- +goose Down
DROP TABLE metric_runs;
DROP TABLE metric_node_points;
DROP TABLE metric_points;
