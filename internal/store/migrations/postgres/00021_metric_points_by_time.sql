-- +goose Up
-- The SQLite store reorders metric_points by time in this version (its 00021). PostgreSQL keeps
-- rows in a heap and reads a time range of every pipeline with a bitmap scan of
-- ix_metric_points_time, measured at a p95 of 50 ms over 30 days x 100 pipelines
-- (docs/benchmarks.md): nothing changes here; the version keeps both stores' numbering in step.
SELECT 1;

-- +goose Down
SELECT 1;
