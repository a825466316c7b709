package runs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

// DispatcherOptions configure the in-process queue.
type DispatcherOptions struct {
	// Workers is the number of runs executed at once (default 2; config RUN_WORKERS).
	Workers int
	// Poll is how often the store is looked at for queued runs that no Enqueue announced (runs
	// queued by another process, requeued stale runs); default 2s.
	Poll time.Duration
	// DrainTimeout is how long a shutdown waits for running runs to finish before interrupting them
	// (they are requeued and resume from their last checkpoint at the next start); default 30s.
	DrainTimeout time.Duration
	// Now is the clock for stale-heartbeat checks; time.Now when nil.
	Now func() time.Time
}

// Dispatcher is the in-process Queue: Workers goroutines claim queued runs from the store, oldest
// first, and execute them with the Service. Build it with NewDispatcher, then Run it.
type Dispatcher struct {
	svc  *Service
	opts DispatcherOptions
	wake chan struct{}
}

var _ Queue = (*Dispatcher)(nil)

// NewDispatcher builds the dispatcher and makes it the service's queue.
func NewDispatcher(svc *Service, o DispatcherOptions) (*Dispatcher, error) {
	if svc == nil {
		return nil, errors.New("runs: dispatcher needs a service")
	}
	if o.Workers < 0 || o.Poll < 0 || o.DrainTimeout < 0 {
		return nil, fmt.Errorf("runs: dispatcher: Workers, Poll and DrainTimeout must not be negative")
	}
	if o.Workers == 0 {
		o.Workers = 2
	}
	if o.Poll == 0 {
		o.Poll = 2 * time.Second
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := &Dispatcher{svc: svc, opts: o, wake: make(chan struct{}, 1)}
	svc.SetQueue(d)
	return d, nil
}

// Enqueue wakes an idle worker; the run is already queued in the store.
func (d *Dispatcher) Enqueue(context.Context, store.Run) error {
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run requeues stale runs, then claims and executes queued runs until ctx is cancelled. Shutdown
// is two-phase: claiming stops at once; running runs get DrainTimeout to finish, then they are
// interrupted (their staged output kept, their status back to queued) and Run waits for them to
// record that. Run returns nil after a clean shutdown.
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := d.RecoverStale(ctx); err != nil {
		d.svc.log.WarnContext(ctx, "recover stale runs", "error", err)
	}
	runCtx, interrupt := context.WithCancel(context.WithoutCancel(ctx))
	defer interrupt()
	slots := make(chan struct{}, d.opts.Workers)
	var wg sync.WaitGroup
	poll := time.NewTicker(d.opts.Poll)
	defer poll.Stop()
	staleEvery := d.svc.opts.StaleAfter
	lastStale := d.opts.Now()
	for {
		d.claim(ctx, runCtx, slots, &wg)
		select {
		case <-ctx.Done():
			return d.drain(interrupt, &wg)
		case <-d.wake:
		case <-poll.C:
			if d.opts.Now().Sub(lastStale) >= staleEvery {
				if err := d.RecoverStale(ctx); err != nil && ctx.Err() == nil {
					d.svc.log.WarnContext(ctx, "recover stale runs", "error", err)
				}
				lastStale = d.opts.Now()
			}
		}
	}
}

// claim starts queued runs while workers are free.
func (d *Dispatcher) claim(ctx, runCtx context.Context, slots chan struct{}, wg *sync.WaitGroup) {
	free := cap(slots) - len(slots)
	if free == 0 || ctx.Err() != nil {
		return
	}
	queued, err := d.svc.st.NextQueuedRuns(ctx, free)
	if err != nil {
		if ctx.Err() == nil {
			d.svc.log.WarnContext(ctx, "list queued runs", "error", err)
		}
		return
	}
	for _, r := range queued {
		run, err := d.svc.st.ClaimRun(ctx, r.ID, d.svc.workerID)
		if errors.Is(err, store.ErrConflict) {
			continue // another worker was faster, or it was cancelled
		}
		if err != nil {
			if ctx.Err() == nil {
				d.svc.log.WarnContext(ctx, "claim run", "run_id", r.ID, "error", err)
			}
			return
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				<-slots
				d.Enqueue(ctx, store.Run{}) // a worker is free: look again
			}()
			d.svc.execute(runCtx, run)
		}()
	}
}

func (d *Dispatcher) drain(interrupt context.CancelFunc, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(d.opts.DrainTimeout):
	}
	d.svc.log.Warn("runs still running after the drain timeout; interrupting them (they resume at the next start)",
		"timeout", d.opts.DrainTimeout)
	interrupt()
	<-done
	return nil
}

// RecoverStale requeues running runs whose heartbeat is older than StaleAfter: the process that
// ran them died. They resume from their last checkpoint when claimed again.
func (d *Dispatcher) RecoverStale(ctx context.Context) error {
	stale, err := d.svc.st.FindStaleRuns(ctx, d.opts.Now().Add(-d.svc.opts.StaleAfter))
	if err != nil {
		return err
	}
	for _, r := range stale {
		if r.CancelRequested {
			// Its worker died before it saw the cancel request: it ends here.
			fin, err := d.svc.st.FinishRun(ctx, r.ID, []store.RunStatus{store.RunRunning},
				store.RunFinish{Status: store.RunCancelled, Error: "cancelled by request (its worker had stopped)"})
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
			d.svc.publishStatus(fin, fin.Error)
			continue
		}
		run, err := d.svc.st.RequeueRun(ctx, r.ID, r.WorkerID)
		if errors.Is(err, store.ErrConflict) {
			continue // it finished or was taken meanwhile
		}
		if err != nil {
			return err
		}
		msg := fmt.Sprintf("worker %s stopped sending heartbeats (last %s); run queued again to resume from its last checkpoint",
			r.WorkerID, heartbeatText(r.HeartbeatAt))
		if err := d.svc.st.AppendLogs(ctx, []store.LogEntry{{Level: "warn", Source: "runs", Message: msg, RunID: r.ID}}); err != nil {
			d.svc.log.WarnContext(ctx, "run log not written", "error", err)
		}
		d.svc.log.WarnContext(ctx, "requeued a stale run", "run_id", r.ID, "worker", r.WorkerID)
		d.svc.publishStatus(run, "")
		d.Enqueue(ctx, run)
	}
	return nil
}

func heartbeatText(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
