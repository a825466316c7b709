-- +goose Up
-- The PostgreSQL event bus (internal/bus) numbers the events of each run across processes: one
-- row per run with events in flight, holding the last number given (a run's first event, queued,
-- is 1; the bus gives 2, 3, ...), deleted with the run's last event. UNLOGGED: after a crash the
-- numbering restarts, and live clients that see the numbers go back re-read the run.
CREATE UNLOGGED TABLE run_event_seqs (
    run_id TEXT PRIMARY KEY,
    seq    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE run_event_seqs;
