package app

import (
	"context"
	"log/slog"

	"github.com/dataaggregator/aggregator/internal/api"
	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/live"
	"github.com/dataaggregator/aggregator/internal/metrics"
	"github.com/dataaggregator/aggregator/internal/pipelines"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/schedules"
)

// buildRuns builds the run service (its queue comes from buildQueue), the
// pipeline service, all on the app's components, and the live-update hub over
// the run events (the bus of buildEvents, so the events of runs any process
// executes).
func (a *App) buildRuns() error {
	c := a.comp
	rec, err := metrics.NewRecorder(metrics.RecorderOptions{Store: a.store, Logger: a.log, Clock: c.Clock})
	if err != nil {
		return err
	}
	svc, err := runs.New(runs.Options{
		Store: a.store, Connectors: c.Connectors, Transforms: c.Transforms, Logger: a.log.With("component", "runs"), Env: c.Env, Clock: c.Clock,
		SavedConnectors: a.connections, Events: a.events, Metrics: rec, CommitRows: a.cfg.CheckpointRows,
		MemoryBudget: a.cfg.RunMemoryMB << 20, SpillDir: a.cfg.SpillPath(), SpillLimit: a.cfg.SpillLimitMB << 20,
	})
	if err != nil {
		return err
	}
	pls, err := pipelines.New(pipelines.Options{Store: a.store, Connectors: c.Connectors, Transforms: c.Transforms,
		Resolver:     runs.Resolver{Store: a.store, Connectors: a.connections},
		SaveResolver: runs.Resolver{Store: a.store, Connectors: a.connections.KeepingReferences()}, Env: svc.Env(), Logger: a.log})
	if err != nil {
		return err
	}
	hub, err := live.New(svc.Events(), live.Options{MaxClientsPerUser: a.cfg.WSMaxConnectionsPerUser,
		Counts: live.StoreCounts(a.store), Logger: a.log.With("component", "live")})
	if err != nil {
		return err
	}
	sched, err := schedules.New(schedules.Options{Store: a.store, Runs: svc, Logger: a.log.With("component", "schedules"), Clock: c.Clock})
	if err != nil {
		return err
	}
	analytics, err := metrics.New(metrics.Options{Store: a.store, WorkerLease: a.cfg.RunLease, Logger: a.log, Clock: c.Clock})
	if err != nil {
		return err
	}
	a.runs, a.pipelines, a.hub, a.schedules, a.recorder, a.analytics = svc, pls, hub, sched, rec, analytics
	return nil
}

// connectorEnv is what connectors get besides their config in the server, the
// same for runs, checks and previews: file roots, the upload directory, the
// output directory (DATA_DIR/files) where file destinations write, and the
// outbound guard.
func connectorEnv(cfg config.Config, log *slog.Logger) connector.Env {
	return Outbound(cfg, connector.Env{Logger: log, FileRoots: cfg.Roots(), UploadDir: cfg.UploadDir(), OutputDir: cfg.OutputDir()})
}

// dataDeps are the API's data services.
func (a *App) dataDeps() api.DataDeps {
	return api.DataDeps{Runs: a.runs, Pipelines: a.pipelines, Connections: a.connections,
		Connectors: a.comp.Connectors, Transforms: a.comp.Transforms,
		UploadDir: a.cfg.UploadDir(), MaxUploadBytes: a.cfg.MaxUploadBytes}
}

// startRuns runs the queue (and, with workers, this process's row in the
// workers registry) until ctx is cancelled; the returned function waits until
// it has drained (runs finished, or interrupted and queued again).
func (a *App) startRuns(ctx context.Context) (wait func()) {
	done := make(chan struct{})
	var reg <-chan struct{}
	if a.queue.Options().Workers > 0 {
		reg = a.registry(ctx)
	}
	go func() {
		defer close(done)
		if err := a.queue.Run(ctx); err != nil {
			a.log.Error("run queue", "error", err)
		}
	}()
	// The metrics recorder outlives the queue: its last flush holds the ends of the runs the
	// queue's shutdown stopped.
	recCtx, stopRec := context.WithCancel(context.WithoutCancel(ctx))
	recDone := make(chan struct{})
	go func() {
		defer close(recDone)
		a.recorder.Run(recCtx)
	}()
	return func() {
		<-done
		if reg != nil {
			<-reg
		}
		stopRec()
		<-recDone
	}
}

// Queue is the run queue (tests use it).
func (a *App) Queue() *runs.River { return a.queue }

// Runs is the run service (tests and the CLI's worker use it).
func (a *App) Runs() *runs.Service { return a.runs }
