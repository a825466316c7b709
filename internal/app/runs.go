package app

import (
	"context"
	"log/slog"

	"github.com/dataaggregator/aggregator/internal/api"
	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/live"
	"github.com/dataaggregator/aggregator/internal/pipelines"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/schedules"
)

// buildRuns builds the run service and its in-process dispatcher (RUN_WORKERS
// workers; shutdown drains for SHUTDOWN_TIMEOUT, then interrupted runs are
// requeued to resume at the next start), the pipeline service, all on the
// app's components, and the live-update hub over the run events (the bus of
// buildEvents, so the events of runs any process executes).
func (a *App) buildRuns() error {
	c := a.comp
	svc, err := runs.New(runs.Options{
		Store: a.store, Connectors: c.Connectors, Transforms: c.Transforms, Logger: a.log, Env: c.Env, Clock: c.Clock,
		SavedConnectors: a.connections, Events: a.events,
	})
	if err != nil {
		return err
	}
	disp, err := runs.NewDispatcher(svc, runs.DispatcherOptions{Workers: a.cfg.RunWorkers, DrainTimeout: a.cfg.ShutdownTimeout,
		MaxAttempts: a.cfg.RunMaxAttempts})
	if err != nil {
		return err
	}
	pls, err := pipelines.New(pipelines.Options{Store: a.store, Connectors: c.Connectors, Transforms: c.Transforms,
		Resolver: runs.Resolver{Store: a.store, Connectors: a.connections}, Env: svc.Env(), Logger: a.log})
	if err != nil {
		return err
	}
	hub, err := live.New(svc.Events(), live.Options{MaxClientsPerUser: a.cfg.WSMaxConnectionsPerUser,
		Counts: live.StoreCounts(a.store), Logger: a.log})
	if err != nil {
		return err
	}
	sched, err := schedules.New(schedules.Options{Store: a.store, Runs: svc, Logger: a.log, Clock: c.Clock})
	if err != nil {
		return err
	}
	a.runs, a.dispatcher, a.pipelines, a.hub, a.schedules = svc, disp, pls, hub, sched
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

// startRuns runs the dispatcher until ctx is cancelled (not at all with
// RUN_WORKERS=0); the returned function waits until it has drained (runs
// finished, or interrupted and requeued).
func (a *App) startRuns(ctx context.Context) (wait func()) {
	if a.cfg.RunWorkers == 0 { // API and UI only: runs wait for a process with workers
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.dispatcher.Run(ctx); err != nil {
			a.log.Error("run dispatcher", "error", err)
		}
	}()
	return func() { <-done }
}

// Runs is the run service (tests and the CLI's worker use it).
func (a *App) Runs() *runs.Service { return a.runs }
