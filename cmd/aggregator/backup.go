package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/app"
	"github.com/dataaggregator/aggregator/internal/config"
)

func newBackupCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Copy the SQLite store to a file while the server runs (online backup)",
		Long: `Backup copies the SQLite metadata store (DATA_DIR/aggregator.db) to --output with SQLite's
online backup: a consistent snapshot, taken while "serve" keeps running. The copy is written
to a temporary file beside --output, checked, synced and renamed over it, so a failed backup
(a full disk, say) leaves the previous backup as it was.

The copy is a complete store: to restore, stop the server and put it in place of
DATA_DIR/aggregator.db (docs/operations.md). Saved secrets in it stay sealed under
ENCRYPTION_KEY: keep that key (or DATA_DIR/encryption_key) with the backups.

For the PostgreSQL store use pg_dump (docs/operations.md).`,
		Example: `  aggregator backup --output /backups/aggregator-$(date +%F).db
  DATA_DIR=/var/lib/aggregator aggregator backup -o /backups/aggregator.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output == "" {
				return errors.New("--output: name the backup file, e.g. --output /backups/aggregator.db")
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			dialect, dsn := cfg.Database()
			if dialect != config.DialectSQLite {
				return errors.New("backup copies the SQLite store; this configuration uses PostgreSQL (DATABASE_URL / POSTGRES_*): back it up with pg_dump (docs/operations.md)")
			}
			if _, err := os.Stat(dsn); errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no SQLite store at %s (DATA_DIR=%s): nothing to back up", dsn, cfg.DataDir)
			}
			st, err := app.OpenStore(cmd.Context(), cfg, cliLogger(cfg, cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := st.Backup(cmd.Context(), output)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "backed up %s to %s (%d bytes, %d pages)\n", dsn, res.Path, res.Bytes, res.Pages)
			if _, err := os.Stat(filepath.Join(cfg.DataDir, "encryption_key")); err == nil && cfg.EncryptionKey == "" {
				fmt.Fprintf(out, "keep %s with it: the saved secrets in the backup are sealed under that key\n",
					filepath.Join(cfg.DataDir, "encryption_key"))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "backup file to write (replaced only when the new backup is complete)")
	return cmd
}
