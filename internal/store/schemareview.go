package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// PauseRun moves a running run owned by workerID in attempt to awaiting_approval with its review
// (schema changes waiting for a designer): it releases the worker and its lease (no heartbeat is
// expected, FindStaleRuns never takes it). ErrConflict when the run is no longer held so.
func (s *Store) PauseRun(ctx context.Context, id, workerID string, attempt int, review json.RawMessage) (Run, error) {
	rv, err := jsonArg("schema_review", review, nil)
	if err != nil {
		return Run{}, fmt.Errorf("pause run: %w", err)
	}
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE pipeline_runs SET status = $1, worker_id = '', heartbeat_at = NULL,
		schema_review = $2, updated_at = $3 WHERE id = $4 AND status = $5 AND worker_id = $6 AND attempt = $7`,
		string(RunAwaitingApproval), rv, now, id, string(RunRunning), workerID, attempt)
	if err := s.expectTransition(ctx, res, err, "pause run", id, RunRunning); err != nil {
		return Run{}, err
	}
	return s.GetRun(ctx, id)
}

// PauseChunkedRun moves a running partitioned run to awaiting_approval with its review (a chunk's
// schema changes wait for a designer; the run holds no lease of its own). ErrConflict when the run
// is not running (another chunk paused it first, or it ended).
func (t *Tx) PauseChunkedRun(ctx context.Context, id string, review json.RawMessage) (Run, error) {
	s := t.s
	rv, err := jsonArg("schema_review", review, nil)
	if err != nil {
		return Run{}, fmt.Errorf("pause run: %w", err)
	}
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE pipeline_runs SET status = $1, schema_review = $2, updated_at = $3 WHERE id = $4 AND status = $5`,
		string(RunAwaitingApproval), rv, now, id, string(RunRunning))
	if err := s.expectTransition(ctx, res, err, "pause run", id, RunRunning); err != nil {
		return Run{}, err
	}
	return s.GetRun(ctx, id)
}

// DecideReview records the decision on a run awaiting approval: to queued (approved: the run goes
// on), running (approved, a partitioned run: its waiting chunks are queued again) or failed
// (rejected, with errMsg). ErrConflict when the run is not awaiting approval (another reviewer
// decided first).
func (s *Store) DecideReview(ctx context.Context, id string, review json.RawMessage, to RunStatus, errMsg string) (Run, error) {
	rv, err := jsonArg("schema_review", review, nil)
	if err != nil {
		return Run{}, fmt.Errorf("decide review: %w", err)
	}
	now := s.ts(s.nowUTC())
	var finished any
	switch to {
	case RunQueued, RunRunning:
	case RunFailed:
		finished = now
	default:
		return Run{}, fmt.Errorf("decide review: %w: %q is neither queued, running nor failed", ErrInvalid, to)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE pipeline_runs SET status = $1, schema_review = $2, error = $3,
		finished_at = $4, updated_at = $5 WHERE id = $6 AND status = $7`,
		string(to), rv, noNUL(errMsg), finished, now, id, string(RunAwaitingApproval))
	if err := s.expectTransition(ctx, res, err, "decide review", id, RunAwaitingApproval); err != nil {
		return Run{}, err
	}
	return s.GetRun(ctx, id)
}

// SaveSchemaSnapshot keeps the schema a destination node of a pipeline received in a successful run
// (JSON owned by internal/schemachange), replacing the previous one.
func (s *Store) SaveSchemaSnapshot(ctx context.Context, pipelineID, node, runID string, snapshot json.RawMessage) error {
	snap, err := jsonArg("snapshot", snapshot, nil)
	if err != nil {
		return fmt.Errorf("save schema snapshot: %w", err)
	}
	now := s.ts(s.nowUTC())
	_, err = s.db.ExecContext(ctx, `INSERT INTO schema_snapshots (pipeline_id, node, snapshot, run_id, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (pipeline_id, node) DO UPDATE SET snapshot = $3, run_id = $4, updated_at = $5`,
		pipelineID, noNUL(node), snap, runID, now)
	return s.mapErr(err, "save schema snapshot")
}

// SchemaSnapshots returns a pipeline's snapshots by destination node.
func (s *Store) SchemaSnapshots(ctx context.Context, pipelineID string) (map[string]json.RawMessage, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT node, snapshot FROM schema_snapshots WHERE pipeline_id = $1`, pipelineID)
	if err != nil {
		return nil, s.mapErr(err, "schema snapshots")
	}
	defer rows.Close()
	out := map[string]json.RawMessage{}
	for rows.Next() {
		var node string
		var snap json.RawMessage
		if err := rows.Scan(&node, jsonCol{&snap}); err != nil {
			return nil, s.mapErr(err, "schema snapshots")
		}
		out[node] = snap
	}
	return out, s.mapErr(rows.Err(), "schema snapshots")
}
