package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Deployments. A run of a streaming pipeline with `parallelism: N` is a deployment: the worker that
// claims it records N chunks without a key range (its consumer instances) and a deployment row
// (store.Deployment) in one transaction with one ChunkArgs job per instance, exactly as a
// partitioned run records its chunks. Each instance is an engine run of the whole plan under the
// chunk machinery: its own lease, checkpoint (its sources' positions), fence and retries; an
// instance whose worker stops sending heartbeats is queued again by checkStaleChunks and resumes on
// any worker from its checkpoint (and the positions its consumer group committed). The instances
// of one deployment read one consumer group (a Kafka group, a JetStream durable, a RabbitMQ queue),
// so the broker spreads the partitions or messages among them.
//
// Control (Service.Pause, Resume, Restart, Stop) changes the deployment's state; the instances
// see it at their next heartbeat and stop cleanly (engine Options.Stop: the destinations commit,
// the final checkpoint is saved and the positions committed). Whoever ends the last running
// instance acts on the state under the run's lock (settle): paused stays so (the run stays
// running, nothing runs) until Resume queues the instances again; restarting queues them again at
// once; stopping ends the run succeeded. An instance that fails for good fails the run (the others
// stop), as a chunk does.

// EventDeployment carries a deployment's new state (Event.Deployment).
const EventDeployment = "run.deployment"

// ErrNotDeployment says a control (pause, resume, restart, stop) was asked of a run that is not a
// deployment.
var ErrNotDeployment = errors.New("the run is not a deployment (its pipeline has no parallelism): cancel it instead")

// chunkEnqueuer is the part of the Queue that queues chunks again (River).
type chunkEnqueuer interface {
	enqueueChunks(ctx context.Context, tx *store.Tx, runID string, idx []int) error
}

func (q *River) enqueueChunks(ctx context.Context, tx *store.Tx, runID string, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	jobs := make([]river.InsertManyParams, len(idx))
	for i, x := range idx {
		jobs[i] = river.InsertManyParams{Args: ChunkArgs{RunID: runID, Idx: x}}
	}
	if _, err := q.client.InsertManyTx(ctx, tx.SQL(), jobs); err != nil {
		return fmt.Errorf("insert instance jobs of run %s: %w", runID, err)
	}
	return nil
}

// deploy records the instances of a claimed run of a deployed pipeline and their jobs (split for a
// deployment).
func (q *River) deploy(ctx context.Context, run store.Run, pol Policy, plan *pipeline.Plan) {
	n := plan.Spec.Parallelism
	q.svc.enqueuing.Lock()
	//lint:ignore SA2001 the lock is a barrier: taking it is the point, nothing is guarded
	q.svc.enqueuing.Unlock()
	q.svc.publishStatus(run, "")
	err := q.svc.st.InTx(ctx, func(tx *store.Tx) error {
		chunks := make([]store.Chunk, n)
		idx := make([]int, n)
		for i := range n {
			chunks[i] = store.Chunk{Idx: i}
			idx[i] = i
		}
		if err := tx.CreateChunks(ctx, run.ID, chunks); err != nil {
			return err
		}
		if err := tx.CreateDeployment(ctx, run.ID, n); err != nil {
			return err
		}
		if err := q.enqueueChunks(ctx, tx, run.ID, idx); err != nil {
			return err
		}
		return tx.EndAttempt(ctx, run.ID, run.Attempt, "deployed", fmt.Sprintf("deployed as %d consumer instances", n))
	})
	if err != nil {
		why := fmt.Sprintf("deploy %d consumer instances: %v", n, err)
		q.svc.runLogLine(ctx, run.ID, "error", why)
		q.record(ctx, run, pol, outcome{status: store.RunFailed, err: why, retryable: Retryable(err)})
		return
	}
	q.svc.runLogLine(ctx, run.ID, "info", fmt.Sprintf("deployed as %d consumer instances of one consumer group; the queue's workers run them", n))
	q.svc.publishDeployment(run, store.DeploymentRunning)
	for i := range n {
		q.svc.publishChunk(run, ChunkEvent{Idx: i, Status: store.RunQueued})
	}
}

func (s *Service) publishDeployment(run store.Run, state store.DeploymentState) {
	s.publish(Event{Type: EventDeployment, RunID: run.ID, PipelineID: run.PipelineID, Status: store.RunRunning,
		Deployment: string(state), Time: s.now()})
}

// isInstance says whether a chunk is a consumer instance of a deployment (no key range).
func isInstance(c store.Chunk) bool { return c.Field == "" }

// Control is what Service.Control does to a deployment.
type Control string

// Controls.
const (
	ControlPause   Control = "pause"
	ControlResume  Control = "resume"
	ControlRestart Control = "restart"
	ControlStop    Control = "stop"
)

// Control pauses, resumes, restarts or stops a deployed run. A run that is not a deployment is
// ErrNotDeployment; a deployment in a state the control does not apply to (resume of a running
// one, anything on an ended run) is store.ErrConflict with the current state named.
func (s *Service) Control(ctx context.Context, runID string, c Control) (store.Deployment, error) {
	var d store.Deployment
	var run store.Run
	var fin *store.Run
	after := func() {}
	s.enqueuing.RLock()
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if run, err = tx.LockRun(ctx, runID); err != nil {
			return err
		}
		if d, err = tx.GetDeployment(ctx, runID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotDeployment
			}
			return err
		}
		if run.Status != store.RunRunning {
			return fmt.Errorf("the run is %s: %w", run.Status, store.ErrConflict)
		}
		var from []store.DeploymentState
		var to store.DeploymentState
		switch c {
		case ControlPause:
			from, to = []store.DeploymentState{store.DeploymentRunning}, store.DeploymentPaused
		case ControlResume:
			from, to = []store.DeploymentState{store.DeploymentPaused}, store.DeploymentRunning
		case ControlRestart:
			from, to = []store.DeploymentState{store.DeploymentRunning, store.DeploymentPaused}, store.DeploymentRestarting
			if d.State == store.DeploymentPaused {
				to = store.DeploymentRunning // nothing runs: queue the instances at once
			}
		case ControlStop:
			from, to = []store.DeploymentState{store.DeploymentRunning, store.DeploymentPaused, store.DeploymentRestarting}, store.DeploymentStopping
		default:
			return fmt.Errorf("unknown control %q: %w", c, store.ErrInvalid)
		}
		if err := tx.SetDeploymentState(ctx, runID, from, to); err != nil {
			return err
		}
		d.State = to
		if to == store.DeploymentRunning { // resume, or restart of a paused deployment
			return s.requeueInstances(ctx, tx, runID, "queued again: "+string(c))
		}
		// the instances stop at their next heartbeat; a paused deployment has none running
		fin, after, err = s.settle(ctx, tx, run)
		if fin != nil {
			d.State = store.DeploymentStopped
		}
		return err
	})
	s.enqueuing.RUnlock()
	if err != nil {
		return store.Deployment{}, err
	}
	s.runLogLine(ctx, runID, "info", fmt.Sprintf("deployment %s requested: now %s", c, d.State))
	s.publishDeployment(run, d.State)
	if d.State == store.DeploymentRunning {
		s.publishQueuedInstances(ctx, run)
	}
	s.finished(ctx, fin)
	after()
	return d, nil
}

// requeueInstances queues every ended instance of a deployment again with a job each (in tx).
func (s *Service) requeueInstances(ctx context.Context, tx *store.Tx, runID, reason string) error {
	idx, err := tx.RequeueEndedChunks(ctx, runID, reason)
	if err != nil {
		return err
	}
	ce, ok := s.queue.(chunkEnqueuer)
	if !ok {
		return errors.New("the queue cannot run deployments")
	}
	return ce.enqueueChunks(ctx, tx, runID, idx)
}

func (s *Service) publishQueuedInstances(ctx context.Context, run store.Run) {
	chunks, err := s.st.ListChunks(ctx, run.ID)
	if err != nil {
		return
	}
	for _, c := range chunks {
		if c.Status == store.RunQueued {
			s.publishChunk(run, ChunkEvent{Idx: c.Idx, Status: c.Status, Attempt: c.Attempt, Error: c.Error})
		}
	}
}

// settleDeployment is settle for a deployment whose instances have all ended (none queued or
// running): it returns the outcome to record (status "" to record none: the deployment is paused,
// or was queued again) and the deployment's final state.
func (s *Service) settleDeployment(ctx context.Context, tx *store.Tx, run store.Run, d store.Deployment, status store.RunStatus, why string) (store.RunStatus, string, error) {
	switch {
	case status == store.RunFailed:
		if err := tx.SetDeploymentState(ctx, run.ID, []store.DeploymentState{d.State}, store.DeploymentFailed); err != nil {
			return "", "", err
		}
		return status, why, nil
	case run.CancelRequested:
		if err := tx.SetDeploymentState(ctx, run.ID, []store.DeploymentState{d.State}, store.DeploymentStopped); err != nil {
			return "", "", err
		}
		return store.RunCancelled, errCancelRequested.Error(), nil
	case d.State == store.DeploymentPaused:
		return "", "", nil
	case d.State == store.DeploymentStopping:
		if err := tx.SetDeploymentState(ctx, run.ID, []store.DeploymentState{d.State}, store.DeploymentStopped); err != nil {
			return "", "", err
		}
		return store.RunSucceeded, "", nil
	default: // restarting, or running (instances that stopped cleanly): run them again
		if err := tx.SetDeploymentState(ctx, run.ID, []store.DeploymentState{d.State}, store.DeploymentRunning); err != nil {
			return "", "", err
		}
		return "", "", s.requeueInstances(ctx, tx, run.ID, "restarted")
	}
}

// DeploymentView is a deployment as GET /runs/{id} shows it: its state, its instances with their
// workers and latest reports, and its partitions.
type DeploymentView struct {
	State       store.DeploymentState `json:"state"`
	Parallelism int                   `json:"parallelism"`
	// RowsPerSecond is the read rate of the running instances, summed.
	RowsPerSecond float64        `json:"rows_per_second"`
	Instances     []InstanceView `json:"instances"`
}

// InstanceView is one consumer instance of a deployment.
type InstanceView struct {
	Idx int `json:"idx"`
	// State is queued, running, stopped (it stopped cleanly: paused, restarted or stopped), failed
	// or cancelled.
	State       string     `json:"state"`
	WorkerID    string     `json:"worker_id,omitempty"`
	Attempt     int        `json:"attempt"`
	HeartbeatAt *time.Time `json:"heartbeat_at,omitempty"`
	RowsRead    int64      `json:"rows_read"`
	RowsWritten int64      `json:"rows_written"`
	// RowsPerSecond and Partitions are from the instance's latest report (run.instance).
	RowsPerSecond float64             `json:"rows_per_second"`
	Partitions    []PartitionPosition `json:"partitions"`
	ReportedAt    *time.Time          `json:"reported_at,omitempty"`
	Error         string              `json:"error,omitempty"`
}

// storedReport is an instance's latest report as its chunk keeps it.
type storedReport struct {
	InstanceEvent
	At time.Time `json:"at"`
}

// Deployment returns a run's deployment with its instances (ErrNotDeployment: the run is not one).
func (s *Service) Deployment(ctx context.Context, runID string) (*DeploymentView, error) {
	d, err := s.st.GetDeployment(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotDeployment
	}
	if err != nil {
		return nil, err
	}
	chunks, err := s.st.ListChunks(ctx, runID)
	if err != nil {
		return nil, err
	}
	v := &DeploymentView{State: d.State, Parallelism: d.Parallelism, Instances: make([]InstanceView, 0, len(chunks))}
	for _, c := range chunks {
		iv := InstanceView{Idx: c.Idx, State: string(c.Status), WorkerID: c.WorkerID, Attempt: c.Attempt, HeartbeatAt: c.HeartbeatAt,
			RowsRead: c.RowsRead, RowsWritten: c.RowsWritten, Error: c.Error, Partitions: []PartitionPosition{}}
		if c.Status == store.RunSucceeded {
			iv.State = "stopped"
		}
		var rep storedReport
		if len(c.Positions) > 0 && json.Unmarshal(c.Positions, &rep) == nil && rep.Attempt == c.Attempt {
			iv.Partitions = append(iv.Partitions, rep.Partitions...)
			iv.RowsRead, iv.RowsWritten = max(iv.RowsRead, rep.RowsRead), max(iv.RowsWritten, rep.RowsWritten)
			at := rep.At
			iv.ReportedAt = &at
			if c.Status == store.RunRunning {
				iv.RowsPerSecond = rep.RowsPerSecond
				v.RowsPerSecond += rep.RowsPerSecond
			}
		}
		v.Instances = append(v.Instances, iv)
	}
	return v, nil
}
