package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
)

var _ connector.DestinationChecker = (*Connector)(nil)

// CheckDestination checks, without writing, that a run could write the configured table (see
// sqlkit.CheckTarget); the login's CREATE privilege on the schema and INSERT on the table are checked
// too.
func (c *Connector) CheckDestination(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) error {
	return sqlkit.CheckDestination(ctx, c.kit(env), raw, req, Config.tableConfig, func(ctx context.Context, cfg Config, pool *pgxpool.Pool) (sqlkit.Inspector, string, error) {
		schema := cfg.Schema
		if schema == "" {
			s, err := currentSchema(ctx, pool)
			if err != nil {
				return nil, "", fmt.Errorf("postgres destination: %w", err)
			}
			schema = s
		}
		return inspector{pool}, schema, nil
	})
}

// hasUniqueKey reports whether the table (a qualified name) has a primary key or a unique index
// without a predicate on exactly the key's columns.
func hasUniqueKey(ctx context.Context, db querier, qualified string, key []string) (bool, error) {
	var unique bool
	err := db.QueryRow(ctx, `
SELECT EXISTS (
  SELECT 1 FROM pg_index i
  WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indpred IS NULL
    AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
         WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) = (SELECT array_agg(k ORDER BY k) FROM unnest($2::text[]) k)
    AND i.indnkeyatts = cardinality($2::text[]))`, qualified, key).Scan(&unique)
	return unique, err
}

// inspector is the sqlkit.Inspector of PostgreSQL.
type inspector struct{ pool *pgxpool.Pool }

func (inspector) Name() string            { return "postgres" }
func (inspector) Container() string       { return "schema" }
func (inspector) MaxIdent() int           { return maxIdent }
func (inspector) Fold(name string) string { return name }

func (i inspector) SchemaExists(ctx context.Context, schema string) (bool, error) {
	var ok bool
	err := i.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&ok)
	return ok, err
}

func (i inspector) Table(ctx context.Context, schema, name string) (*sqlkit.Table, error) {
	ts, err := loadTables(ctx, i.pool, schema, name)
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	t := ts[0]
	out := &sqlkit.Table{Schema: t.schema, Name: t.name, Kind: t.kind, PK: t.pk, Rows: t.rows}
	for _, c := range t.cols {
		f := c.field()
		out.Cols = append(out.Cols, sqlkit.Col{Name: c.name, Type: c.typname, Native: c.format, Kind: f.Kind, Nullable: !c.notNull,
			Default: c.hasDef, Precision: f.Precision, Scale: f.Scale})
	}
	return out, nil
}

func (i inspector) HasUniqueKey(ctx context.Context, t *sqlkit.Table, key []string) (bool, error) {
	return hasUniqueKey(ctx, i.pool, sqlkit.Qualified(q, t.Schema, t.Name), key)
}

func (i inspector) CanCreate(ctx context.Context, schema string) (bool, error) {
	var ok bool
	err := i.pool.QueryRow(ctx, "SELECT has_schema_privilege($1, 'CREATE')", schema).Scan(&ok)
	return ok, err
}

func (i inspector) CanInsert(ctx context.Context, t *sqlkit.Table) (bool, error) {
	var ok bool
	err := i.pool.QueryRow(ctx, "SELECT has_table_privilege($1, 'INSERT')", sqlkit.Qualified(q, t.Schema, t.Name)).Scan(&ok)
	return ok, err
}
