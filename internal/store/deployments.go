package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// This file holds the deployments of streaming runs (table run_deployments): a run deployed with
// parallelism N has N chunks without a key range, its consumer instances, and one deployment row
// whose state says what its instances should do. Heartbeats of its chunks carry the state (paused,
// restarting, stopping: stop cleanly), and whoever ends the last running instance acts on it under
// the run's lock (see package runs).

// DeploymentState is the state of a deployed streaming run.
type DeploymentState string

// Deployment states.
const (
	DeploymentRunning    DeploymentState = "running"    // its instances run (or are queued to)
	DeploymentPaused     DeploymentState = "paused"     // its instances stopped after committing; resume queues them again
	DeploymentRestarting DeploymentState = "restarting" // its instances stop after committing, then are queued again
	DeploymentStopping   DeploymentState = "stopping"   // its instances stop after committing, then the run ends
	DeploymentStopped    DeploymentState = "stopped"    // the run ended by a stop
	DeploymentFailed     DeploymentState = "failed"     // an instance failed for good; the run failed
)

// Deployment is the deployment row of a streaming run.
type Deployment struct {
	RunID       string
	State       DeploymentState
	Parallelism int
	UpdatedAt   time.Time
}

func scanDeployment(row scanner) (Deployment, error) {
	var d Deployment
	var state string
	err := row.Scan(&d.RunID, &state, &d.Parallelism, timeCol{&d.UpdatedAt})
	d.State = DeploymentState(state)
	return d, err
}

// CreateDeployment records that a run is deployed with parallelism instances (in the transaction
// that creates its chunks), in state running.
func (t *Tx) CreateDeployment(ctx context.Context, runID string, parallelism int) error {
	s := t.s
	return s.insert(ctx, s.db, "create deployment", "run_deployments", "run_id, state, parallelism, updated_at",
		runID, string(DeploymentRunning), parallelism, s.ts(s.nowUTC()))
}

// GetDeployment returns a run's deployment (ErrNotFound: the run is not a deployment).
func (s *Store) GetDeployment(ctx context.Context, runID string) (Deployment, error) {
	return getOne(ctx, s, "get deployment", "deployment", runID, scanDeployment,
		`SELECT run_id, state, parallelism, updated_at FROM run_deployments WHERE run_id = $1`, runID)
}

// GetDeployment is Store.GetDeployment in the transaction.
func (t *Tx) GetDeployment(ctx context.Context, runID string) (Deployment, error) {
	return t.s.GetDeployment(ctx, runID)
}

// SetDeploymentState moves a run's deployment to state to when it is in one of from; ErrConflict
// (naming the current state) when it is not, ErrNotFound when the run is not a deployment.
func (t *Tx) SetDeploymentState(ctx context.Context, runID string, from []DeploymentState, to DeploymentState) error {
	s := t.s
	args := []any{string(to), s.ts(s.nowUTC()), runID}
	ph := make([]string, len(from))
	for i, f := range from {
		args = append(args, string(f))
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	res, err := s.db.ExecContext(ctx, `UPDATE run_deployments SET state = $1, updated_at = $2 WHERE run_id = $3 AND state IN (`+strings.Join(ph, ", ")+`)`, args...)
	n, err := rowsAffected(s, res, err, "set deployment state")
	if err != nil {
		return err
	}
	if n == 0 {
		d, err := s.GetDeployment(ctx, runID)
		if err != nil {
			return err
		}
		return fmt.Errorf("the deployment is %s: %w", d.State, ErrConflict)
	}
	return nil
}

// RequeueEndedChunks puts every chunk of a run that is neither queued nor running back in the
// queue (an instance of a deployment that resumes or restarts), keeping its checkpoint, and returns
// their indexes.
func (t *Tx) RequeueEndedChunks(ctx context.Context, runID, reason string) ([]int, error) {
	s := t.s
	var idx []int
	rows, err := s.db.QueryContext(ctx, `SELECT idx FROM run_chunks WHERE run_id = $1 AND status NOT IN ($2, $3) ORDER BY idx`,
		runID, string(RunQueued), string(RunRunning))
	if err != nil {
		return nil, s.mapErr(err, "requeue chunks")
	}
	for rows.Next() {
		var i int
		if err := rows.Scan(&i); err != nil {
			rows.Close()
			return nil, s.mapErr(err, "requeue chunks")
		}
		idx = append(idx, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.mapErr(err, "requeue chunks")
	}
	now := s.ts(s.nowUTC())
	_, err = s.db.ExecContext(ctx, `UPDATE run_chunks SET status = $1, error = $2, worker_id = '', finished_at = NULL, updated_at = $3
		WHERE run_id = $4 AND status NOT IN ($1, $5)`, string(RunQueued), noNUL(reason), now, runID, string(RunRunning))
	if err != nil {
		return nil, s.mapErr(err, "requeue chunks")
	}
	return idx, nil
}

// SaveChunkPositions stores the latest report of a running instance when it is still owned by
// workerID in attempt (ErrConflict otherwise).
func (s *Store) SaveChunkPositions(ctx context.Context, runID string, idx int, workerID string, attempt int, positions json.RawMessage) error {
	pos, err := jsonArg("positions", positions, nil)
	if err != nil {
		return fmt.Errorf("save chunk positions: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE run_chunks SET positions = $1 WHERE run_id = $2 AND idx = $3`+fmt.Sprintf(chunkOwner, 4, 5),
		pos, runID, idx, workerID, attempt)
	n, err := rowsAffected(s, res, err, "save chunk positions")
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("chunk %d of run %s is no longer running as attempt %d of worker %s: %w", idx, runID, attempt, workerID, ErrConflict)
	}
	return nil
}
