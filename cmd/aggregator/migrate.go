package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/app"
	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/internal/store"
)

func newMigrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply or inspect the metadata store's schema migrations",
		Long: `Apply or inspect the schema migrations of the metadata store named by the
configuration (SQLite in DATA_DIR, or PostgreSQL with DATABASE_URL).
Run "aggregator migrate up" before "serve" when AUTO_INIT_DB=false.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		storeCmd("up", "Apply every pending migration", migrateUp),
		storeCmd("status", "Show the current schema version and pending migrations (exit 1 when some are pending)", migrateStatus),
	)
	return cmd
}

// storeCmd is a subcommand without arguments that runs on the configured store, opened without
// migrating it and closed after.
func storeCmd(use, short string, run func(ctx context.Context, out io.Writer, st *store.Store) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openStoreForCLI(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			return run(cmd.Context(), cmd.OutOrStdout(), st)
		},
	}
}

func migrateUp(ctx context.Context, out io.Writer, st *store.Store) error {
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	status, err := st.Status(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(out, "schema is up to date (version %d)\n", status.Current)
		return nil
	}
	fmt.Fprintf(out, "applied %d migration(s): %v; schema is at version %d\n", len(applied), applied, status.Current)
	return nil
}

func migrateStatus(ctx context.Context, out io.Writer, st *store.Store) error {
	status, err := st.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "database: %s\ncurrent version: %d\nlatest version: %d\n", st.Dialect(), status.Current, status.Latest)
	if status.UpToDate() {
		fmt.Fprintln(out, "pending: none")
		return nil
	}
	fmt.Fprintf(out, "pending: %v\n", status.Pending)
	return fmt.Errorf("%d migration(s) pending: run `aggregator migrate up`", len(status.Pending))
}

// openStoreForCLI opens the configured store without migrating it. CLI
// commands log warnings and errors only, to stderr.
func openStoreForCLI(cmd *cobra.Command) (*store.Store, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	return app.OpenStore(cmd.Context(), cfg, cliLogger(cfg, cmd.ErrOrStderr()))
}

func cliLogger(cfg config.Config, w io.Writer) *slog.Logger {
	if cfg.LogLevel == "info" {
		cfg.LogLevel = "warn"
	}
	cfg.LogFormat = "text"
	return app.NewLogger(cfg, w)
}
