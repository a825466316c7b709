package main

import (
	"slices"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/alerts"
	"github.com/dataaggregator/aggregator/internal/app"
	"github.com/dataaggregator/aggregator/internal/runs"
)

func newWorkerCmd(info buildInfo) *cobra.Command {
	var queues []string
	var concurrency int
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run pipeline runs from the queue, without the API (scale out on PostgreSQL)",
		Long: `Worker takes queued runs from the River queue of the metadata store and executes them; it serves
no HTTP. It reads the same configuration as serve (DATABASE_URL, ENCRYPTION_KEY, FILE_ROOTS, ...).
Start any number of workers, on any machines, against one PostgreSQL store, beside a
"serve" with RUN_WORKERS=0 that serves the API and the UI. River's elected leader among them runs
the periodic tasks (lease checks, schedules, clean-up).

On SIGINT or SIGTERM the worker stops taking runs, lets running runs finish for SHUTDOWN_TIMEOUT,
then interrupts them at their last checkpoint; another worker resumes them from there. A worker
killed outright (-9) has its runs taken over when their lease (RUN_LEASE) expires.

With the SQLite store, the serve process owns the queue: a worker against the same file refuses to start.`,
		Example: `  DATABASE_URL=postgres://aggregator@db:5432/aggregator aggregator worker
  aggregator worker --concurrency 8
  aggregator worker --queues runs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			a, err := app.New(cmd.Context(), cfg, app.Options{Version: info.Version, Commit: info.Commit, BuildDate: info.Date, Console: cmd.ErrOrStderr(),
				Worker: &app.WorkerOptions{Queues: queues, Concurrency: concurrency}})
			if err != nil {
				return err
			}
			return a.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&queues, "queues", append(slices.Clone(runs.Queues), alerts.QueueAlerts),
		"queues to work: runs (pipeline runs), maintenance (periodic tasks: lease checks, schedules, clean-up), alerts (alert notifications)")
	fs.IntVar(&concurrency, "concurrency", 0, "runs executed at once (default RUN_WORKERS)")
	return cmd
}
