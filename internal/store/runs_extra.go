package store

import (
	"context"
)

// This file holds what the run service (internal/runs) needs beyond runs.go:
// rewinding dead letters on resume (queue.go holds the queue's).

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
