package postgres

import (
	"context"

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
	_ connector.Destination = (*Connector)(nil)
)

// Spec describes the connector.
func (c *Connector) Spec() connector.Spec {
	return sqlkit.DatabaseSpec("postgres", "PostgreSQL",
		"Reads tables, views or queries (full or incremental by a cursor column) and writes tables with COPY: append, atomic overwrite or upsert.",
		configSpec)
}

// Check connects and, when a table or query is configured, checks that it can be read.
func (c *Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	cfg, err := decodeConfig(c.Spec(), raw)
	if err != nil {
		return err
	}
	pool, err := cfg.connect(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch {
	case cfg.Query != "":
		if _, err := describeQuery(ctx, pool, cfg.Query); err != nil {
			return sqlkit.Scrub(wrap("postgres: check query", err), cfg.secrets()...)
		}
	case cfg.Table != "":
		if _, err := findTable(ctx, pool, cfg.Schema, cfg.Table); err != nil {
			return sqlkit.Scrub(wrap("postgres: check table", err), cfg.secrets()...)
		}
	}
	return nil
}

// Discover lists the tables and views with their columns, primary keys and cursor candidates.
func (c *Connector) Discover(ctx context.Context, env connector.Env, raw map[string]any) (*connector.Catalog, error) {
	cfg, err := decodeConfig(c.Spec(), raw)
	if err != nil {
		return nil, err
	}
	pool, err := cfg.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	cat, err := discover(ctx, pool, cfg.Schema)
	if err != nil {
		return nil, sqlkit.Scrub(wrap("postgres: discover", err), cfg.secrets()...)
	}
	return cat, nil
}
