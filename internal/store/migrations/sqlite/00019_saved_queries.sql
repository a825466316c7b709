-- +goose Up
-- Saved analytics queries (docs/analytics.md): a read-only SQL statement over a saved database
-- connector, with the chart drawn from its result (chart: {"type": "line"|"bar"|"area", "x": column,
-- "y": [columns]}, owned by internal/queries). Shared by everyone who may run analytics queries;
-- names are unique, case-insensitive. A deleted connector leaves its queries in place (they fail
-- to run, naming the connector).
CREATE TABLE saved_queries (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    connector_id TEXT NOT NULL,
    sql          TEXT NOT NULL,
    chart        TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    updated_by   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_saved_queries_name ON saved_queries (LOWER(name));

-- +goose Down
DROP TABLE saved_queries;
