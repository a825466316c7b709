-- +goose Up
-- System logs (docs/system-logs.md): the server's own structured log records, teed from the process
-- logger by internal/logstore in batches, kept for the server_logs retention period. Run log lines
-- stay in system_logs (with their run); server_logs holds what the server logged, correlated by
-- request_id, user and run_id. attrs is the record's other attributes as a JSON object (secrets are
-- redacted before they reach it).
CREATE TABLE server_logs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time       TEXT NOT NULL,
    level      TEXT NOT NULL,
    component  TEXT NOT NULL DEFAULT '',
    message    TEXT NOT NULL,
    request_id TEXT NOT NULL DEFAULT '',
    run_id     TEXT NOT NULL DEFAULT '',
    user_name  TEXT NOT NULL DEFAULT '',
    attrs      TEXT NULL
);
CREATE INDEX ix_server_logs_time ON server_logs (time);
CREATE INDEX ix_server_logs_request ON server_logs (request_id, id);
CREATE INDEX ix_server_logs_run ON server_logs (run_id, id);

-- The API request that started a run ('' for schedules, dependencies and the command line), so that
-- a request id leads to the run it started.
ALTER TABLE pipeline_runs ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
CREATE INDEX ix_pipeline_runs_request ON pipeline_runs (request_id);
CREATE INDEX ix_audit_logs_request ON audit_logs (request_id);

-- +goose Down
DROP INDEX ix_audit_logs_request;
DROP INDEX ix_pipeline_runs_request;
ALTER TABLE pipeline_runs DROP COLUMN request_id;
DROP TABLE server_logs;
