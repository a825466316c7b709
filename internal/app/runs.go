package app

import (
	"context"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/api"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipelines"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// buildRuns builds the run service and its in-process dispatcher (RUN_WORKERS
// workers; shutdown drains for SHUTDOWN_TIMEOUT, then interrupted runs are
// requeued to resume at the next start).
func (a *App) buildRuns(trs *transform.Registry) error {
	if trs == nil {
		var err error
		if trs, err = transform.NewRegistry(transform.Builtins()...); err != nil {
			return fmt.Errorf("transformation registry: %w", err)
		}
	}
	svc, err := runs.New(runs.Options{
		Store: a.store, Connectors: a.connectors, Transforms: trs, Logger: a.log, Env: a.connectorEnv(),
		SavedConnectors: a.connections,
	})
	if err != nil {
		return err
	}
	disp, err := runs.NewDispatcher(svc, runs.DispatcherOptions{Workers: a.cfg.RunWorkers, DrainTimeout: a.cfg.ShutdownTimeout,
		MaxAttempts: a.cfg.RunMaxAttempts})
	if err != nil {
		return err
	}
	pls, err := pipelines.New(pipelines.Options{Store: a.store, Connectors: a.connectors, Transforms: trs,
		Resolver: runs.Resolver{Store: a.store, Connectors: a.connections}, Env: svc.Env(), Logger: a.log})
	if err != nil {
		return err
	}
	a.runs, a.dispatcher, a.pipelines = svc, disp, pls
	return nil
}

// connectorEnv is what connectors get besides their config, the same for
// runs, checks and previews.
func (a *App) connectorEnv() connector.Env {
	return Outbound(a.cfg, connector.Env{Logger: a.log, FileRoots: a.cfg.Roots(), UploadDir: a.cfg.UploadDir()})
}

// dataDeps are the API's data services.
func (a *App) dataDeps() api.DataDeps {
	return api.DataDeps{Runs: a.runs, Pipelines: a.pipelines, Connections: a.connections, UploadDir: a.cfg.UploadDir(), MaxUploadBytes: a.cfg.MaxUploadBytes}
}

// startRuns runs the dispatcher until ctx is cancelled; the returned function
// waits until it has drained (runs finished, or interrupted and requeued).
func (a *App) startRuns(ctx context.Context) (wait func()) {
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
