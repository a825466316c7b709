package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file holds settings (one JSON document per key) and what the clean-up service
// (internal/retention) deletes. Every Delete... method removes at most limit rows in one
// statement, so that a clean-up never holds a long transaction; the caller repeats until it
// gets less than limit.

// Setting is one stored settings document.
type Setting struct {
	Key       string
	Value     json.RawMessage
	UpdatedBy string
	UpdatedAt time.Time
}

// GetSetting returns the document stored under key (ErrNotFound when none was saved).
func (s *Store) GetSetting(ctx context.Context, key string) (Setting, error) {
	return getOne(ctx, s, "get setting", "setting", key, func(row scanner) (Setting, error) {
		var st Setting
		err := row.Scan(&st.Key, jsonCol{&st.Value}, &st.UpdatedBy, timeCol{&st.UpdatedAt})
		return st, err
	}, `SELECT key, value, updated_by, updated_at FROM settings WHERE key = $1`, key)
}

// PutSetting stores value under key, replacing what was there, and returns the stored setting.
func (s *Store) PutSetting(ctx context.Context, key string, value json.RawMessage, by string) (Setting, error) {
	if key == "" {
		return Setting{}, fmt.Errorf("put setting: %w: key is required", ErrInvalid)
	}
	v, err := jsonArg("value", value, nil)
	if err != nil || v == nil {
		return Setting{}, fmt.Errorf("put setting %s: %w: the value must be a JSON document", key, ErrInvalid)
	}
	now := s.nowUTC()
	_, err = s.db.ExecContext(ctx, `INSERT INTO settings (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		key, v, noNUL(by), s.ts(now))
	if err != nil {
		return Setting{}, s.mapErr(err, "put setting")
	}
	return Setting{Key: key, Value: value, UpdatedBy: by, UpdatedAt: now}, nil
}

// terminalStatuses is the SQL list of final run states.
const terminalStatuses = `('succeeded', 'failed', 'cancelled')`

// notReplayed excludes a run (aliased r) that a queued or running replay still reads the dead
// letters of.
const notReplayed = `NOT EXISTS (SELECT 1 FROM pipeline_runs q WHERE q.replay_of = r.id AND q.status IN ('queued', 'running', 'awaiting_approval'))`

// PurgedRuns counts what DeleteFinishedRuns removed.
type PurgedRuns struct {
	Runs        int
	Logs        int
	DeadLetters int
}

// DeleteFinishedRuns deletes up to limit runs in a final state (succeeded, failed, cancelled) that
// finished before cutoff, with their log lines, dead letters and schedule tick records (their
// checkpoints and outputs records are columns of the run). A queued or running run is never touched, nor a finished run
// whose dead letters a queued or running replay reads. Log lines and dead letters go first, in
// statements of at most limit rows each, and the runs last: a clean-up interrupted half way leaves
// runs that the next one finishes.
func (s *Store) DeleteFinishedRuns(ctx context.Context, cutoff time.Time, limit int) (PurgedRuns, error) {
	var out PurgedRuns
	limit, _ = Page{Limit: limit}.norm()
	ids, err := queryAll(ctx, s, "delete finished runs", `SELECT r.id FROM pipeline_runs r
		WHERE r.status IN `+terminalStatuses+` AND COALESCE(r.finished_at, r.updated_at) < $1 AND `+notReplayed+`
		ORDER BY r.finished_at, r.id LIMIT $2`, []any{s.ts(cutoff), limit}, func(row scanner) (string, error) {
		var id string
		return id, row.Scan(&id)
	})
	if err != nil || len(ids) == 0 {
		return out, err
	}
	marks := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		marks[i] = fmt.Sprintf("$%d", i+1)
		args[i] = id
	}
	in := `(` + strings.Join(marks, ", ") + `)`
	lim := fmt.Sprintf("$%d", len(ids)+1)
	for _, part := range []struct {
		table string
		n     *int
	}{{"system_logs", &out.Logs}, {"dead_letters", &out.DeadLetters}} {
		for {
			res, err := s.db.ExecContext(ctx, `DELETE FROM `+part.table+` WHERE id IN (SELECT id FROM `+part.table+
				` WHERE run_id IN `+in+` LIMIT `+lim+`)`, append(args, limit)...)
			n, err := rowsAffected(s, res, err, "delete finished runs: "+part.table)
			if err != nil {
				return out, err
			}
			*part.n += n
			if n < limit {
				break
			}
		}
	}
	// The schedule tick records of these runs go too, except a pipeline's latest handled tick
	// (which the scheduler's exactly-once check may still meet); older ticks are never handled again.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM schedule_ticks WHERE run_id IN `+in+` AND tick <
		(SELECT p.schedule_last_tick FROM pipelines p WHERE p.id = schedule_ticks.pipeline_id)`, args...); err != nil {
		return out, s.mapErr(err, "delete finished runs: schedule_ticks")
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM pipeline_runs WHERE id IN `+in+` AND status IN `+terminalStatuses, args...)
	n, err := rowsAffected(s, res, err, "delete finished runs")
	out.Runs = n
	return out, err
}

// DeleteDeadLettersBefore deletes up to limit dead letters created before cutoff that belong to
// finished runs (never those of a queued or running run, nor of a run a queued or running replay
// reads) and returns how many.
func (s *Store) DeleteDeadLettersBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	limit, _ = Page{Limit: limit}.norm()
	res, err := s.db.ExecContext(ctx, `DELETE FROM dead_letters WHERE id IN (SELECT d.id FROM dead_letters d
		JOIN pipeline_runs r ON r.id = d.run_id
		WHERE d.created_at < $1 AND r.status IN `+terminalStatuses+` AND `+notReplayed+` LIMIT $2)`, s.ts(cutoff), limit)
	return rowsAffected(s, res, err, "delete dead letters")
}

// DeleteServerLogsBefore deletes up to limit server log records (the System logs page) written
// before cutoff, then, with what is left of limit, log lines that belong to no run (a run's lines
// go with the run), and returns how many.
func (s *Store) DeleteServerLogsBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	limit, _ = Page{Limit: limit}.norm()
	res, err := s.db.ExecContext(ctx, `DELETE FROM server_logs WHERE id IN (SELECT id FROM server_logs
		WHERE time < $1 LIMIT $2)`, s.ts(cutoff), limit)
	n, err := rowsAffected(s, res, err, "delete server logs")
	if err != nil || n >= limit {
		return n, err
	}
	res, err = s.db.ExecContext(ctx, `DELETE FROM system_logs WHERE id IN (SELECT id FROM system_logs
		WHERE run_id = '' AND time < $1 LIMIT $2)`, s.ts(cutoff), limit-n)
	m, err := rowsAffected(s, res, err, "delete server logs")
	return n + m, err
}

// DeleteExpiredRefreshTokensBatch deletes up to limit refresh tokens that expired before cutoff
// and returns how many.
func (s *Store) DeleteExpiredRefreshTokensBatch(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	limit, _ = Page{Limit: limit}.norm()
	res, err := s.db.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens
		WHERE expires_at < $1 LIMIT $2)`, s.ts(cutoff), limit)
	return rowsAffected(s, res, err, "delete expired refresh tokens")
}

// UploadedFilesBefore lists up to limit uploaded files created before cutoff with an id greater
// than afterID, in id order (page through with the last id).
func (s *Store) UploadedFilesBefore(ctx context.Context, cutoff time.Time, afterID string, limit int) ([]UploadedFile, error) {
	limit, _ = Page{Limit: limit}.norm()
	return queryAll(ctx, s, "list uploaded files", `SELECT `+fileCols+` FROM uploaded_files
		WHERE created_at < $1 AND id > $2 ORDER BY id LIMIT $3`, []any{s.ts(cutoff), afterID, limit}, scanFile)
}

// UploadReferenced reports whether the upload id appears anywhere in a saved pipeline's spec (any
// version, drafts and deleted pipelines included), a saved connector's config or a saved
// transformation's config. It looks for the id as text (case-insensitively), so it may keep a file that is merely
// mentioned; it never misses a reference.
func (s *Store) UploadReferenced(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return false, fmt.Errorf("upload referenced: %w: id is required", ErrInvalid)
	}
	pat := likePattern(id)
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 WHERE
		EXISTS (SELECT 1 FROM pipeline_versions WHERE LOWER(spec) LIKE $1 ESCAPE '\')
		OR EXISTS (SELECT 1 FROM pipelines WHERE LOWER(spec) LIKE $1 ESCAPE '\')
		OR EXISTS (SELECT 1 FROM connectors WHERE LOWER(CAST(config AS TEXT)) LIKE $1 ESCAPE '\')
		OR EXISTS (SELECT 1 FROM transformations WHERE LOWER(CAST(config AS TEXT)) LIKE $1 ESCAPE '\')`, pat).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, s.mapErr(err, "upload referenced")
	}
	return true, nil
}
