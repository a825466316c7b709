package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dataaggregator/aggregator/internal/config"
)

// buildInfo is what the binary knows about itself.
type buildInfo struct {
	Version string
	// Commit and Date (RFC 3339, UTC) are empty in a local build.
	Commit, Date string
}

// newRootCmd builds the command tree. Adding a subcommand is one file with a
// newXxxCmd constructor and one line in AddCommand below.
func newRootCmd(info buildInfo) *cobra.Command {
	root := &cobra.Command{
		Use:   "aggregator",
		Short: "Data Aggregator: connect sources, transform records, deliver them to destinations",
		Long: `Data Aggregator moves records from sources through transformations to destinations,
in batch and in real time, with a REST API, six roles and an audit trail.

Configuration comes from environment variables (see docs/configuration.md);
flags override them.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       info.Version,
	}
	root.SetVersionTemplate("aggregator {{.Version}}\n")
	addStoreFlags(root.PersistentFlags())

	root.AddCommand(
		newServeCmd(info),
		newWorkerCmd(info),
		newMigrateCmd(),
		newBackupCmd(),
		newHealthcheckCmd(),
		newUserCmd(),
		newVersionCmd(info),
		newRunCmd(),
		newValidateCmd(),
		newPreviewCmd(),
		newConnectorsCmd(),
		newSecretsCmd(),
		newOpenAPICmd(info),
		newTriggerCmd(info),
		newExportCmd(info),
		newPlanCmd(info),
		newApplyCmd(info),
	)
	return root
}

// Flags shared by every command that opens the metadata store. Each one
// overrides the environment variable of the same meaning.
func addStoreFlags(fs *pflag.FlagSet) {
	fs.String("data-dir", "", "data directory for the SQLite store, uploads and the generated secret (env DATA_DIR, default ./data)")
	fs.String("database-url", "", "PostgreSQL URL for the metadata store (env DATABASE_URL; default: SQLite in the data directory)")
	fs.String("log-level", "", "debug | info | warn | error (env LOG_LEVEL, default info)")
	fs.String("environment", "", "development | staging | production (env ENVIRONMENT, default development)")
}

// flagOverride maps a flag to the Config field it sets.
type flagOverride struct {
	flag  string
	apply func(c *config.Config, fs *pflag.FlagSet) error
}

func stringFlag(name string, set func(*config.Config, string)) flagOverride {
	return flagOverride{flag: name, apply: func(c *config.Config, fs *pflag.FlagSet) error {
		v, err := fs.GetString(name)
		if err != nil {
			return err
		}
		set(c, v)
		return nil
	}}
}

// storeOverrides are the flags of addStoreFlags.
func storeOverrides() []flagOverride {
	return []flagOverride{
		stringFlag("data-dir", func(c *config.Config, v string) { c.DataDir = v }),
		stringFlag("database-url", func(c *config.Config, v string) { c.DatabaseURL = v }),
		stringFlag("log-level", func(c *config.Config, v string) { c.LogLevel = strings.ToLower(v) }),
		stringFlag("environment", func(c *config.Config, v string) { c.Environment = config.Environment(strings.ToLower(v)) }),
	}
}

// loadConfig reads the environment, applies the flags the user set and
// validates the result, reporting every problem at once.
func loadConfig(cmd *cobra.Command, overrides ...flagOverride) (config.Config, error) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return cfg, fmt.Errorf("configuration:\n%w", err)
	}
	fs := cmd.Flags()
	for _, o := range append(storeOverrides(), overrides...) {
		if fs.Lookup(o.flag) == nil || !fs.Changed(o.flag) {
			continue
		}
		if err := o.apply(&cfg, fs); err != nil {
			return cfg, fmt.Errorf("--%s: %w", o.flag, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, nil
}
