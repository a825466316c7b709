package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrNotFound: the row does not exist (or is soft-deleted), or a row it
	// refers to does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique value is taken, or an optimistic check failed
	// (the row changed since it was read).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the arguments cannot be stored as given.
	ErrInvalid = errors.New("invalid")
)

// ConflictError is the ErrConflict of a unique violation; Field names the
// value that is taken ("username", "email", "name", ...).
type ConflictError struct {
	Entity string // table, e.g. "users"
	Field  string
}

func (e *ConflictError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: conflict: a row with the same unique value exists", e.Entity)
	}
	return fmt.Sprintf("%s: conflict: %s already exists", e.Entity, e.Field)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// notFound builds the error for a missing entity.
func notFound(entity, id string) error {
	return fmt.Errorf("%s %q: %w", entity, id, ErrNotFound)
}

// mapErr turns driver errors into the package's errors, adding op as context.
func (s *Store) mapErr(err error, op string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			entity, field := conflictTarget(pgErr.ConstraintName)
			if entity == "" {
				entity = pgErr.TableName
			}
			return fmt.Errorf("%s: %w", op, &ConflictError{Entity: entity, Field: field})
		case "23503": // foreign_key_violation
			return fmt.Errorf("%s: referenced row: %w", op, ErrNotFound)
		case "22P02", "23502", "23514", "22001": // bad text repr, not null, check, too long
			return fmt.Errorf("%s: %w: %s", op, ErrInvalid, pgErr.Message)
		case "22021", "22P05": // a NUL byte in text, \u0000 in JSON: PostgreSQL stores neither
			return fmt.Errorf("%s: %w: text must not contain NUL characters (%s)", op, ErrInvalid, pgErr.Message)
		}
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			entity, field := sqliteConflictTarget(sqErr.Error())
			return fmt.Errorf("%s: %w", op, &ConflictError{Entity: entity, Field: field})
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%s: referenced row: %w", op, ErrNotFound)
		case sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_CHECK:
			return fmt.Errorf("%s: %w: %s", op, ErrInvalid, sqErr.Error())
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// conflictTarget maps a unique index name (ux_<table>_<field>) to its table
// and field.
func conflictTarget(index string) (entity, field string) {
	switch index {
	case "users_pkey", "refresh_tokens_pkey", "api_tokens_pkey", "connectors_pkey", "pipelines_pkey",
		"pipeline_runs_pkey", "transformations_pkey", "uploaded_files_pkey", "alert_rules_pkey",
		"alerts_pkey", "alert_channels_pkey", "alert_deliveries_pkey", "dashboard_layouts_pkey", "user_preferences_pkey", "saved_queries_pkey":
		return strings.TrimSuffix(index, "_pkey"), "id"
	case "pipeline_versions_pkey":
		return "pipeline_versions", "version"
	}
	for _, table := range []string{
		"users", "refresh_tokens", "api_tokens", "connectors", "pipelines", "transformations",
		"alert_rules", "alert_channels", "dashboard_layouts", "saved_queries",
	} {
		if rest, ok := strings.CutPrefix(index, "ux_"+table+"_"); ok {
			if table == "dashboard_layouts" && rest == "default" {
				return table, "is_default"
			}
			return table, rest
		}
	}
	return "", ""
}

// sqliteConflictTarget reads the table and field from a SQLite message:
// "UNIQUE constraint failed: users.id" or "... failed: index 'ux_users_email'".
func sqliteConflictTarget(msg string) (entity, field string) {
	const marker = "constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return "", ""
	}
	rest := strings.TrimSpace(msg[i+len(marker):])
	if j := strings.LastIndex(rest, " ("); j > 0 { // trailing " (2067)" error code
		rest = rest[:j]
	}
	if name, ok := strings.CutPrefix(rest, "index '"); ok {
		name, _, _ = strings.Cut(name, "'")
		return conflictTarget(name)
	}
	// "table.col1, table.col2": report the last column (the distinguishing one).
	cols := strings.Split(rest, ",")
	last := strings.TrimSpace(cols[len(cols)-1])
	last, _, _ = strings.Cut(last, " ")
	entity, field, _ = strings.Cut(last, ".")
	return entity, field
}
