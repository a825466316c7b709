package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
)

// Connector is the PostgreSQL connector type. It is stateless.
type Connector struct{}

// New returns the PostgreSQL connector.
func New() *Connector { return &Connector{} }

var (
	_ connector.Checker     = (*Connector)(nil)
	_ connector.Discoverer  = (*Connector)(nil)
	_ connector.Source      = (*Connector)(nil)
	_ connector.Partitioner = (*Connector)(nil)
	_ connector.Destination = (*Connector)(nil)
)

// Spec describes the connector.
func (c *Connector) Spec() connector.Spec {
	return sqlkit.DatabaseSpec("postgres", "PostgreSQL",
		"Reads tables, views or queries (full or incremental by a cursor column) and writes tables with COPY: append, atomic overwrite or upsert.",
		configSpec)
}

func (c *Connector) kit(env connector.Env) sqlkit.Kit[Config, *pgxpool.Pool] {
	return sqlkit.Kit[Config, *pgxpool.Pool]{Spec: c.Spec(), Env: env, Decode: decodeConfig, Close: (*pgxpool.Pool).Close, Secrets: Config.secrets,
		Connect: func(ctx context.Context, dial connector.DialFunc, cfg Config) (*pgxpool.Pool, error) {
			return cfg.connect(ctx, dial)
		}}
}

// Check connects and, when a table or query is configured, checks that it can be read.
func (c *Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	_, err := sqlkit.Use(ctx, c.kit(env), raw, func(cfg Config, pool *pgxpool.Pool) (struct{}, error) {
		switch {
		case cfg.Query != "":
			if _, err := describeQuery(ctx, pool, cfg.Query); err != nil {
				return sqlkit.Done(wrap("postgres: check query", err))
			}
		case cfg.Table != "":
			if _, err := findTable(ctx, pool, cfg.Schema, cfg.Table); err != nil {
				return sqlkit.Done(wrap("postgres: check table", err))
			}
		}
		return sqlkit.Done(nil)
	})
	return err
}

// Discover lists the tables and views with their columns, primary keys and cursor candidates.
func (c *Connector) Discover(ctx context.Context, env connector.Env, raw map[string]any) (*connector.Catalog, error) {
	return sqlkit.Use(ctx, c.kit(env), raw, func(cfg Config, pool *pgxpool.Pool) (*connector.Catalog, error) {
		cat, err := discover(ctx, pool, cfg.Schema)
		if err != nil {
			return nil, wrap("postgres: discover", err)
		}
		return cat, nil
	})
}
