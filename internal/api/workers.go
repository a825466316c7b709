package api

import (
	"context"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

// workerListWindow is how long a stopped or dead worker stays listed (the registry ages it out
// after app.WorkerRetention, the same hour).
const workerListWindow = time.Hour

// Worker is a process that works the run queue (`serve` with RUN_WORKERS > 0, or `aggregator worker`).
type Worker struct {
	ID            string     `json:"id" doc:"Names the process in runs' attempts: host-pid-random"`
	Host          string     `json:"host"`
	PID           int        `json:"pid"`
	Version       string     `json:"version"`
	Queues        []string   `json:"queues" nullable:"false" doc:"The queues it works: runs, maintenance"`
	Concurrency   int        `json:"concurrency" doc:"Runs it executes at once"`
	Running       int        `json:"running" doc:"Runs it was executing at its last heartbeat"`
	StartedAt     time.Time  `json:"started_at"`
	LastHeartbeat time.Time  `json:"last_heartbeat"`
	Status        string     `json:"status" enum:"alive,stopped,dead" doc:"alive: heartbeat within the lease (RUN_LEASE); stopped: shut down cleanly; dead: no heartbeat for longer than the lease (killed, crashed, cut off from the database). Stopped and dead workers are listed for an hour, then aged out"`
	StoppedAt     *time.Time `json:"stopped_at,omitempty"`
}

type workersOutput struct {
	Body struct {
		Items []Worker `json:"items" nullable:"false"`
	}
}

func (s *Server) listWorkers(ctx context.Context, _ *struct{}) (*workersOutput, error) {
	now := time.Now()
	list, err := s.store.ListWorkers(ctx, now.Add(-workerListWindow))
	if err != nil {
		return nil, err
	}
	out := &workersOutput{}
	out.Body.Items = make([]Worker, len(list))
	for i, w := range list {
		out.Body.Items[i] = workerDTO(w, now, s.workerLease)
	}
	return out, nil
}

func workerDTO(w store.Worker, now time.Time, lease time.Duration) Worker {
	status := "alive"
	switch {
	case w.StoppedAt != nil:
		status = "stopped"
	case now.Sub(w.HeartbeatAt) > lease:
		status = "dead"
	}
	q := w.Queues
	if q == nil {
		q = []string{}
	}
	return Worker{ID: w.ID, Host: w.Host, PID: w.PID, Version: w.Version, Queues: q, Concurrency: w.Concurrency,
		Running: w.Running, StartedAt: w.StartedAt, LastHeartbeat: w.HeartbeatAt, Status: status, StoppedAt: w.StoppedAt}
}
