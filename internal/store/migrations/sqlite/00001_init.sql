-- Generated from ../postgres/00001_init.sql with TIMESTAMPTZ/JSONB -> TEXT; keep both in step.
-- +goose Up
CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    username             TEXT NOT NULL,
    email                TEXT NOT NULL,
    full_name            TEXT NOT NULL DEFAULT '',
    password_hash        TEXT NOT NULL,
    role                 TEXT NOT NULL,
    active               BOOLEAN NOT NULL DEFAULT TRUE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    password_changed_at  TEXT NOT NULL,
    last_login_at        TEXT NULL
);
CREATE UNIQUE INDEX ux_users_username ON users (LOWER(username));
CREATE UNIQUE INDEX ux_users_email ON users (LOWER(email));
CREATE INDEX ix_users_role ON users (role);

CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   TEXT NOT NULL,
    token_hash  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    rotated_at  TEXT NULL,
    replaced_by TEXT NULL,
    revoked_at  TEXT NULL,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX ux_refresh_tokens_token_hash ON refresh_tokens (token_hash);
CREATE INDEX ix_refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX ix_refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NULL,
    last_used_at TEXT NULL,
    revoked_at   TEXT NULL
);
CREATE UNIQUE INDEX ux_api_tokens_token_hash ON api_tokens (token_hash);
CREATE UNIQUE INDEX ux_api_tokens_name ON api_tokens (user_id, LOWER(name)) WHERE revoked_at IS NULL;

CREATE TABLE connectors (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    config      TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    updated_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT NULL
);
CREATE UNIQUE INDEX ux_connectors_name ON connectors (LOWER(name)) WHERE deleted_at IS NULL;

CREATE TABLE pipelines (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    spec        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    schedule    TEXT NOT NULL DEFAULT '',
    timezone    TEXT NOT NULL DEFAULT '',
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_by  TEXT NOT NULL DEFAULT '',
    updated_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT NULL
);
CREATE UNIQUE INDEX ux_pipelines_name ON pipelines (LOWER(name)) WHERE deleted_at IS NULL;

CREATE TABLE pipeline_versions (
    pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    spec        TEXT NOT NULL,
    comment     TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    PRIMARY KEY (pipeline_id, version)
);

CREATE TABLE pipeline_runs (
    id               TEXT PRIMARY KEY,
    pipeline_id      TEXT NOT NULL REFERENCES pipelines (id),
    pipeline_version INTEGER NOT NULL,
    status           TEXT NOT NULL,
    run_trigger      TEXT NOT NULL,
    actor_id         TEXT NOT NULL DEFAULT '',
    actor_name       TEXT NOT NULL DEFAULT '',
    error            TEXT NOT NULL DEFAULT '',
    node_stats       TEXT NULL,
    checkpoint       TEXT NULL,
    worker_id        TEXT NOT NULL DEFAULT '',
    attempt          INTEGER NOT NULL DEFAULT 0,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    started_at       TEXT NULL,
    finished_at      TEXT NULL,
    heartbeat_at     TEXT NULL
);
CREATE INDEX ix_pipeline_runs_pipeline ON pipeline_runs (pipeline_id, created_at);
CREATE INDEX ix_pipeline_runs_status ON pipeline_runs (status, created_at);

CREATE TABLE dead_letters (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id     TEXT NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    node       TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT '',
    line       BIGINT NOT NULL DEFAULT 0,
    field      TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL,
    raw        TEXT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_dead_letters_run ON dead_letters (run_id, id);

CREATE TABLE system_logs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time       TEXT NOT NULL,
    level      TEXT NOT NULL,
    source     TEXT NOT NULL DEFAULT '',
    message    TEXT NOT NULL,
    run_id     TEXT NOT NULL DEFAULT '',
    node       TEXT NOT NULL DEFAULT '',
    request_id TEXT NOT NULL DEFAULT '',
    details    TEXT NULL
);
CREATE INDEX ix_system_logs_run ON system_logs (run_id, id);
CREATE INDEX ix_system_logs_time ON system_logs (time);

CREATE TABLE transformations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    config      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    updated_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_transformations_name ON transformations (LOWER(name));

CREATE TABLE uploaded_files (
    id            TEXT PRIMARY KEY,
    original_name TEXT NOT NULL,
    stored_path   TEXT NOT NULL,
    size          BIGINT NOT NULL,
    content_type  TEXT NOT NULL DEFAULT '',
    sha256        TEXT NOT NULL,
    uploaded_by   TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL
);

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

CREATE TABLE audit_logs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        TEXT NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    actor_name  TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL DEFAULT '',
    target_id   TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    result      TEXT NOT NULL,
    request_id  TEXT NOT NULL DEFAULT '',
    details     TEXT NULL
);
CREATE INDEX ix_audit_logs_time ON audit_logs (time);
CREATE INDEX ix_audit_logs_actor ON audit_logs (actor_id, time);
CREATE INDEX ix_audit_logs_target ON audit_logs (target_type, target_id, time);

CREATE TABLE user_preferences (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    theme      TEXT NOT NULL,
    language   TEXT NOT NULL,
    timezone   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE dashboard_layouts (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    layout     TEXT NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_dashboard_layouts_default ON dashboard_layouts (user_id) WHERE is_default;
CREATE UNIQUE INDEX ux_dashboard_layouts_name ON dashboard_layouts (user_id, LOWER(name));

-- +goose Down
DROP TABLE dashboard_layouts;
DROP TABLE user_preferences;
DROP TABLE audit_logs;
DROP TABLE alerts;
DROP TABLE alert_rules;
DROP TABLE uploaded_files;
DROP TABLE transformations;
DROP TABLE system_logs;
DROP TABLE dead_letters;
DROP TABLE pipeline_runs;
DROP TABLE pipeline_versions;
DROP TABLE pipelines;
DROP TABLE connectors;
DROP TABLE api_tokens;
DROP TABLE refresh_tokens;
DROP TABLE users;
