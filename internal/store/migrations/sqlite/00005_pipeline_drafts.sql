-- +goose Up
-- A version saved as a draft (a spec with errors, saved with ?draft=true) keeps
-- its problems (a JSON array of {path, message, line, column}); NULL for a
-- valid version. A draft version cannot run.
ALTER TABLE pipeline_versions ADD COLUMN problems TEXT NULL;

-- +goose Down
ALTER TABLE pipeline_versions DROP COLUMN problems;
