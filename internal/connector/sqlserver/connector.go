package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
)

// Connector is the SQL Server connector type. It is stateless.
type Connector struct{}

// New returns the SQL Server connector.
func New() *Connector { return &Connector{} }

var (
	_ connector.Checker     = (*Connector)(nil)
	_ connector.Discoverer  = (*Connector)(nil)
	_ connector.Source      = (*Connector)(nil)
	_ connector.Destination = (*Connector)(nil)
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

// Check connects and, when a table or query is configured, checks that it can be read.
func (c *Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	cfg, err := decodeConfig(c.Spec(), raw)
	if err != nil {
		return err
	}
	db, err := cfg.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	d := &Dialect{}
	schema := func(ctx context.Context) (string, error) { return schemaOf(ctx, d, db, cfg) }
	return sqlkit.Scrub(sqlkit.CheckReadable(ctx, d, db, cfg.Query, cfg.Table, "schema", schema), cfg.secrets()...)
}

// Discover lists the database's tables and views with columns, primary keys and cursor candidates.
func (c *Connector) Discover(ctx context.Context, env connector.Env, raw map[string]any) (*connector.Catalog, error) {
	cfg, err := decodeConfig(c.Spec(), raw)
	if err != nil {
		return nil, err
	}
	db, err := cfg.open(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	d := &Dialect{}
	schema, err := schemaOf(ctx, d, db, cfg)
	if err != nil {
		return nil, sqlkit.Scrub(fmt.Errorf("sqlserver: discover: %w", err), cfg.secrets()...)
	}
	cat, err := sqlkit.Discover(ctx, d, db, schema)
	if err != nil {
		return nil, sqlkit.Scrub(err, cfg.secrets()...)
	}
	return cat, nil
}

// Open starts a read of the configured table or query (or the stream's table).
func (c *Connector) Open(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	cfg, err := decodeConfig(c.Spec(), raw)
	if err != nil {
		return nil, err
	}
	db, err := cfg.open(ctx)
	if err != nil {
		return nil, err
	}
	r, err := c.newReader(ctx, db, cfg, env, req)
	if err != nil {
		db.Close()
		return nil, sqlkit.Scrub(err, cfg.secrets()...)
	}
	return r, nil
}

func (c *Connector) newReader(ctx context.Context, db *sql.DB, cfg Config, env connector.Env, req connector.ReadRequest) (*sqlkit.Reader, error) {
	d := &Dialect{}
	o := sqlkit.ReadOptions{Key: cfg.Key, BatchSize: cfg.BatchSize, Req: req, NullCursor: cfg.NullCursor, Log: sqlkit.Logger(env), Secrets: cfg.secrets()}
	return sqlkit.NewTableReader(ctx, db, d, o, cfg.Query, cfg.Table, "schema", func(ctx context.Context) (string, error) { return schemaOf(ctx, d, db, cfg) })
}

// OpenWriter opens a writer on the configured table (or the stream's).
func (c *Connector) OpenWriter(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	cfg, err := decodeConfig(c.Spec(), raw)
	if err != nil {
		return nil, err
	}
	if cfg.Query != "" {
		return nil, connector.ConfigError(errors.New("query: a destination writes a table; remove query"))
	}
	name := cfg.Table
	if name == "" {
		name = req.Stream
	}
	switch req.Mode {
	case "", connector.Append, connector.Overwrite, connector.Upsert:
	default:
		return nil, fmt.Errorf("write mode %q: %w", req.Mode, connector.ErrUnsupported)
	}
	db, err := cfg.open(ctx)
	if err != nil {
		return nil, err
	}
	if req.RunID == "" {
		req.RunID = sqlkit.RandomID()
	}
	return sqlkit.NewWriter(ctx, db, &Dialect{RunID: req.RunID}, sqlkit.WriteOptions{Schema: cfg.Schema, Table: name, Req: req, Log: sqlkit.Logger(env), Secrets: cfg.secrets()})
}
