-- +goose Up
-- Nothing: on SQLite the run events stay in one process (runs.Broker numbers them). The version
-- exists so that both dialects keep the same migration numbers (PostgreSQL: run_event_seqs).
SELECT 1;

-- +goose Down
SELECT 1;
