package sqlserver

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
)

// Connector is the SQL Server connector type. It is stateless.
type Connector struct{}

// New returns the SQL Server connector.
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
	return sqlkit.DatabaseSpec("sqlserver", "Microsoft SQL Server",
		"Reads tables, views or queries (full or incremental by a cursor column) and writes tables with bulk copy: append, atomic overwrite or upsert (MERGE).",
		configSpec)
}

// schemaOf is the configured schema, or the login's default one.
func schemaOf(ctx context.Context, d *Dialect, db sqlkit.Queryer, cfg Config) (string, error) {
	if cfg.Schema != "" {
		return cfg.Schema, nil
	}
	return d.CurrentSchema(ctx, db)
}

func (c *Connector) kit(env connector.Env) sqlkit.Kit[Config, *sql.DB] {
	return sqlkit.Kit[Config, *sql.DB]{Spec: c.Spec(), Decode: decodeConfig, Close: sqlkit.CloseDB, Secrets: Config.secrets,
		Env: env, Connect: func(ctx context.Context, dial connector.DialFunc, cfg Config) (*sql.DB, error) {
			return cfg.open(ctx, dial)
		}}
}

func tableConfig(cfg Config) sqlkit.TableConfig { return cfg.TableConfig }

// Check connects and, when a table or query is configured, checks that it can be read.
func (c *Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	_, err := sqlkit.Use(ctx, c.kit(env), raw, func(cfg Config, db *sql.DB) (struct{}, error) {
		d := &Dialect{}
		schema := func(ctx context.Context) (string, error) { return schemaOf(ctx, d, db, cfg) }
		return sqlkit.Done(sqlkit.CheckReadable(ctx, d, db, cfg.Query, cfg.Table, "schema", schema))
	})
	return err
}

// Discover lists the database's tables and views with columns, primary keys and cursor candidates.
func (c *Connector) Discover(ctx context.Context, env connector.Env, raw map[string]any) (*connector.Catalog, error) {
	return sqlkit.Use(ctx, c.kit(env), raw, func(cfg Config, db *sql.DB) (*connector.Catalog, error) {
		d := &Dialect{}
		schema, err := schemaOf(ctx, d, db, cfg)
		if err != nil {
			return nil, fmt.Errorf("sqlserver: discover: %w", err)
		}
		return sqlkit.Discover(ctx, d, db, schema)
	})
}

// Open starts a read of the configured table or query (or the stream's table).
func (c *Connector) Open(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	return sqlkit.Hand(ctx, c.kit(env), raw, func(cfg Config, db *sql.DB) (connector.Reader, error) {
		d := &Dialect{}
		o := sqlkit.ReadOptions{Key: cfg.Key, BatchSize: cfg.BatchSize, Req: req, NullCursor: cfg.NullCursor, Log: sqlkit.Logger(env), Secrets: cfg.secrets()}
		return sqlkit.NewTableReader(ctx, db, d, o, cfg.Query, cfg.Table, "schema", func(ctx context.Context) (string, error) { return schemaOf(ctx, d, db, cfg) })
	})
}

// Partitions splits the read into key ranges when the config has partition (sqlkit.PartitionConfig).
func (c *Connector) Partitions(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) ([]connector.KeyRange, error) {
	return sqlkit.Use(ctx, c.kit(env), raw, func(cfg Config, db *sql.DB) ([]connector.KeyRange, error) {
		if cfg.Partition == nil {
			return nil, nil
		}
		d := &Dialect{}
		o := sqlkit.ReadOptions{Key: cfg.Key, BatchSize: cfg.BatchSize, Req: req, NullCursor: cfg.NullCursor, Log: sqlkit.Logger(env), Secrets: cfg.secrets()}
		r, err := sqlkit.NewTableReader(ctx, db, d, o, cfg.Query, cfg.Table, "schema", func(ctx context.Context) (string, error) { return schemaOf(ctx, d, db, cfg) })
		if err != nil {
			return nil, err
		}
		return r.Partitions(ctx, cfg.Partition)
	})
}

// OpenWriter opens a writer on the configured table (or the stream's).
func (c *Connector) OpenWriter(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	if req.RunID == "" {
		req.RunID = sqlkit.RandomID()
	}
	return sqlkit.Hand(ctx, sqlkit.ForWriter(c.kit(env), tableConfig, req), raw, func(cfg Config, db *sql.DB) (connector.Writer, error) {
		return sqlkit.NewWriter(ctx, db, &Dialect{RunID: req.RunID}, sqlkit.WriteOptions{Schema: cfg.Schema, Table: sqlkit.TableOf(cfg.TableConfig, req), Req: req, Log: sqlkit.Logger(env), Secrets: cfg.secrets()})
	})
}

// CheckDestination checks, without writing, that a run could write the configured table (see
// sqlkit.CheckTarget); the login's CREATE TABLE, ALTER (schema) and INSERT permissions are checked too.
func (c *Connector) CheckDestination(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) error {
	return sqlkit.CheckDestination(ctx, c.kit(env), raw, req, tableConfig, func(ctx context.Context, cfg Config, db *sql.DB) (sqlkit.Inspector, string, error) {
		d := &Dialect{}
		schema, err := schemaOf(ctx, d, db, cfg)
		if err != nil {
			return nil, "", fmt.Errorf("sqlserver destination: find schema: %w", err)
		}
		return sqlkit.DialectInspector(d, db, "schema"), schema, nil
	})
}
