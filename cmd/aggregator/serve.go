package main

import (
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dataaggregator/aggregator/internal/app"
	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/web"
)

func newServeCmd(info buildInfo) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the API server, its docs and the run workers on http://localhost:PORT",
		Long: `Run the API server on PORT (default 8001) with the metadata store named by the
configuration: SQLite in DATA_DIR by default, PostgreSQL with DATABASE_URL.

On first start with no admin user, the user "admin" is created with ADMIN_PASSWORD,
or a generated password printed once together with the login URL.
SIGINT or SIGTERM stop accepting requests, drain the ones in flight and exit
(connections still open after SHUTDOWN_TIMEOUT are closed).`,
		Example: `  aggregator serve
  aggregator serve --port 9000 --data-dir /var/lib/aggregator
  DATABASE_URL=postgres://user@db:5432/aggregator REDIS_URL=redis://cache:6379/0 aggregator serve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, serveOverrides()...)
			if err != nil {
				return err
			}
			a, err := app.New(cmd.Context(), cfg, app.Options{Version: info.Version, Commit: info.Commit, BuildDate: info.Date, Console: cmd.ErrOrStderr(), UI: web.Handler()})
			if err != nil {
				return err
			}
			return a.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.Int("port", 0, "HTTP port (env PORT, default "+strconv.Itoa(config.DefaultPort)+")")
	fs.String("redis-url", "", "Redis URL for shared rate limits and login lockouts (env REDIS_URL)")
	fs.String("public-url", "", "URL users reach the server at, shown in the login banner (env PUBLIC_URL)")
	fs.StringSlice("cors-origins", nil, "origins allowed to call the API from a browser (env CORS_ORIGINS, comma-separated)")
	fs.Bool("auto-init-db", true, "apply pending database migrations at start (env AUTO_INIT_DB)")
	return cmd
}

func serveOverrides() []flagOverride {
	return []flagOverride{
		{flag: "port", apply: func(c *config.Config, fs *pflag.FlagSet) error {
			v, err := fs.GetInt("port")
			c.Port = v
			return err
		}},
		stringFlag("redis-url", func(c *config.Config, v string) { c.RedisURL = v }),
		stringFlag("public-url", func(c *config.Config, v string) { c.PublicURL = v }),
		{flag: "cors-origins", apply: func(c *config.Config, fs *pflag.FlagSet) error {
			v, err := fs.GetStringSlice("cors-origins")
			c.CORSOrigins = v
			return err
		}},
		{flag: "auto-init-db", apply: func(c *config.Config, fs *pflag.FlagSet) error {
			v, err := fs.GetBool("auto-init-db")
			c.AutoInitDB = v
			return err
		}},
	}
}
