package runs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Queue owns the life of a run between "queued" and its outcome: it hands queued runs to the
// executor (Service.execute), holds a lease on each running run (heartbeats, which also carry
// cancel requests from other processes), records the outcome the executor reports, puts runs
// whose worker died back in the queue, and gives up on a run after MaxAttempts attempts. River is
// the implementation (NewRiver).
type Queue interface {
	// Enqueue queues a run that tx has just created; the run must not start before tx commits
	// (River: InsertTx with tx.SQL()). It must not run the pipeline itself.
	Enqueue(ctx context.Context, tx *store.Tx, run store.Run) error
	// Cancel tells the worker running the run in this process, if any, that a cancel was
	// requested (it is already recorded in the store; workers elsewhere see it at their next
	// heartbeat).
	Cancel(runID string)
}

// River's queues.
const (
	// QueueRuns holds one job per run to execute.
	QueueRuns = "runs"
	// QueueMaintenance holds the periodic tasks' jobs (the lease check, schedule ticks, clean-up).
	QueueMaintenance = "maintenance"
)

// Queues are every queue a worker works by default.
var Queues = []string{QueueRuns, QueueMaintenance}

// RunArgs is the River job of a run: "execute run RunID if it is still queued". A run has one job
// per attempt (its first, a retry, a take-over after its worker died, a resume after a shutdown);
// a job whose run is no longer queued does nothing, so a duplicate is harmless.
type RunArgs struct {
	RunID string `json:"run_id"`
}

// Kind is the River job kind.
func (RunArgs) Kind() string { return "run" }

// InsertOpts puts run jobs in QueueRuns. River retries a job only when the store could not be
// reached to claim or record its run; the run's own attempts are counted on the run.
func (RunArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueRuns, MaxAttempts: 25}
}

// PeriodicTask is work done on a schedule by the fleet as a whole: River's elected leader inserts
// one job per tick (so a tick runs once however many processes run) and one worker of
// QueueMaintenance runs it. Every or Cron (five fields or @hourly-style macros, UTC) sets the
// schedule. Run gets a context that is cancelled at shutdown; PeriodicTime(ctx) is the tick's time.
// An error is logged and counted; the next tick runs as usual.
type PeriodicTask struct {
	Name  string
	Every time.Duration
	Cron  string
	Run   func(ctx context.Context) error
	// Timeout bounds one run of the task (default 5 minutes).
	Timeout time.Duration
}

type periodicArgs struct {
	Name string `json:"name"`
}

func (periodicArgs) Kind() string { return "periodic" }

type tickKey struct{}

// PeriodicTime is the time the periodic task running in ctx was scheduled for (zero outside one).
func PeriodicTime(ctx context.Context) time.Time {
	t, _ := ctx.Value(tickKey{}).(time.Time)
	return t
}

// RiverOptions configure the River queue.
type RiverOptions struct {
	// ListenerPool gives a PostgreSQL store LISTEN connections, so workers learn of new jobs at once
	// (nil: they poll every FetchPoll). Unused on SQLite.
	ListenerPool *pgxpool.Pool
	// Workers is how many runs this process executes at once (config RUN_WORKERS, worker
	// --concurrency); 0: the process only inserts jobs (an API node).
	Workers int
	// Queues is what this process works (default Queues).
	Queues []string
	// WorkerID names this process in claimed runs and the workers registry; hostname-pid-random
	// when empty. Version is the binary's version, shown in the registry.
	WorkerID string
	Version  string
	// Heartbeat is how often a running run's heartbeat is refreshed and cancel requests are
	// checked (default 5s). Lease is how old a heartbeat must be for the run to count as abandoned
	// by a dead or paused process and be taken over (default 1m, at least 3 heartbeats); the lease
	// check runs every Heartbeat on the leader.
	Heartbeat time.Duration
	Lease     time.Duration
	// MaxAttempts is how many times a run is started before the queue gives up on it (default 3;
	// config RUN_MAX_ATTEMPTS); a pipeline's policy.retries may allow more.
	MaxAttempts int
	// DrainTimeout is how long a shutdown waits for running runs to finish before interrupting them
	// (they are queued again and resume from their last checkpoint); default 30s.
	DrainTimeout time.Duration
	// Periodic are the periodic tasks (internal/app lists them).
	Periodic []PeriodicTask
	// FetchPoll is how often workers look for jobs without a notification (default 1s; River's
	// fetch cooldown is a tenth of it).
	FetchPoll time.Duration
	// Now is the clock of lease checks; time.Now when nil.
	Now func() time.Time
	// Observer receives the queue's timings (nil: none).
	Observer Observer
	// Extra are other kinds of jobs on their own queues (internal/app adds the alert deliveries).
	// Their queues may be named in Queues, and are worked by default.
	Extra []ExtraQueue
}

// ExtraQueue is a queue of other jobs than runs: Register adds its workers, MaxWorkers (default 2)
// bounds how many of its jobs a process works at once.
type ExtraQueue struct {
	Name       string
	MaxWorkers int
	Register   func(*river.Workers) error
}

// River is the Queue on River: riversqlite on the embedded store, riverdatabasesql with a pgx
// listener on PostgreSQL (the store's *sql.Tx is what InsertTx takes, so a run and its job commit
// together). Build it with NewRiver, then Run it.
type River struct {
	svc    *Service
	opts   RiverOptions
	client *river.Client[*sql.Tx]
	tasks  map[string]PeriodicTask
	log    *slog.Logger

	mu     sync.Mutex
	active map[string]context.CancelCauseFunc // runs executing in this process, by id

	running atomic.Int64
	// interrupt cancels the runs of this process with errShutdown (drain timeout).
	interruptCtx context.Context
	interrupt    context.CancelCauseFunc
	// stats for /metrics
	stats *queueStats
}

var _ Queue = (*River)(nil)

// NewRiver builds the River client over the service's store and makes it the service's queue.
func NewRiver(svc *Service, o RiverOptions) (*River, error) {
	if svc == nil {
		return nil, errors.New("runs: river needs a service")
	}
	if o.Workers < 0 || o.Heartbeat < 0 || o.Lease < 0 || o.MaxAttempts < 0 || o.DrainTimeout < 0 || o.FetchPoll < 0 {
		return nil, errors.New("runs: river: Workers, Heartbeat, Lease, MaxAttempts, DrainTimeout and FetchPoll must not be negative")
	}
	known := slices.Clone(Queues)
	extra := map[string]ExtraQueue{}
	for _, e := range o.Extra {
		if e.Name == "" || e.Register == nil || slices.Contains(known, e.Name) {
			return nil, fmt.Errorf("runs: extra queue %q needs a name of its own and Register", e.Name)
		}
		known = append(known, e.Name)
		extra[e.Name] = e
	}
	if o.Queues == nil {
		o.Queues = known
	}
	for _, q := range o.Queues {
		if !slices.Contains(known, q) {
			return nil, fmt.Errorf("runs: unknown queue %q (queues: %v)", q, known)
		}
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 5 * time.Second
	}
	if o.Lease == 0 {
		o.Lease = time.Minute
	}
	o.Lease = max(o.Lease, 3*o.Heartbeat)
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 3
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.FetchPoll == 0 {
		o.FetchPoll = time.Second
	}
	if o.WorkerID == "" {
		host, _ := os.Hostname()
		o.WorkerID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), uuid.NewString()[:8])
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	q := &River{svc: svc, opts: o, log: svc.log, active: map[string]context.CancelCauseFunc{}, tasks: map[string]PeriodicTask{},
		stats: &queueStats{o: o.Observer}}
	q.interruptCtx, q.interrupt = context.WithCancelCause(context.Background())

	cfg := &river.Config{
		ID:                   o.WorkerID,
		Logger:               svc.log.With("component", "river"),
		FetchPollInterval:    o.FetchPoll,
		FetchCooldown:        min(100*time.Millisecond, o.FetchPoll/10),
		JobTimeout:           -1, // a run's timeout is its pipeline's policy.timeout
		RescueStuckJobsAfter: 24 * time.Hour,
		MaxAttempts:          25,
		Test:                 river.TestConfig{},
	}
	if o.Workers > 0 {
		workers := river.NewWorkers()
		if err := river.AddWorkerSafely(workers, &runWorker{q: q}); err != nil {
			return nil, err
		}
		if err := river.AddWorkerSafely(workers, &chunkWorker{q: q}); err != nil {
			return nil, err
		}
		if err := river.AddWorkerSafely(workers, &periodicWorker{q: q}); err != nil {
			return nil, err
		}
		for _, e := range o.Extra {
			if err := e.Register(workers); err != nil {
				return nil, fmt.Errorf("runs: queue %s: %w", e.Name, err)
			}
		}
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{}
		for _, name := range o.Queues {
			n := o.Workers
			if name == QueueMaintenance {
				n = 2
			}
			if e, ok := extra[name]; ok {
				n = e.MaxWorkers
				if n <= 0 {
					n = 2
				}
			}
			cfg.Queues[name] = river.QueueConfig{MaxWorkers: n}
		}
		for _, t := range o.Periodic {
			if err := q.addPeriodic(cfg, t); err != nil {
				return nil, err
			}
		}
	}
	var driver riverdriver.Driver[*sql.Tx]
	if svc.st.Dialect() == store.SQLite {
		driver = riversqlite.New(svc.st.DB())
	} else if o.ListenerPool != nil {
		driver = riverdatabasesql.NewWithPgxListener(svc.st.DB(), o.ListenerPool)
	} else {
		driver = riverdatabasesql.New(svc.st.DB())
		cfg.PollOnly = true
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("runs: river: %w", err)
	}
	q.client = client
	svc.SetQueue(q)
	return q, nil
}

func (q *River) addPeriodic(cfg *river.Config, t PeriodicTask) error {
	if t.Name == "" || t.Run == nil {
		return errors.New("runs: a periodic task needs Name and Run")
	}
	if _, dup := q.tasks[t.Name]; dup {
		return fmt.Errorf("runs: periodic task %q is registered twice", t.Name)
	}
	var sched river.PeriodicSchedule
	switch {
	case t.Every > 0 && t.Cron == "":
		sched = river.PeriodicInterval(t.Every)
	case t.Cron != "" && t.Every == 0:
		s, err := parseCron(t.Cron)
		if err != nil {
			return fmt.Errorf("runs: periodic task %q: cron %q: %w", t.Name, t.Cron, err)
		}
		sched = s
	default:
		return fmt.Errorf("runs: periodic task %q needs exactly one of Every and Cron", t.Name)
	}
	if t.Timeout == 0 {
		t.Timeout = 5 * time.Minute
	}
	q.tasks[t.Name] = t
	name := t.Name
	cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(sched, func() (river.JobArgs, *river.InsertOpts) {
		return periodicArgs{Name: name}, &river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 1}
	}, &river.PeriodicJobOpts{ID: name}))
	return nil
}

// WorkerID names this process in the runs it claims.
func (q *River) WorkerID() string { return q.opts.WorkerID }

// Options are the options in force (defaults filled in).
func (q *River) Options() RiverOptions { return q.opts }

// Running is how many runs this process executes now.
func (q *River) Running() int { return int(q.running.Load()) }

// Enqueue inserts the run's job in tx (River's InsertTx): it becomes visible to workers when tx
// commits, and is gone if tx rolls back.
func (q *River) Enqueue(ctx context.Context, tx *store.Tx, run store.Run) error {
	return q.insertTx(ctx, tx.SQL(), run.ID, time.Time{})
}

func (q *River) insertTx(ctx context.Context, tx *sql.Tx, runID string, at time.Time) error {
	opts := &river.InsertOpts{}
	if !at.IsZero() {
		opts.ScheduledAt = at
	}
	if _, err := q.client.InsertTx(ctx, tx, RunArgs{RunID: runID}, opts); err != nil {
		return fmt.Errorf("insert job of run %s: %w", runID, err)
	}
	return nil
}

// Cancel stops the run, or its chunks, at once when they execute in this process.
func (q *River) Cancel(runID string) {
	q.mu.Lock()
	var cancels []context.CancelCauseFunc
	for key, cancel := range q.active {
		if key == runID || strings.HasPrefix(key, runID+"#") {
			cancels = append(cancels, cancel)
		}
	}
	q.mu.Unlock()
	for _, cancel := range cancels {
		cancel(errCancelRequested)
	}
}

// Run works the queues until ctx is cancelled (a process with Workers 0 only waits). Shutdown is
// two-phase: fetching stops at once; running runs get DrainTimeout to finish, then they are
// interrupted (their staged output kept, the run queued again with a new job) and Run waits for
// them to record that. It returns nil after a clean shutdown.
func (q *River) Run(ctx context.Context) error {
	if q.opts.Workers == 0 {
		<-ctx.Done()
		return nil
	}
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start river: %w", err)
	}
	leases := make(chan struct{})
	go func() {
		defer close(leases)
		q.checkLeasesEvery(ctx)
	}()
	<-ctx.Done()
	<-leases
	drain, cancel := context.WithTimeout(context.Background(), q.opts.DrainTimeout)
	defer cancel()
	err := q.client.Stop(drain)
	if err == nil {
		return nil
	}
	if q.running.Load() > 0 {
		q.log.Warn("runs still running after the drain timeout; interrupting them (they resume from their last checkpoint)",
			"timeout", q.opts.DrainTimeout)
	}
	q.interrupt(errShutdown)
	// Interrupted runs stop at once and queue themselves again; the bound is for a connector that
	// ignores its context.
	hard, cancel2 := context.WithTimeout(context.Background(), max(q.opts.DrainTimeout, 30*time.Second))
	defer cancel2()
	if err := q.client.StopAndCancel(hard); err != nil {
		return fmt.Errorf("stop river: %w", err)
	}
	return nil
}

// Client is the River client (tests and the API's admin views use it).
func (q *River) Client() *river.Client[*sql.Tx] { return q.client }

// RunJob does what a run's job does, in the caller's goroutine: it executes the run when it is still
// queued and records the outcome (tests use it).
func (q *River) RunJob(ctx context.Context, runID string) error {
	return q.work(ctx, runID, q.opts.Now())
}

// runWorker executes run jobs.
type runWorker struct {
	river.WorkerDefaults[RunArgs]
	q *River
}

// Timeout: none from River; a run's limit is its pipeline's policy.timeout.
func (w *runWorker) Timeout(*river.Job[RunArgs]) time.Duration { return -1 }

func (w *runWorker) Work(ctx context.Context, job *river.Job[RunArgs]) error {
	return w.q.work(ctx, job.Args.RunID, job.CreatedAt)
}

// work claims the run (unless it is no longer queued, or its pipeline runs its maximum of runs:
// then the job snoozes), executes it under a lease and records the outcome.
func (q *River) work(jobCtx context.Context, runID string, queuedAt time.Time) error {
	run, err := q.svc.st.GetRun(jobCtx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted with its pipeline's history
	}
	if err != nil {
		return fmt.Errorf("load run %s: %w", runID, err)
	}
	if run.Status != store.RunQueued {
		return nil // taken by another job, finished or cancelled
	}
	pol, err := q.svc.policyOf(jobCtx, run)
	if err != nil {
		var gone *pipelineGoneError
		if errors.As(err, &gone) {
			q.failQueued(jobCtx, run, gone.Error())
			return nil
		}
		return err
	}
	claimed, err := q.svc.st.ClaimRunWithin(jobCtx, runID, q.opts.WorkerID, pol.MaxConcurrentRuns)
	switch {
	case errors.Is(err, store.ErrBusy):
		return river.JobSnooze(q.opts.Heartbeat)
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("claim run %s: %w", runID, err)
	}
	q.stats.waited(q.opts.Now().Sub(queuedAt))
	plan, split := q.split(jobCtx, claimed, pol)
	if split {
		return nil // a partitioned run: its chunks run as jobs of their own
	}
	q.running.Add(1)
	defer q.running.Add(-1)
	start := time.Now()
	q.execute(jobCtx, claimed, pol, plan)
	q.stats.ran(time.Since(start))
	return nil
}

// failQueued ends a queued run that cannot start (its pipeline was deleted meanwhile).
func (q *River) failQueued(ctx context.Context, run store.Run, why string) {
	fin, err := q.svc.st.FinishRun(ctx, run.ID, []store.RunStatus{store.RunQueued}, store.RunFinish{Status: store.RunFailed, Error: why})
	if err != nil {
		if !errors.Is(err, store.ErrConflict) {
			q.log.ErrorContext(ctx, "fail queued run", "run_id", run.ID, "error", err)
		}
		return
	}
	q.svc.runLogLine(ctx, run.ID, "error", why)
	q.svc.publishStatus(fin, why)
}

// execute runs a claimed run under a lease and records its outcome; plan is the run's plan when
// it was already made (nil: the executor makes it).
func (q *River) execute(jobCtx context.Context, run store.Run, pol Policy, plan *pipeline.Plan) {
	beat := func(ctx context.Context) (bool, error) {
		return q.svc.st.Heartbeat(ctx, run.ID, q.opts.WorkerID, run.Attempt)
	}
	ctx, out := q.underLease(jobCtx, run.ID, pol, beat, []any{"run_id", run.ID}, func(ctx context.Context) outcome {
		return q.svc.execute(ctx, run, plan)
	})
	q.record(ctx, run, pol, out)
}

// heartbeat refreshes the lease of an attempt: stop says that a cancel was requested (or that the
// work must end); an error wrapping store.ErrConflict says that another worker owns it now.
type heartbeat func(ctx context.Context) (stop bool, err error)

// underLease runs work, an attempt of a run or of a chunk, registered under key for Cancel. Its
// context is cancelled with errShutdown when River stops the job hard or the process interrupts its
// runs, with a timeoutError after pol.Timeout, and by the lease (beat every Heartbeat): with
// errCancelRequested when it says stop, with errLostRun when another worker owns the work. It returns
// work's outcome once the lease has stopped, and a context without cancellation to record it in.
func (q *River) underLease(jobCtx context.Context, key string, pol Policy, beat heartbeat, logAttrs []any, work func(context.Context) outcome) (context.Context, outcome) {
	base, stopBase := context.WithCancelCause(context.WithoutCancel(jobCtx))
	defer stopBase(nil)
	// River cancels the job's context only when it stops hard: that is our interrupt too.
	stop1 := context.AfterFunc(jobCtx, func() { stopBase(errShutdown) })
	defer stop1()
	stop2 := context.AfterFunc(q.interruptCtx, func() { stopBase(errShutdown) })
	defer stop2()
	ctx, cancel := context.WithCancelCause(base)
	defer cancel(nil)
	if pol.Timeout > 0 {
		t := time.AfterFunc(pol.Timeout, func() { cancel(&timeoutError{d: pol.Timeout}) })
		defer t.Stop()
	}
	q.mu.Lock()
	q.active[key] = cancel
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		delete(q.active, key)
		q.mu.Unlock()
	}()
	leaseDone := make(chan struct{})
	go q.keepLease(ctx, beat, cancel, logAttrs, leaseDone)
	out := work(ctx)
	cancel(nil) // ends the lease
	<-leaseDone
	return context.WithoutCancel(ctx), out
}

// keepLease calls beat every Heartbeat until ctx ends, and turns a stop or the loss of the work to
// another worker into the cancellation of ctx.
func (q *River) keepLease(ctx context.Context, beat heartbeat, cancel context.CancelCauseFunc, logAttrs []any, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(q.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stop, err := beat(ctx)
		switch {
		case errors.Is(err, store.ErrConflict):
			cancel(errLostRun)
			return
		case err != nil:
			if ctx.Err() == nil {
				q.log.WarnContext(ctx, "heartbeat failed", slices.Concat(logAttrs, []any{"error", err})...)
			}
		case stop:
			cancel(errCancelRequested)
			return
		}
	}
}

// record writes the outcome of an attempt: its final status (only while this worker still owns
// that attempt), a retry, or the run back in the queue when it was interrupted.
func (q *River) record(ctx context.Context, run store.Run, pol Policy, out outcome) {
	log := q.log.With("run_id", run.ID, "pipeline_id", run.PipelineID)
	switch {
	case out.lost:
		log.WarnContext(ctx, "the run was taken over by another worker (this one had stopped sending heartbeats); this attempt stopped without committing or recording anything", "attempt", run.Attempt)
		q.endAttempt(ctx, run, "lost", "the run was taken over by another worker (this one had stopped sending heartbeats)")
		return
	case out.review != nil:
		raw, err := json.Marshal(out.review)
		if err == nil {
			var r store.Run
			if r, err = q.svc.st.PauseRun(ctx, run.ID, q.opts.WorkerID, run.Attempt, raw); err == nil {
				q.endAttempt(ctx, run, string(store.RunAwaitingApproval), out.err)
				q.svc.publishStatus(r, out.err)
				return
			}
		}
		log.ErrorContext(ctx, "pause run for a schema review", "error", err)
		return
	case out.interrupted:
		q.endAttempt(ctx, run, "interrupted", out.err)
		r, err := q.requeue(ctx, run.ID, q.opts.WorkerID, out.err, time.Time{})
		if err != nil {
			log.ErrorContext(ctx, "requeue interrupted run", "error", err)
			return
		}
		q.svc.publishStatus(r, "")
		return
	}
	if out.status == store.RunFailed && out.retryable && run.Attempt <= pol.Retries {
		delay := pol.backoff(run.Attempt)
		why := fmt.Sprintf("attempt %d failed with a retryable error: %s; retry %d of %d in %s", run.Attempt, out.err, run.Attempt, pol.Retries, delay.Round(time.Millisecond))
		q.endAttempt(ctx, run, "retry", out.err)
		r, err := q.requeue(ctx, run.ID, q.opts.WorkerID, why, q.opts.Now().Add(delay))
		if err == nil {
			q.svc.runLogLine(ctx, run.ID, "warn", why)
			q.svc.publishStatus(r, "")
			return
		}
		if !errors.Is(err, store.ErrConflict) {
			log.ErrorContext(ctx, "requeue run for a retry", "error", err)
		}
		return
	}
	fin, err := q.svc.finishRun(ctx, run.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{
		Status: out.status, Error: out.err, NodeStats: out.stats, Outputs: out.outputs, WorkerID: q.opts.WorkerID, Attempt: run.Attempt,
	})
	if errors.Is(err, store.ErrConflict) {
		q.endAttempt(ctx, run, "lost", "the run was taken over by another worker; this attempt's outcome ("+string(out.status)+") was not recorded")
		log.WarnContext(ctx, "run outcome not recorded: another worker owns the run now", "status", out.status)
		return
	}
	if err != nil {
		log.ErrorContext(ctx, "record run outcome", "status", out.status, "error", err)
		return
	}
	q.endAttempt(ctx, run, string(out.status), out.err)
	q.svc.publishStatus(fin, out.err)
}

func (q *River) endAttempt(ctx context.Context, run store.Run, outcome, errText string) {
	if err := q.svc.st.EndAttempt(ctx, run.ID, run.Attempt, outcome, errText); err != nil {
		q.log.WarnContext(ctx, "record attempt end", "run_id", run.ID, "attempt", run.Attempt, "error", err)
	}
}

// requeue puts a running run owned by worker ("" any) back in the queue with a new job (due at at;
// zero: now), in one transaction.
func (q *River) requeue(ctx context.Context, runID, worker, reason string, at time.Time) (store.Run, error) {
	var r store.Run
	err := q.svc.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if r, err = tx.RequeueRun(ctx, runID, worker, reason); err != nil {
			return err
		}
		return q.insertTx(ctx, tx.SQL(), runID, at)
	})
	return r, err
}

// checkLeasesEvery runs CheckLeases every heartbeat until ctx is done. Every worker process runs
// it, not only River's leader: when the process that died was the leader, a new leader is elected
// only after River's leadership TTL, and runs would wait for that. The conditional updates of
// CheckLeases make concurrent checks safe: one process requeues a stale run, the others find it
// changed and leave it.
func (q *River) checkLeasesEvery(ctx context.Context) {
	t := time.NewTicker(q.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := q.CheckLeases(ctx); err != nil && ctx.Err() == nil {
			q.log.WarnContext(ctx, "check run leases", "error", err)
		}
	}
}

// CheckLeases deals with running runs whose heartbeat is older than Lease (the process that ran
// them died, or is paused): a run with a cancel request ends cancelled; a run that has had its
// attempts fails with the reason; any other is queued again with a new job and resumes from its
// last checkpoint on whichever worker takes it. Everything the old attempt might still try is
// fenced by the attempt number. The chunks of partitioned runs get the same treatment. Every
// worker process runs it every Heartbeat.
func (q *River) CheckLeases(ctx context.Context) error {
	stale, err := q.svc.st.FindStaleRuns(ctx, q.opts.Now().Add(-q.opts.Lease))
	if err != nil {
		return err
	}
	for _, r := range stale {
		why := fmt.Sprintf("worker %s stopped sending heartbeats (last %s): the process died, was killed (for example out of memory), paused or hung",
			r.WorkerID, heartbeatText(r.HeartbeatAt))
		pol, _ := q.svc.policyOf(ctx, r) // an unreadable policy counts as the defaults
		limit := max(q.opts.MaxAttempts, pol.Retries+1)
		var fin store.RunFinish
		switch {
		case r.CancelRequested:
			fin = store.RunFinish{Status: store.RunCancelled, Error: "cancelled by request (its worker had stopped)"}
		case r.Attempt >= limit:
			fin = store.RunFinish{Status: store.RunFailed, Error: fmt.Sprintf("gave up after %d attempts (RUN_MAX_ATTEMPTS %d); attempt %d ended when %s",
				r.Attempt, limit, r.Attempt, why)}
		}
		if fin.Status != "" {
			// Conditional on the attempt found stale, so a run that came back to life is left alone.
			fin.WorkerID, fin.Attempt = r.WorkerID, r.Attempt
			done, err := q.svc.st.FinishRun(ctx, r.ID, []store.RunStatus{store.RunRunning}, fin)
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
			_ = q.svc.st.EndAttempt(ctx, r.ID, r.Attempt, "lost", why)
			q.svc.runLogLine(ctx, r.ID, "error", fin.Error)
			q.log.WarnContext(ctx, "stale run ended", "run_id", r.ID, "status", fin.Status, "attempts", r.Attempt)
			q.svc.publishStatus(done, done.Error)
			continue
		}
		run, err := q.requeue(ctx, r.ID, r.WorkerID, why, time.Time{})
		if errors.Is(err, store.ErrConflict) {
			continue // it finished or was taken meanwhile
		}
		if err != nil {
			return err
		}
		_ = q.svc.st.EndAttempt(ctx, r.ID, r.Attempt, "lost", why)
		q.svc.runLogLine(ctx, r.ID, "warn", fmt.Sprintf("%s; run queued again (attempt %d of %d) to resume from its last checkpoint",
			why, r.Attempt+1, limit))
		q.log.WarnContext(ctx, "took over a stale run", "run_id", r.ID, "worker", r.WorkerID)
		q.svc.publishStatus(run, "")
	}
	return q.checkStaleChunks(ctx)
}

func heartbeatText(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// periodicWorker runs the periodic tasks' jobs.
type periodicWorker struct {
	river.WorkerDefaults[periodicArgs]
	q *River
}

func (w *periodicWorker) Timeout(job *river.Job[periodicArgs]) time.Duration {
	if t, ok := w.q.tasks[job.Args.Name]; ok {
		return t.Timeout
	}
	return time.Minute
}

func (w *periodicWorker) Work(ctx context.Context, job *river.Job[periodicArgs]) error {
	t, ok := w.q.tasks[job.Args.Name]
	if !ok {
		return river.JobCancel(fmt.Errorf("no periodic task %q in this process", job.Args.Name))
	}
	ctx = context.WithValue(ctx, tickKey{}, job.ScheduledAt)
	start := time.Now()
	err := t.Run(ctx)
	w.q.stats.periodic(t.Name, time.Since(start), err)
	if err != nil {
		if ctx.Err() == nil {
			w.q.log.WarnContext(ctx, "periodic task failed", "task", t.Name, "error", err)
		}
		return river.JobCancel(err) // the next tick runs as usual; no retry of this one
	}
	return nil
}

// timeoutError is the cause of a run stopped by its pipeline's policy.timeout.
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("timed out after %s (policy.timeout)", e.d)
}

// jitter returns d scaled by a random factor in [0.8, 1.2).
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

var _ rivertype.JobArgs = RunArgs{}
