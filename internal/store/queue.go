package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// This file holds what the River queue (internal/runs) keeps beside River's own tables: claims that
// respect a pipeline's concurrency limit, the attempts of each run, the registry of worker
// processes, and queue figures for /metrics.

// ErrBusy is returned by ClaimRunWithin when the pipeline already has its maximum of running runs.
var ErrBusy = errors.New("the pipeline has its maximum of running runs")

// ClaimRunWithin is ClaimRun that also refuses (ErrBusy) while the pipeline already has maxRunning
// running runs (0: no limit). The count and the claim happen in one transaction that holds the
// pipeline's lock (PostgreSQL: an advisory lock; SQLite: the write lock), so two workers cannot both
// take the last slot. The claim opens the run's attempt (ListAttempts).
func (s *Store) ClaimRunWithin(ctx context.Context, id, workerID string, maxRunning int) (Run, error) {
	var claimed Run
	err := s.InTx(ctx, func(tx *Tx) error {
		ts := tx.s
		var pipelineID string
		var status string
		if err := ts.db.QueryRowContext(ctx, `SELECT pipeline_id, status FROM pipeline_runs WHERE id = $1`, id).Scan(&pipelineID, &status); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("claim run %s: %w", id, ErrNotFound)
			}
			return ts.mapErr(err, "claim run")
		}
		if status != string(RunQueued) {
			return fmt.Errorf("claim run %s: status is %s, not %s: %w", id, status, RunQueued, ErrConflict)
		}
		if maxRunning > 0 {
			if ts.dialect == Postgres {
				if _, err := ts.db.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('aggregator_pipeline:' || $1))`, pipelineID); err != nil {
					return ts.mapErr(err, "claim run: lock pipeline")
				}
			}
			var running int
			if err := ts.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pipeline_runs WHERE pipeline_id = $1 AND status = $2`,
				pipelineID, string(RunRunning)).Scan(&running); err != nil {
				return ts.mapErr(err, "claim run: count running")
			}
			if running >= maxRunning {
				return fmt.Errorf("claim run %s: %d of %d allowed runs of pipeline %s are running: %w", id, running, maxRunning, pipelineID, ErrBusy)
			}
		}
		r, err := ts.ClaimRun(ctx, id, workerID)
		if err != nil {
			return err
		}
		if err := ts.insert(ctx, ts.db, "open attempt", "run_attempts", "run_id, attempt, worker_id, started_at, finished_at, outcome, error",
			r.ID, r.Attempt, workerID, ts.ts(ts.nowUTC()), nil, "running", ""); err != nil {
			return err
		}
		claimed = r
		return nil
	})
	return claimed, err
}

// CheckOwner returns nil when the run is running under workerID in attempt, else ErrConflict: the
// fence a worker checks before committing destinations.
func (s *Store) CheckOwner(ctx context.Context, id, workerID string, attempt int) error {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pipeline_runs WHERE id = $1 AND status = $2 AND worker_id = $3 AND attempt = $4`,
		id, string(RunRunning), workerID, attempt).Scan(&n); err != nil {
		return s.mapErr(err, "check run owner")
	}
	if n == 0 {
		return fmt.Errorf("run %s is no longer running as attempt %d of worker %s: %w", id, attempt, workerID, ErrConflict)
	}
	return nil
}

// Attempt is one attempt of a run: who ran it, when, and how it ended.
type Attempt struct {
	RunID      string
	Number     int
	WorkerID   string
	StartedAt  time.Time
	FinishedAt *time.Time
	// Outcome is running, succeeded, failed, cancelled, interrupted (a shutdown), lost (its worker
	// stopped sending heartbeats) or retry (a retryable failure; another attempt follows).
	Outcome string
	Error   string
}

// EndAttempt records how an open attempt of a run ended. Ending an attempt that is not open (or
// does not exist) does nothing: the first end wins.
func (s *Store) EndAttempt(ctx context.Context, runID string, attempt int, outcome, errText string) error {
	now := s.ts(s.nowUTC())
	_, err := s.db.ExecContext(ctx, `UPDATE run_attempts SET finished_at = $1, outcome = $2, error = $3
		WHERE run_id = $4 AND attempt = $5 AND outcome = 'running'`, now, outcome, noNUL(errText), runID, attempt)
	return s.mapErr(err, "end attempt")
}

// ListAttempts returns a run's attempts, first first.
func (s *Store) ListAttempts(ctx context.Context, runID string) ([]Attempt, error) {
	return queryAll(ctx, s, "list attempts", `SELECT run_id, attempt, worker_id, started_at, finished_at, outcome, error
		FROM run_attempts WHERE run_id = $1 ORDER BY attempt`, []any{runID}, func(row scanner) (Attempt, error) {
		var a Attempt
		err := row.Scan(&a.RunID, &a.Number, &a.WorkerID, timeCol{&a.StartedAt}, nullTimeCol{&a.FinishedAt}, &a.Outcome, &a.Error)
		return a, err
	})
}

// CountActiveRuns counts a pipeline's queued and running runs.
func (s *Store) CountActiveRuns(ctx context.Context, pipelineID string) (queued, running int, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT status, COUNT(*) FROM pipeline_runs WHERE pipeline_id = $1 AND status IN ($2, $3) GROUP BY status`,
		pipelineID, string(RunQueued), string(RunRunning))
	if err != nil {
		return 0, 0, s.mapErr(err, "count active runs")
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return 0, 0, s.mapErr(err, "count active runs")
		}
		if st == string(RunQueued) {
			queued = n
		} else {
			running = n
		}
	}
	return queued, running, s.mapErr(rows.Err(), "count active runs")
}

// Worker is a process that works the run queue, as it registered itself.
type Worker struct {
	ID          string
	Host        string
	PID         int
	Version     string
	Queues      []string
	Concurrency int
	Running     int // jobs running at its last heartbeat
	StartedAt   time.Time
	HeartbeatAt time.Time
	StoppedAt   *time.Time // set when it stopped cleanly
}

const workerCols = `id, host, pid, version, queues, concurrency, running, started_at, heartbeat_at, stopped_at`

func scanWorker(row scanner) (Worker, error) {
	var w Worker
	var queues json.RawMessage
	err := row.Scan(&w.ID, &w.Host, &w.PID, &w.Version, jsonCol{&queues}, &w.Concurrency, &w.Running,
		timeCol{&w.StartedAt}, timeCol{&w.HeartbeatAt}, nullTimeCol{&w.StoppedAt})
	if err == nil && len(queues) > 0 {
		err = json.Unmarshal(queues, &w.Queues)
	}
	return w, err
}

// RegisterWorker records a starting worker process (ID required); its StartedAt and HeartbeatAt are
// now.
func (s *Store) RegisterWorker(ctx context.Context, w Worker) (Worker, error) {
	if w.ID == "" {
		return Worker{}, fmt.Errorf("register worker: %w: id is required", ErrInvalid)
	}
	if w.Queues == nil {
		w.Queues = []string{}
	}
	q, err := json.Marshal(w.Queues)
	if err != nil {
		return Worker{}, fmt.Errorf("register worker: %w", err)
	}
	now := s.nowUTC()
	w.StartedAt, w.HeartbeatAt, w.StoppedAt = now, now, nil
	return valueOr(w, s.insert(ctx, s.db, "register worker", "workers", workerCols,
		w.ID, noNUL(w.Host), w.PID, noNUL(w.Version), string(q), w.Concurrency, w.Running, s.ts(now), s.ts(now), nil))
}

// WorkerHeartbeat refreshes a worker's heartbeat and its running count. ErrNotFound when the worker
// is not registered (its row was aged out while it could not reach the database): register again.
func (s *Store) WorkerHeartbeat(ctx context.Context, id string, running int) error {
	res, err := s.db.ExecContext(ctx, `UPDATE workers SET heartbeat_at = $1, running = $2 WHERE id = $3`, s.ts(s.nowUTC()), running, id)
	n, err := rowsAffected(s, res, err, "worker heartbeat")
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("worker %s: %w", id, ErrNotFound)
	}
	return nil
}

// StopWorker records that a worker stopped cleanly.
func (s *Store) StopWorker(ctx context.Context, id string) error {
	now := s.ts(s.nowUTC())
	_, err := s.db.ExecContext(ctx, `UPDATE workers SET stopped_at = $1, heartbeat_at = $1, running = 0 WHERE id = $2`, now, id)
	return s.mapErr(err, "stop worker")
}

// ListWorkers returns the workers whose heartbeat is not older than since, newest start first.
func (s *Store) ListWorkers(ctx context.Context, since time.Time) ([]Worker, error) {
	return queryAll(ctx, s, "list workers", `SELECT `+workerCols+` FROM workers WHERE heartbeat_at >= $1
		ORDER BY started_at DESC, id`, []any{s.ts(since)}, scanWorker)
}

// DeleteWorkersBefore removes the workers whose heartbeat is older than before (dead or stopped
// long ago) and returns how many.
func (s *Store) DeleteWorkersBefore(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM workers WHERE heartbeat_at < $1`, s.ts(before))
	return rowsAffected(s, res, err, "delete workers")
}

// QueueFigures are the run queue's figures for /metrics, read from River's job table.
type QueueFigures struct {
	// Waiting is jobs available or scheduled to run, by queue.
	Waiting map[string]int
	// Running is jobs being worked, by queue.
	Running map[string]int
	// OldestWait is how long the oldest available job has waited (0: none waits).
	OldestWait time.Duration
}

// QueueFigures reads the queue's figures.
func (s *Store) QueueFigures(ctx context.Context) (QueueFigures, error) {
	f := QueueFigures{Waiting: map[string]int{}, Running: map[string]int{}}
	rows, err := s.db.QueryContext(ctx, `SELECT queue, state, COUNT(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running') GROUP BY queue, state`)
	if err != nil {
		return f, s.mapErr(err, "queue figures")
	}
	defer rows.Close()
	for rows.Next() {
		var queue, state string
		var n int
		if err := rows.Scan(&queue, &state, &n); err != nil {
			return f, s.mapErr(err, "queue figures")
		}
		if state == "running" {
			f.Running[queue] += n
		} else {
			f.Waiting[queue] += n
		}
	}
	if err := rows.Err(); err != nil {
		return f, s.mapErr(err, "queue figures")
	}
	var oldest *time.Time
	// River writes its own time format; one this store cannot read leaves OldestWait at 0.
	if err := s.db.QueryRowContext(ctx, `SELECT MIN(scheduled_at) FROM river_job WHERE state = 'available'`).Scan(nullTimeCol{&oldest}); err == nil && oldest != nil {
		f.OldestWait = max(0, s.nowUTC().Sub(*oldest))
	}
	return f, nil
}
