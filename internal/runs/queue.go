package runs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/dataaggregator/aggregator/internal/store"
)

// Queue owns the life of a run between "queued" and its outcome: it hands queued runs to the
// executor (Service.execute), holds a lease on each running run (heartbeats, which also carry
// cancel requests from other processes), records the outcome the executor reports, puts runs
// whose worker died back in the queue, and gives up on a run after MaxAttempts attempts. The
// in-process Dispatcher is the implementation until River takes its place.
type Queue interface {
	// Enqueue queues a run that tx has just created; the run must not start before tx commits
	// (River: InsertTx with tx.SQL()). It must not run the pipeline itself.
	Enqueue(ctx context.Context, tx *store.Tx, run store.Run) error
	// Cancel tells the worker running the run in this process, if any, that a cancel was
	// requested (it is already recorded in the store; workers elsewhere see it at their next
	// heartbeat).
	Cancel(runID string)
}

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
	// WorkerID names this process in claimed runs; hostname-pid-random when empty.
	WorkerID string
	// Heartbeat is how often a running run's heartbeat is refreshed and cancel requests are
	// checked (default 5s). StaleAfter is how old a heartbeat must be for the run to count as
	// abandoned by a dead process (default 1m, at least 3 heartbeats).
	Heartbeat  time.Duration
	StaleAfter time.Duration
	// MaxAttempts is how many times a run is started before the queue gives up on it (default 3;
	// config RUN_MAX_ATTEMPTS). An attempt that ends without an outcome (its worker died, or a
	// shutdown interrupted it) is followed by another until then; a run whose worker dies on every
	// attempt (a poison input that exhausts memory) then fails with the reason instead of looping.
	MaxAttempts int
	// Now is the clock for stale-heartbeat checks; time.Now when nil.
	Now func() time.Time
}

// Dispatcher is the in-process Queue: Workers goroutines claim queued runs from the store, oldest
// first, and execute them with the Service. Build it with NewDispatcher, then Run it.
type Dispatcher struct {
	svc  *Service
	opts DispatcherOptions
	wake chan struct{}

	mu     sync.Mutex
	active map[string]context.CancelCauseFunc // runs executing in this process, by id
}

var _ Queue = (*Dispatcher)(nil)

// NewDispatcher builds the dispatcher and makes it the service's queue.
func NewDispatcher(svc *Service, o DispatcherOptions) (*Dispatcher, error) {
	if svc == nil {
		return nil, errors.New("runs: dispatcher needs a service")
	}
	if o.Workers < 0 || o.Poll < 0 || o.DrainTimeout < 0 || o.Heartbeat < 0 || o.StaleAfter < 0 || o.MaxAttempts < 0 {
		return nil, fmt.Errorf("runs: dispatcher: Workers, Poll, DrainTimeout, Heartbeat, StaleAfter and MaxAttempts must not be negative")
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
	if o.Heartbeat == 0 {
		o.Heartbeat = 5 * time.Second
	}
	if o.StaleAfter == 0 {
		o.StaleAfter = time.Minute
	}
	o.StaleAfter = max(o.StaleAfter, 3*o.Heartbeat)
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 3
	}
	if o.WorkerID == "" {
		host, _ := os.Hostname()
		o.WorkerID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), uuid.NewString()[:8])
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := &Dispatcher{svc: svc, opts: o, wake: make(chan struct{}, 1), active: map[string]context.CancelCauseFunc{}}
	svc.SetQueue(d)
	return d, nil
}

// WorkerID names this process in the runs it claims.
func (d *Dispatcher) WorkerID() string { return d.opts.WorkerID }

// Enqueue wakes an idle worker once tx has committed; the run is queued in the store by then.
func (d *Dispatcher) Enqueue(_ context.Context, tx *store.Tx, _ store.Run) error {
	tx.AfterCommit(d.notify)
	return nil
}

func (d *Dispatcher) notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Cancel stops the run at once when it executes in this process.
func (d *Dispatcher) Cancel(runID string) {
	d.mu.Lock()
	cancel := d.active[runID]
	d.mu.Unlock()
	if cancel != nil {
		cancel(errCancelRequested)
	}
}

// Run requeues stale runs, then claims and executes queued runs until ctx is cancelled. Shutdown
// is two-phase: claiming stops at once; running runs get DrainTimeout to finish, then they are
// interrupted (their staged output kept, their status back to queued) and Run waits for them to
// record that. Run returns nil after a clean shutdown.
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := d.RecoverStale(ctx); err != nil {
		d.svc.log.WarnContext(ctx, "recover stale runs", "error", err)
	}
	runCtx, interrupt := context.WithCancelCause(context.WithoutCancel(ctx))
	defer interrupt(nil)
	slots := make(chan struct{}, d.opts.Workers)
	var wg sync.WaitGroup
	poll := time.NewTicker(d.opts.Poll)
	defer poll.Stop()
	lastStale := d.opts.Now()
	for {
		d.claim(ctx, runCtx, slots, &wg)
		select {
		case <-ctx.Done():
			return d.drain(interrupt, &wg)
		case <-d.wake:
		case <-poll.C:
			if d.opts.Now().Sub(lastStale) >= d.opts.StaleAfter {
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
		run, err := d.svc.st.ClaimRun(ctx, r.ID, d.opts.WorkerID)
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
				d.notify() // a worker is free: look again
			}()
			d.work(runCtx, run)
		}()
	}
}

// Execute claims the queued run and runs it to its end in the caller's goroutine. It returns nil
// without doing anything when the run is no longer queued (another worker took it, or it was
// cancelled). When ctx is done before the run ends, the run is interrupted as for a shutdown: it
// goes back to the queue and resumes from its last checkpoint. The outcome is recorded in the
// store; the error is only for failures to claim.
func (d *Dispatcher) Execute(ctx context.Context, runID string) error {
	run, err := d.svc.st.ClaimRun(ctx, runID, d.opts.WorkerID)
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("claim run %s: %w", runID, err)
	}
	base, interrupt := context.WithCancelCause(context.WithoutCancel(ctx))
	defer interrupt(nil)
	stop := context.AfterFunc(ctx, func() { interrupt(errShutdown) })
	defer stop()
	d.work(base, run)
	return nil
}

// work executes a claimed run under a lease and records its outcome. base is cancelled with
// errShutdown when the dispatcher interrupts its runs.
func (d *Dispatcher) work(base context.Context, run store.Run) {
	ctx, cancel := context.WithCancelCause(base)
	defer cancel(nil)
	d.mu.Lock()
	d.active[run.ID] = cancel
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.active, run.ID)
		d.mu.Unlock()
	}()
	leaseDone := make(chan struct{})
	go d.lease(ctx, run, cancel, leaseDone)
	out := d.svc.execute(ctx, run)
	cancel(nil) // ends the lease
	<-leaseDone
	d.record(context.WithoutCancel(ctx), run, out)
}

// lease refreshes the run's heartbeat and turns a cancel request, or the loss of the run to
// another worker, into the cancellation of ctx.
func (d *Dispatcher) lease(ctx context.Context, run store.Run, cancel context.CancelCauseFunc, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(d.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cancelled, err := d.svc.st.Heartbeat(ctx, run.ID, d.opts.WorkerID)
		switch {
		case errors.Is(err, store.ErrConflict):
			cancel(errLostRun)
			return
		case err != nil:
			if ctx.Err() == nil {
				d.svc.log.WarnContext(ctx, "heartbeat failed", "run_id", run.ID, "error", err)
			}
		case cancelled:
			cancel(errCancelRequested)
			return
		}
	}
}

// record writes the outcome of an attempt: its final status (only while this worker still owns
// that attempt), or the run back in the queue when it was interrupted.
func (d *Dispatcher) record(ctx context.Context, run store.Run, out outcome) {
	log := d.svc.log.With("run_id", run.ID, "pipeline_id", run.PipelineID)
	switch {
	case out.lost:
		return
	case out.interrupted:
		r, err := d.svc.st.RequeueRun(ctx, run.ID, d.opts.WorkerID, out.err)
		if err != nil {
			log.ErrorContext(ctx, "requeue interrupted run", "error", err)
			return
		}
		d.svc.publishStatus(r, "")
		return
	}
	fin, err := d.svc.st.FinishRun(ctx, run.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{
		Status: out.status, Error: out.err, NodeStats: out.stats, Outputs: out.outputs, WorkerID: d.opts.WorkerID, Attempt: run.Attempt,
	})
	if errors.Is(err, store.ErrConflict) {
		log.WarnContext(ctx, "run outcome not recorded: another worker owns the run now", "status", out.status)
		return
	}
	if err != nil {
		log.ErrorContext(ctx, "record run outcome", "status", out.status, "error", err)
		return
	}
	d.svc.publishStatus(fin, out.err)
}

func (d *Dispatcher) drain(interrupt context.CancelCauseFunc, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d.opts.DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
	}
	d.svc.log.Warn("runs still running after the drain timeout; interrupting them (they resume at the next start)",
		"timeout", d.opts.DrainTimeout)
	interrupt(errShutdown)
	<-done
	return nil
}

// RecoverStale deals with running runs whose heartbeat is older than StaleAfter (the process that
// ran them died): a run with a cancel request ends cancelled; a run that has had MaxAttempts
// attempts fails with the reason; any other is queued again and resumes from its last checkpoint.
func (d *Dispatcher) RecoverStale(ctx context.Context) error {
	stale, err := d.svc.st.FindStaleRuns(ctx, d.opts.Now().Add(-d.opts.StaleAfter))
	if err != nil {
		return err
	}
	for _, r := range stale {
		why := fmt.Sprintf("worker %s stopped sending heartbeats (last %s): the process died, was killed (for example out of memory) or hung",
			r.WorkerID, heartbeatText(r.HeartbeatAt))
		var fin store.RunFinish
		switch {
		case r.CancelRequested:
			// Its worker died before it saw the cancel request: it ends here.
			fin = store.RunFinish{Status: store.RunCancelled, Error: "cancelled by request (its worker had stopped)"}
		case r.Attempt >= d.opts.MaxAttempts:
			fin = store.RunFinish{Status: store.RunFailed, Error: fmt.Sprintf("gave up after %d attempts (RUN_MAX_ATTEMPTS %d); attempt %d ended when %s",
				r.Attempt, d.opts.MaxAttempts, r.Attempt, why)}
		}
		if fin.Status != "" {
			// Conditional on the attempt found stale, so a run that came back to life is left alone.
			fin.WorkerID, fin.Attempt = r.WorkerID, r.Attempt
			done, err := d.svc.st.FinishRun(ctx, r.ID, []store.RunStatus{store.RunRunning}, fin)
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
			d.svc.runLogLine(ctx, r.ID, "error", fin.Error)
			d.svc.log.WarnContext(ctx, "stale run ended", "run_id", r.ID, "status", fin.Status, "attempts", r.Attempt)
			d.svc.publishStatus(done, done.Error)
			continue
		}
		run, err := d.svc.st.RequeueRun(ctx, r.ID, r.WorkerID, why)
		if errors.Is(err, store.ErrConflict) {
			continue // it finished or was taken meanwhile
		}
		if err != nil {
			return err
		}
		d.svc.runLogLine(ctx, r.ID, "warn", fmt.Sprintf("%s; run queued again (attempt %d of %d) to resume from its last checkpoint",
			why, r.Attempt+1, d.opts.MaxAttempts))
		d.svc.log.WarnContext(ctx, "requeued a stale run", "run_id", r.ID, "worker", r.WorkerID)
		d.svc.publishStatus(run, "")
		d.notify()
	}
	return nil
}

func heartbeatText(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
