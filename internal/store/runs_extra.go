package store

import (
	"context"
)

// This file holds what the run service (internal/runs) needs beyond runs.go:
// claiming in queue order and rewinding dead letters on resume.

// NextQueuedRuns returns up to limit queued runs, oldest first: the order a
// dispatcher claims them in (with ClaimRun, which settles races).
func (s *Store) NextQueuedRuns(ctx context.Context, limit int) ([]Run, error) {
	limit, _ = Page{Limit: limit}.norm()
	return queryAll(ctx, s, "next queued runs", `SELECT `+runCols+` FROM pipeline_runs
		WHERE status = $1 ORDER BY created_at, id LIMIT $2`, []any{string(RunQueued), limit}, scanRun)
}

// LastDeadLetterID returns the largest dead-letter ID of a run (0 when it has
// none): a commit token for a dead-letter sink.
func (s *Store) LastDeadLetterID(ctx context.Context, runID string) (int64, error) {
	var id int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM dead_letters WHERE run_id = $1`, runID).Scan(&id); err != nil {
		return 0, s.mapErr(err, "last dead letter")
	}
	return id, nil
}

// DeleteDeadLettersAfter removes a run's dead letters with ID > afterID (those
// written after the checkpoint a resumed run starts from) and returns how many.
func (s *Store) DeleteDeadLettersAfter(ctx context.Context, runID string, afterID int64) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM dead_letters WHERE run_id = $1 AND id > $2`, runID, afterID)
	return rowsAffected(s, res, err, "delete dead letters")
}
