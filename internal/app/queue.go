package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dataaggregator/aggregator/internal/alerts"
	"github.com/dataaggregator/aggregator/internal/flock"
	"github.com/dataaggregator/aggregator/internal/retention"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// WorkerOptions make New build a worker process (`aggregator worker`): the run queue and its
// workers, no HTTP API.
type WorkerOptions struct {
	// Queues to work (default runs.Queues).
	Queues []string
	// Concurrency is how many runs the process executes at once (default RUN_WORKERS).
	Concurrency int
}

// WorkerRetention is how long a worker that stopped, or stopped sending heartbeats, stays in the
// workers registry (GET /api/v1/workers shows it as stopped or dead) before it is removed.
const WorkerRetention = time.Hour

// periodicTasks is the fleet's periodic work: each task runs as a River periodic job, inserted by
// River's elected leader only (one job per tick however many processes run) and run by one worker
// of the maintenance queue. Add a task here; see docs/runs.md "Periodic tasks".
func (a *App) periodicTasks() []runs.PeriodicTask {
	return []runs.PeriodicTask{
		// Pipeline schedules: every minute, on the minute, each due tick starts one run
		// (internal/schedules; exactly once per tick however many processes run).
		{Name: "schedules.tick", Cron: "* * * * *", Run: a.schedules.Run},
		// Retention: every hour, the clean-up of internal/retention (audited with what it removed).
		{Name: "retention.cleanup", Every: retention.Interval, Timeout: 30 * time.Minute, Run: a.retention.RunScheduled},
		// Alerts: the conditions not tied to a run's end (freshness, workers, queue depth, stream lag),
		// and a check that every rule's pipeline still exists.
		{Name: "alerts.evaluate", Every: AlertEvaluateInterval, Run: a.alerts.Evaluate},
		{Name: "workers.age-out", Every: 5 * time.Minute, Run: func(ctx context.Context) error {
			n, err := a.store.DeleteWorkersBefore(ctx, time.Now().Add(-WorkerRetention))
			if n > 0 {
				a.log.InfoContext(ctx, "workers aged out of the registry", "removed", n)
			}
			return err
		}},
	}
}

// leaseTimes derives the heartbeat interval from RUN_LEASE: six heartbeats per lease, at most 5s.
func leaseTimes(lease time.Duration) (heartbeat, l time.Duration) {
	return min(5*time.Second, lease/6), lease
}

// buildQueue builds the River queue over the run service: workers (RUN_WORKERS, or the worker
// process's concurrency) and the periodic tasks, or insert-only when there are no workers.
func (a *App) buildQueue(ctx context.Context, reg prometheus.Registerer) error {
	workers, queues := a.cfg.RunWorkers, []string(nil)
	if a.worker != nil {
		if a.worker.Concurrency > 0 {
			workers = a.worker.Concurrency
		}
		if len(a.worker.Queues) > 0 {
			queues = a.worker.Queues
		}
		if workers == 0 {
			return errors.New("a worker process needs a concurrency of at least 1 (--concurrency or RUN_WORKERS)")
		}
	}
	if a.store.Dialect() == store.SQLite {
		if err := a.lockSQLiteQueue(); err != nil {
			return err
		}
		if workers == 0 {
			a.log.WarnContext(ctx, "RUN_WORKERS=0 with the SQLite store: no process can execute runs (a worker process needs PostgreSQL); runs stay queued")
		}
	}
	hb, lease := leaseTimes(a.cfg.RunLease)
	metrics := newQueueMetrics()
	o := runs.RiverOptions{Workers: workers, Queues: queues, Version: a.version, Heartbeat: hb, Lease: lease,
		MaxAttempts: a.cfg.RunMaxAttempts, DrainTimeout: a.cfg.ShutdownTimeout, Periodic: a.periodicTasks(), Observer: metrics,
		Extra: []runs.ExtraQueue{a.alertsQueue()}}
	if a.store.Dialect() == store.Postgres && workers > 0 {
		_, dsn := a.cfg.Database()
		pc, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return fmt.Errorf("river listener: %w", err)
		}
		pc.MaxConns, pc.MinConns = 2, 0
		if a.listenPool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
			return fmt.Errorf("river listener: %w", err)
		}
		o.ListenerPool = a.listenPool
	}
	q, err := runs.NewRiver(a.runs, o)
	if err != nil {
		return err
	}
	a.queue = q
	a.alerts.SetQueue(deliveryQueue{q.Client()})
	if reg != nil {
		return metrics.register(reg, a.store, lease)
	}
	return nil
}

// lockSQLiteQueue makes this process the one owner of the SQLite store's queue: it holds an
// exclusive lock on DATA_DIR/aggregator.db.owner (released when the process exits, however it
// exits) and writes its pid, host and start time in it. A second process fails with who owns it.
func (a *App) lockSQLiteQueue() error {
	_, db := a.cfg.Database()
	path := db + ".owner"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("queue owner lock %s: %w", path, err)
	}
	if err := flock.TryLock(f); err != nil {
		owner, _ := os.ReadFile(path)
		_ = f.Close()
		who := strings.TrimSpace(string(owner))
		if who == "" {
			who = "another process"
		}
		return fmt.Errorf("the SQLite store %s is already in use by %s: with SQLite one process owns the run queue. "+
			"Stop that process first, or use PostgreSQL (DATABASE_URL) to run several processes (see docs/deployment.md)", filepath.Clean(db), who)
	}
	host, _ := os.Hostname()
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("aggregator pid %d on host %s (started %s)\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))), 0)
	a.ownerLock = f
	return nil
}

// registry keeps this process's row in the workers table fresh while the queue runs: it registers
// at start, refreshes the heartbeat and the running count every heartbeat, says in the log when
// the database cannot be reached and when it can again (registering again if its row was aged out
// meanwhile), and records a clean stop.
func (a *App) registry(ctx context.Context) (done <-chan struct{}) {
	ch := make(chan struct{})
	q := a.queue
	o := q.Options()
	host, _ := os.Hostname()
	w := store.Worker{ID: o.WorkerID, Host: host, PID: os.Getpid(), Version: a.version, Queues: o.Queues, Concurrency: o.Workers}
	go func() {
		defer close(ch)
		log := a.log.With("worker_id", w.ID)
		registered := false
		lost := false
		beat := func() {
			var err error
			if registered {
				err = a.store.WorkerHeartbeat(ctx, w.ID, q.Running())
				if errors.Is(err, store.ErrNotFound) {
					registered = false
				}
			}
			if !registered && err == nil || errors.Is(err, store.ErrNotFound) {
				w.Running = q.Running()
				_, err = a.store.RegisterWorker(ctx, w)
				registered = err == nil || errors.Is(err, store.ErrConflict)
				if errors.Is(err, store.ErrConflict) {
					err = a.store.WorkerHeartbeat(ctx, w.ID, q.Running())
				}
			}
			switch {
			case err != nil && ctx.Err() == nil && !lost:
				lost = true
				log.Error("the metadata database cannot be reached: this worker takes no new jobs until it can; retrying", "error", err)
			case err == nil && lost:
				lost = false
				log.Info("the metadata database can be reached again: taking jobs")
			}
		}
		beat()
		log.Info("worker registered", "queues", w.Queues, "concurrency", w.Concurrency, "host", w.Host, "pid", w.PID)
		t := time.NewTicker(o.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				if err := a.store.StopWorker(context.WithoutCancel(ctx), w.ID); err != nil {
					log.Warn("record the worker's stop", "error", err)
				}
				return
			case <-t.C:
				beat()
			}
		}
	}()
	return ch
}

// queueMetrics are the queue's Prometheus metrics: job wait and run time (observed by the
// workers of this process), and queue depth, running jobs and live workers (read from the store
// at each scrape, the same figures on every node).
type queueMetrics struct {
	wait, run *prometheus.HistogramVec
	periodic  *prometheus.HistogramVec
}

func newQueueMetrics() *queueMetrics {
	buckets := []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}
	return &queueMetrics{
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "aggregator_queue_job_wait_seconds",
			Help: "Time a run waited between being queued and being claimed by a worker of this process."}, nil),
		run: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "aggregator_queue_job_run_seconds",
			Help: "Time an attempt of a run ran on a worker of this process.", Buckets: buckets}, nil),
		periodic: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "aggregator_periodic_task_seconds",
			Help: "Time a periodic task ran on this process, by task and result.", Buckets: buckets}, []string{"task", "result"}),
	}
}

func (m *queueMetrics) JobWaited(d time.Duration) { m.wait.WithLabelValues().Observe(d.Seconds()) }
func (m *queueMetrics) JobRan(d time.Duration)    { m.run.WithLabelValues().Observe(d.Seconds()) }
func (m *queueMetrics) PeriodicRan(task string, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.periodic.WithLabelValues(task, result).Observe(d.Seconds())
}

func (m *queueMetrics) register(reg prometheus.Registerer, st *store.Store, lease time.Duration) error {
	for _, c := range []prometheus.Collector{m.wait, m.run, m.periodic, &queueCollector{st: st, lease: lease}} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("queue metrics: %w", err)
		}
	}
	return nil
}

type queueCollector struct {
	st    *store.Store
	lease time.Duration
}

var (
	depthDesc = prometheus.NewDesc("aggregator_queue_depth", "Jobs waiting to run (available, scheduled or retryable), by queue.", []string{"queue"}, nil)
	runDesc   = prometheus.NewDesc("aggregator_queue_running_jobs", "Jobs being worked, by queue.", []string{"queue"}, nil)
	oldDesc   = prometheus.NewDesc("aggregator_queue_oldest_wait_seconds", "How long the oldest available job has waited.", nil, nil)
	liveDesc  = prometheus.NewDesc("aggregator_workers", "Worker processes whose heartbeat is within the lease (RUN_LEASE).", nil, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- depthDesc
	ch <- runDesc
	ch <- oldDesc
	ch <- liveDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if f, err := c.st.QueueFigures(ctx); err == nil {
		for _, q := range append(slices.Clone(runs.Queues), alerts.QueueAlerts) {
			ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(f.Waiting[q]), q)
			ch <- prometheus.MustNewConstMetric(runDesc, prometheus.GaugeValue, float64(f.Running[q]), q)
		}
		ch <- prometheus.MustNewConstMetric(oldDesc, prometheus.GaugeValue, f.OldestWait.Seconds())
	}
	if ws, err := c.st.ListWorkers(ctx, time.Now().Add(-c.lease)); err == nil {
		n := 0
		for _, w := range ws {
			if w.StoppedAt == nil {
				n++
			}
		}
		ch <- prometheus.MustNewConstMetric(liveDesc, prometheus.GaugeValue, float64(n))
	}
}
