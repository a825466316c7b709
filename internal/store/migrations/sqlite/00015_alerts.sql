-- +goose Up
-- Alerts (docs/alerts.md). The alert_rules and alerts tables of 00001 were never written by any
-- release; they are replaced by rules with a typed condition and channels, alerts that go firing
-- -> resolved (at most one firing alert per rule and subject), their history, the notification
-- channels (secrets sealed like saved connectors') and one row per notification to deliver.
DROP TABLE alerts;
DROP TABLE alert_rules;

CREATE TABLE alert_channels (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    type           TEXT NOT NULL,
    config         TEXT NOT NULL,
    secrets        TEXT NOT NULL DEFAULT '',
    secrets_key_id TEXT NOT NULL DEFAULT '',
    created_by     TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_alert_channels_name ON alert_channels (LOWER(name));

CREATE TABLE alert_rules (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    condition_type   TEXT NOT NULL,
    pipeline_id      TEXT NOT NULL DEFAULT '',
    condition        TEXT NOT NULL,
    channels         TEXT NOT NULL,
    throttle_minutes INTEGER NOT NULL DEFAULT 0,
    enabled          BOOLEAN NOT NULL DEFAULT TRUE,
    problem          TEXT NOT NULL DEFAULT '',
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_alert_rules_name ON alert_rules (LOWER(name));
CREATE INDEX ix_alert_rules_type ON alert_rules (condition_type);

CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    rule_id         TEXT NOT NULL,
    rule_name       TEXT NOT NULL,
    subject         TEXT NOT NULL DEFAULT '',
    pipeline_id     TEXT NOT NULL DEFAULT '',
    run_id          TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    title           TEXT NOT NULL,
    message         TEXT NOT NULL DEFAULT '',
    fired_at        TEXT NOT NULL,
    resolved_at     TEXT NULL,
    acknowledged_by TEXT NOT NULL DEFAULT '',
    acknowledged_at TEXT NULL,
    silenced_until  TEXT NULL,
    notified        BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_alerts_firing ON alerts (rule_id, subject) WHERE state = 'firing';
CREATE INDEX ix_alerts_state ON alerts (state, fired_at);
CREATE INDEX ix_alerts_rule ON alerts (rule_id, subject, fired_at);

CREATE TABLE alert_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    time     TEXT NOT NULL,
    kind     TEXT NOT NULL,
    actor    TEXT NOT NULL DEFAULT '',
    message  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ix_alert_events_alert ON alert_events (alert_id, id);

CREATE TABLE alert_deliveries (
    id           TEXT PRIMARY KEY,
    alert_id     TEXT NOT NULL DEFAULT '',
    channel_id   TEXT NOT NULL,
    channel_name TEXT NOT NULL,
    event        TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    sent_at      TEXT NULL
);
CREATE INDEX ix_alert_deliveries_alert ON alert_deliveries (alert_id, created_at);

-- +goose Down
DROP TABLE alert_deliveries;
DROP TABLE alert_events;
DROP TABLE alerts;
DROP TABLE alert_rules;
DROP TABLE alert_channels;
CREATE TABLE alert_rules (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL,
    pipeline_id TEXT NOT NULL DEFAULT '',
    threshold   REAL NOT NULL DEFAULT 0,
    severity    TEXT NOT NULL,
    channels    TEXT NULL,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_alert_rules_name ON alert_rules (LOWER(name));
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    rule_id         TEXT NOT NULL DEFAULT '',
    pipeline_id     TEXT NOT NULL DEFAULT '',
    run_id          TEXT NOT NULL DEFAULT '',
    severity        TEXT NOT NULL,
    title           TEXT NOT NULL,
    message         TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    acknowledged_by TEXT NOT NULL DEFAULT '',
    acknowledged_at TEXT NULL,
    resolved_at     TEXT NULL
);
CREATE INDEX ix_alerts_status ON alerts (status, created_at);
