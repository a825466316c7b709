package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// riverSchemaVersion is the version of River's own schema that migration 6 applies (River v0.51.2's
// latest). A River upgrade that ships a newer schema comes with a new migration of ours.
const riverSchemaVersion = 8

// queueMigration is migration 6: River's tables (applied with River's migrator in the migration's
// transaction, so `aggregator migrate up` and AUTO_INIT_DB apply them with ours and `migrate down`
// removes them), the registry of worker processes, and the attempts of each run.
func (s *Store) queueMigration() *goose.Migration {
	// River applies each of its migrations in its own transaction (on PostgreSQL one adds an enum
	// value a later one uses, which one transaction cannot do); Migrate's advisory lock (PostgreSQL)
	// or the write lock and retry (SQLite) keep other processes out meanwhile.
	river := func(ctx context.Context, db *sql.DB, dir rivermigrate.Direction, target int) error {
		var res *rivermigrate.MigrateResult
		var err error
		migrate := func(m *rivermigrate.Migrator[*sql.Tx]) (*rivermigrate.MigrateResult, error) {
			return m.Migrate(ctx, dir, &rivermigrate.MigrateOpts{TargetVersion: target})
		}
		if s.dialect == SQLite {
			res, err = migrateWith(ctx, riversqlite.New(db), migrate)
		} else {
			res, err = migrateWith(ctx, riverdatabasesql.New(db), migrate)
		}
		if err != nil {
			return err
		}
		s.logRiver(ctx, res)
		return nil
	}
	up := func(ctx context.Context, db *sql.DB) error {
		if err := river(ctx, db, rivermigrate.DirectionUp, riverSchemaVersion); err != nil {
			return err
		}
		return inTxDB(ctx, db, s.queueTablesUp())
	}
	down := func(ctx context.Context, db *sql.DB) error {
		if err := inTxDB(ctx, db, queueTablesDown); err != nil {
			return err
		}
		return river(ctx, db, rivermigrate.DirectionDown, -1)
	}
	return goose.NewGoMigration(6, &goose.GoFunc{RunDB: up}, &goose.GoFunc{RunDB: down})
}

var queueTablesDown = []string{`DROP TABLE run_attempts`, `DROP TABLE workers`}

func inTxDB(ctx context.Context, db *sql.DB, stmts []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := execAll(ctx, tx, stmts); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *Store) logRiver(ctx context.Context, res *rivermigrate.MigrateResult) {
	for _, v := range res.Versions {
		s.log.InfoContext(ctx, "river migration applied", "river_version", v.Version, "name", v.Name)
	}
}

func migrateWith[D riverdriver.Driver[*sql.Tx]](_ context.Context, d D, fn func(m *rivermigrate.Migrator[*sql.Tx]) (*rivermigrate.MigrateResult, error)) (*rivermigrate.MigrateResult, error) {
	m, err := rivermigrate.New[*sql.Tx](d, nil)
	if err != nil {
		return nil, fmt.Errorf("river schema: %w", err)
	}
	res, err := fn(m)
	if err != nil {
		return nil, fmt.Errorf("river schema: %w", err)
	}
	return res, nil
}

func execAll(ctx context.Context, tx *sql.Tx, stmts []string) error {
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// queueTablesUp creates the workers registry and run attempts in the store's dialect.
func (s *Store) queueTablesUp() []string {
	ts, js := "TIMESTAMPTZ", "JSONB"
	if s.dialect == SQLite {
		ts, js = "TEXT", "TEXT"
	}
	return []string{
		// One row per process that works the queue (serve with RUN_WORKERS > 0, aggregator worker).
		`CREATE TABLE workers (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    version      TEXT NOT NULL,
    queues       ` + js + ` NOT NULL,
    concurrency  INTEGER NOT NULL,
    running      INTEGER NOT NULL DEFAULT 0,
    started_at   ` + ts + ` NOT NULL,
    heartbeat_at ` + ts + ` NOT NULL,
    stopped_at   ` + ts + ` NULL
)`,
		`CREATE INDEX ix_workers_heartbeat ON workers (heartbeat_at)`,
		// One row per attempt of a run: who ran it, when, and why it stopped.
		`CREATE TABLE run_attempts (
    run_id      TEXT NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    worker_id   TEXT NOT NULL,
    started_at  ` + ts + ` NOT NULL,
    finished_at ` + ts + ` NULL,
    outcome     TEXT NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, attempt)
)`,
	}
}
