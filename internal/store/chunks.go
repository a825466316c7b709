package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// This file holds the chunks of partitioned runs (table run_chunks): one key range of the run's
// source each, run as its own queue job with its own lease, fenced like a run by worker and attempt.
// A chunk goes queued -> running -> succeeded | failed | cancelled; a running chunk whose worker
// died, or that failed with a retryable error, goes back to queued. The run stays running until
// every chunk has ended; whoever ends the last one records the run's outcome in the same
// transaction (LockRun serialises them).

// Chunk is one key range of a partitioned run.
type Chunk struct {
	RunID string
	Idx   int
	// Field, Lo and Hi are the key range (Lo inclusive, Hi exclusive, "" open).
	Field, Lo, Hi string
	Status        RunStatus
	Attempt       int
	WorkerID      string
	HeartbeatAt   *time.Time
	Checkpoint    json.RawMessage
	NodeStats     json.RawMessage
	RowsRead      int64
	RowsWritten   int64
	Error         string
	StartedAt     *time.Time
	FinishedAt    *time.Time
	UpdatedAt     time.Time
	// Positions is the latest report of an instance of a deployed streaming run (JSON owned by the
	// runs package; nil: none yet, or a key-range chunk).
	Positions json.RawMessage
}

const chunkCols = `run_id, idx, range_field, range_lo, range_hi, status, attempt, worker_id, heartbeat_at, checkpoint,
	node_stats, rows_read, rows_written, error, started_at, finished_at, updated_at, positions`

func scanChunk(row scanner) (Chunk, error) {
	var c Chunk
	var status string
	err := row.Scan(&c.RunID, &c.Idx, &c.Field, &c.Lo, &c.Hi, &status, &c.Attempt, &c.WorkerID, nullTimeCol{&c.HeartbeatAt},
		jsonCol{&c.Checkpoint}, jsonCol{&c.NodeStats}, &c.RowsRead, &c.RowsWritten, &c.Error, nullTimeCol{&c.StartedAt},
		nullTimeCol{&c.FinishedAt}, timeCol{&c.UpdatedAt}, jsonCol{&c.Positions})
	c.Status = RunStatus(status)
	return c, err
}

// CreateChunks records the queued chunks of a running run (in the transaction that inserts their
// jobs).
func (t *Tx) CreateChunks(ctx context.Context, runID string, chunks []Chunk) error {
	s := t.s
	now := s.ts(s.nowUTC())
	for _, c := range chunks {
		if err := s.insert(ctx, s.db, "create chunk", "run_chunks", chunkCols,
			runID, c.Idx, noNUL(c.Field), noNUL(c.Lo), noNUL(c.Hi), string(RunQueued), 0, "", nil, nil, nil, 0, 0, "", nil, nil, now, nil); err != nil {
			return err
		}
	}
	return nil
}

// ListChunks returns a run's chunks in index order (none for a run that is not partitioned).
func (s *Store) ListChunks(ctx context.Context, runID string) ([]Chunk, error) {
	return queryAll(ctx, s, "list chunks", `SELECT `+chunkCols+` FROM run_chunks WHERE run_id = $1 ORDER BY idx`, []any{runID}, scanChunk)
}

// ListChunks is Store.ListChunks in the transaction.
func (t *Tx) ListChunks(ctx context.Context, runID string) ([]Chunk, error) {
	return t.s.ListChunks(ctx, runID)
}

// GetChunk returns one chunk.
func (s *Store) GetChunk(ctx context.Context, runID string, idx int) (Chunk, error) {
	return getOne(ctx, s, "get chunk", "chunk", fmt.Sprintf("%s#%d", runID, idx), scanChunk,
		`SELECT `+chunkCols+` FROM run_chunks WHERE run_id = $1 AND idx = $2`, runID, idx)
}

// ClaimChunk moves a queued chunk of a running run to running for workerID, increments its Attempt
// and sets its heartbeat. ErrConflict when the chunk is not queued or its run is not running, or
// has a cancel request.
func (s *Store) ClaimChunk(ctx context.Context, runID string, idx int, workerID string) (Chunk, error) {
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE run_chunks SET status = $1, worker_id = $2, attempt = attempt + 1,
		started_at = COALESCE(started_at, $3), heartbeat_at = $3, updated_at = $3
		WHERE run_id = $4 AND idx = $5 AND status = $6
		AND EXISTS (SELECT 1 FROM pipeline_runs r WHERE r.id = $4 AND r.status = $1 AND r.cancel_requested = $7)`,
		string(RunRunning), workerID, now, runID, idx, string(RunQueued), false)
	n, err := rowsAffected(s, res, err, "claim chunk")
	if err != nil {
		return Chunk{}, err
	}
	if n == 0 {
		return Chunk{}, fmt.Errorf("claim chunk %d of run %s: not queued, or the run is not running: %w", idx, runID, ErrConflict)
	}
	return s.GetChunk(ctx, runID, idx)
}

// chunkOwner is the fence of a chunk's attempt: the WHERE clause after "run_id = $a AND idx = $b".
const chunkOwner = ` AND status = 'running' AND worker_id = $%d AND attempt = $%d`

// ChunkHeartbeat records that workerID still runs the chunk in attempt. stop says why the chunk
// should stop now ("" to go on): its run has a cancel request, is no longer running, or another
// chunk of it failed. ErrConflict when the chunk is not running under that worker and attempt.
func (s *Store) ChunkHeartbeat(ctx context.Context, runID string, idx int, workerID string, attempt int) (stop string, err error) {
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE run_chunks SET heartbeat_at = $1 WHERE run_id = $2 AND idx = $3`+fmt.Sprintf(chunkOwner, 4, 5),
		now, runID, idx, workerID, attempt)
	n, err := rowsAffected(s, res, err, "chunk heartbeat")
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", fmt.Errorf("chunk %d of run %s is no longer running as attempt %d of worker %s: %w", idx, runID, attempt, workerID, ErrConflict)
	}
	return s.chunkStop(ctx, runID)
}

// chunkStop says why the chunks of a run should stop ("" none).
func (s *Store) chunkStop(ctx context.Context, runID string) (string, error) {
	var status, deployment string
	var cancel bool
	var failed int
	if err := s.db.QueryRowContext(ctx, `SELECT r.status, r.cancel_requested,
		(SELECT COUNT(*) FROM run_chunks c WHERE c.run_id = r.id AND c.status = $2),
		COALESCE((SELECT d.state FROM run_deployments d WHERE d.run_id = r.id), '')
		FROM pipeline_runs r WHERE r.id = $1`, runID, string(RunFailed)).Scan(&status, &cancel, &failed, &deployment); err != nil {
		return "", s.mapErr(err, "chunk heartbeat: read run")
	}
	switch {
	case cancel:
		return "cancel", nil
	case deployment == string(DeploymentPaused) || deployment == string(DeploymentRestarting) || deployment == string(DeploymentStopping):
		return "deployment " + deployment, nil
	case status != string(RunRunning) && status != string(RunAwaitingApproval):
		// a run awaiting approval of a chunk's schema changes lets its running chunks finish
		return "run " + status, nil
	case failed > 0:
		return "chunk failed", nil
	}
	return "", nil
}

// CheckChunkOwner returns nil when the chunk is running under workerID in attempt, else
// ErrConflict: the fence a worker checks before committing the chunk's destinations.
func (s *Store) CheckChunkOwner(ctx context.Context, runID string, idx int, workerID string, attempt int) error {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM run_chunks WHERE run_id = $1 AND idx = $2`+fmt.Sprintf(chunkOwner, 3, 4),
		runID, idx, workerID, attempt).Scan(&n); err != nil {
		return s.mapErr(err, "check chunk owner")
	}
	if n == 0 {
		return fmt.Errorf("chunk %d of run %s is no longer running as attempt %d of worker %s: %w", idx, runID, attempt, workerID, ErrConflict)
	}
	return nil
}

// SaveChunkCheckpoint stores a running chunk's checkpoint, node stats and row counts, and refreshes
// its heartbeat, when the chunk is still owned by workerID in attempt (ErrConflict otherwise).
func (s *Store) SaveChunkCheckpoint(ctx context.Context, runID string, idx int, workerID string, attempt int, checkpoint, nodeStats json.RawMessage, read, written int64) error {
	cp, err := jsonArg("checkpoint", checkpoint, nil)
	if err != nil {
		return fmt.Errorf("save chunk checkpoint: %w", err)
	}
	stats, err := jsonArg("node_stats", nodeStats, nil)
	if err != nil {
		return fmt.Errorf("save chunk checkpoint: %w", err)
	}
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE run_chunks SET checkpoint = $1, node_stats = $2, rows_read = $3, rows_written = $4,
		heartbeat_at = $5, updated_at = $5 WHERE run_id = $6 AND idx = $7`+fmt.Sprintf(chunkOwner, 8, 9),
		cp, stats, read, written, now, runID, idx, workerID, attempt)
	n, err := rowsAffected(s, res, err, "save chunk checkpoint")
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("chunk %d of run %s is no longer running as attempt %d of worker %s: %w", idx, runID, attempt, workerID, ErrConflict)
	}
	return nil
}

// LockRun takes the write lock of a run's row for the rest of the transaction (ending a chunk and
// settling the run happen under it, so two chunks ending at once cannot both miss, or both record,
// the run's outcome) and returns the run.
func (t *Tx) LockRun(ctx context.Context, id string) (Run, error) {
	s := t.s
	res, err := s.db.ExecContext(ctx, `UPDATE pipeline_runs SET updated_at = updated_at WHERE id = $1`, id)
	n, err := rowsAffected(s, res, err, "lock run")
	if err != nil {
		return Run{}, err
	}
	if n == 0 {
		return Run{}, notFound("run", id)
	}
	return s.GetRun(ctx, id)
}

// ChunkEnd is how EndChunk ends a running chunk.
type ChunkEnd struct {
	// Status is succeeded, failed or cancelled, or queued (it runs again: a retry or a take-over).
	Status    RunStatus
	Error     string
	NodeStats json.RawMessage // nil keeps the stored stats
	// RowsRead and RowsWritten are set when NodeStats is.
	RowsRead, RowsWritten int64
	// WorkerID and Attempt, when WorkerID is set, fence the update: the chunk must still be running
	// under that worker in that attempt (ErrConflict otherwise).
	WorkerID string
	Attempt  int
}

// EndChunk moves a running chunk to e.Status (queued: back in the queue, its checkpoint kept).
func (t *Tx) EndChunk(ctx context.Context, runID string, idx int, e ChunkEnd) error {
	s := t.s
	stats, err := jsonArg("node_stats", e.NodeStats, nil)
	if err != nil {
		return fmt.Errorf("end chunk: %w", err)
	}
	now := s.ts(s.nowUTC())
	var finished any
	if e.Status.Terminal() {
		finished = now
	}
	set := `status = $1, error = $2, finished_at = $3, updated_at = $4`
	args := []any{string(e.Status), noNUL(e.Error), finished, now}
	if e.Status == RunQueued {
		set += `, worker_id = ''`
	}
	if stats != nil {
		set += `, node_stats = $5, rows_read = $6, rows_written = $7`
		args = append(args, stats, e.RowsRead, e.RowsWritten)
	}
	args = append(args, runID, idx)
	q := fmt.Sprintf(`UPDATE run_chunks SET %s WHERE run_id = $%d AND idx = $%d AND status = 'running'`, set, len(args)-1, len(args))
	if e.WorkerID != "" {
		args = append(args, e.WorkerID, e.Attempt)
		q += fmt.Sprintf(` AND worker_id = $%d AND attempt = $%d`, len(args)-1, len(args))
	}
	res, err := s.db.ExecContext(ctx, q, args...)
	n, err := rowsAffected(s, res, err, "end chunk")
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("end chunk %d of run %s: it is not running (as attempt %d of worker %s): %w", idx, runID, e.Attempt, e.WorkerID, ErrConflict)
	}
	return nil
}

// CancelQueuedChunks ends the queued chunks of a run cancelled with reason and returns how many.
func (t *Tx) CancelQueuedChunks(ctx context.Context, runID, reason string) (int, error) {
	s := t.s
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE run_chunks SET status = $1, error = $2, finished_at = $3, updated_at = $3
		WHERE run_id = $4 AND status = $5`, string(RunCancelled), noNUL(reason), now, runID, string(RunQueued))
	return rowsAffected(s, res, err, "cancel queued chunks")
}

// FindStaleChunks returns running chunks whose heartbeat is older than before (their worker died or
// is paused): candidates for a take-over.
func (s *Store) FindStaleChunks(ctx context.Context, before time.Time) ([]Chunk, error) {
	return queryAll(ctx, s, "find stale chunks", `SELECT `+chunkCols+` FROM run_chunks
		WHERE status = $1 AND (heartbeat_at IS NULL OR heartbeat_at < $2) ORDER BY run_id, idx`,
		[]any{string(RunRunning), s.ts(before)}, scanChunk)
}

// EndAttempt is Store.EndAttempt in the transaction.
func (t *Tx) EndAttempt(ctx context.Context, runID string, attempt int, outcome, errText string) error {
	return t.s.EndAttempt(ctx, runID, attempt, outcome, errText)
}
