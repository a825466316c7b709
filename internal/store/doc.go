// Package store persists the platform's metadata (users, tokens, connectors,
// pipelines and their versions, runs, logs, dead letters, alerts, the audit
// log, preferences and dashboards) in SQLite or PostgreSQL.
//
// One implementation over database/sql serves both dialects; the differences
// (placeholders are written $n for both, time and JSON encoding, DDL) live in
// a small dialect layer and in one embedded goose migration set per dialect.
//
// Contract: every method takes a context and is safe for concurrent use.
// Errors are ErrNotFound, ErrConflict (unique violation, stale optimistic
// check) or ErrInvalid wrapped with context; raw SQL errors never need to be
// shown to users. Lists take a Page and return the matching total. Audit
// entries are append-only: no method updates or deletes them.
package store
