package mysql

import (
	"context"
	"database/sql"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
)

// Connector is the MySQL/MariaDB connector type. It is stateless.
type Connector struct{}

// New returns the MySQL/MariaDB connector.
func New() *Connector { return &Connector{} }

var (
	_ connector.Checker            = (*Connector)(nil)
	_ connector.Discoverer         = (*Connector)(nil)
	_ connector.Source             = (*Connector)(nil)
	_ connector.Partitioner        = (*Connector)(nil)
	_ connector.Destination        = (*Connector)(nil)
	_ connector.DestinationChecker = (*Connector)(nil)
)

// Spec describes the connector.
func (c *Connector) Spec() connector.Spec {
	return sqlkit.DatabaseSpec("mysql", "MySQL / MariaDB",
		"Reads tables, views or queries (full or incremental by a cursor column) and writes tables with LOAD DATA LOCAL INFILE (checked for warnings; multi-row INSERT for upsert and for rows it refuses): append, atomic overwrite or upsert.",
		configSpec)
}

func (c *Connector) dialect(ctx context.Context, db *sql.DB) *Dialect {
	d := &Dialect{}
	var packet int
	if err := db.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&packet); err == nil {
		d.MaxPacket = packet
	}
	var local int
	if err := db.QueryRowContext(ctx, "SELECT @@local_infile").Scan(&local); err == nil {
		d.LoadData = local == 1
	}
	return d
}

func (c *Connector) kit(env connector.Env) sqlkit.Kit[Config, *sql.DB] {
	return sqlkit.Kit[Config, *sql.DB]{Spec: c.Spec(), Decode: decodeConfig, Env: env, Connect: func(ctx context.Context, dial connector.DialFunc, cfg Config) (*sql.DB, error) {
		return cfg.open(ctx, dial)
	}, Close: sqlkit.CloseDB, Secrets: Config.secrets}
}

func tableConfig(cfg Config) sqlkit.TableConfig { return cfg.TableConfig }

func database(cfg Config) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return cfg.Database, nil }
}

// Check connects and, when a table or query is configured, checks that it can be read.
func (c *Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	_, err := sqlkit.Use(ctx, c.kit(env), raw, func(cfg Config, db *sql.DB) (struct{}, error) {
		return sqlkit.Done(sqlkit.CheckReadable(ctx, &Dialect{}, db, cfg.Query, cfg.Table, "database", database(cfg)))
	})
	return err
}

// Discover lists the database's tables and views with columns, primary keys and cursor candidates.
func (c *Connector) Discover(ctx context.Context, env connector.Env, raw map[string]any) (*connector.Catalog, error) {
	return sqlkit.Use(ctx, c.kit(env), raw, func(cfg Config, db *sql.DB) (*connector.Catalog, error) {
		return sqlkit.Discover(ctx, &Dialect{}, db, cfg.Database)
	})
}

// Open starts a read of the configured table or query (or the stream's table).
func (c *Connector) Open(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	return sqlkit.Hand(ctx, c.kit(env), raw, func(cfg Config, db *sql.DB) (connector.Reader, error) {
		o := sqlkit.ReadOptions{Key: cfg.Key, BatchSize: cfg.BatchSize, Req: req, NullCursor: cfg.NullCursor, Log: sqlkit.Logger(env), Secrets: cfg.secrets()}
		return sqlkit.NewTableReader(ctx, db, &Dialect{}, o, cfg.Query, cfg.Table, "database", database(cfg))
	})
}

// Partitions splits the read into key ranges when the config has partition (sqlkit.PartitionConfig).
func (c *Connector) Partitions(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) ([]connector.KeyRange, error) {
	return sqlkit.Use(ctx, c.kit(env), raw, func(cfg Config, db *sql.DB) ([]connector.KeyRange, error) {
		if cfg.Partition == nil {
			return nil, nil
		}
		o := sqlkit.ReadOptions{Key: cfg.Key, BatchSize: cfg.BatchSize, Req: req, NullCursor: cfg.NullCursor, Log: sqlkit.Logger(env), Secrets: cfg.secrets()}
		r, err := sqlkit.NewTableReader(ctx, db, &Dialect{}, o, cfg.Query, cfg.Table, "database", database(cfg))
		if err != nil {
			return nil, err
		}
		return r.Partitions(ctx, cfg.Partition)
	})
}

// OpenWriter opens a writer on the configured table (or the stream's).
func (c *Connector) OpenWriter(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	return sqlkit.Hand(ctx, sqlkit.ForWriter(c.kit(env), tableConfig, req), raw, func(cfg Config, db *sql.DB) (connector.Writer, error) {
		return sqlkit.NewWriter(ctx, db, c.dialect(ctx, db), sqlkit.WriteOptions{Schema: cfg.Database, Table: sqlkit.TableOf(cfg.TableConfig, req), Req: req, Log: sqlkit.Logger(env), Secrets: cfg.secrets()})
	})
}

// CheckDestination checks, without writing, that a run could write the configured table (see
// sqlkit.CheckTarget). Privileges are not read beforehand (MySQL grants through roles and wildcards
// are not resolved here); a missing one fails the run's first statement with the server's message.
func (c *Connector) CheckDestination(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) error {
	return sqlkit.CheckDestination(ctx, c.kit(env), raw, req, tableConfig, func(_ context.Context, cfg Config, db *sql.DB) (sqlkit.Inspector, string, error) {
		return sqlkit.DialectInspector(&Dialect{}, db, "database"), cfg.Database, nil
	})
}
