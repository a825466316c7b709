-- +goose Up
-- Pipelines as code (docs/pipelines-as-code.md): the objects that `aggregator apply` last wrote from
-- files. kind is pipeline, connector or transformation; path the file, relative to the applied
-- directory; digest the SHA-256 of what was applied. An object changed after applied_at (in the UI
-- or the API) has drifted from its file. Rows of deleted objects are removed with the object's
-- deletion by apply --prune and are ignored otherwise (every read joins the live object).
CREATE TABLE managed_objects (
    kind       TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    path       TEXT NOT NULL,
    digest     TEXT NOT NULL,
    applied_by TEXT NOT NULL DEFAULT '',
    applied_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, object_id)
);

-- +goose Down
DROP TABLE managed_objects;
