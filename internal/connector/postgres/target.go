package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

var (
	_ connector.TargetInspector = (*Connector)(nil)
	_ sqlkit.Alterer            = inspector{}
)

func (c *Connector) inspectTarget(ctx context.Context, cfg Config, pool *pgxpool.Pool) (sqlkit.Inspector, string, error) {
	schema := cfg.Schema
	if schema == "" {
		s, err := currentSchema(ctx, pool)
		if err != nil {
			return nil, "", fmt.Errorf("postgres destination: %w", err)
		}
		schema = s
	}
	return inspector{pool}, schema, nil
}

// InspectTarget describes the table a write request would write (schema-change policies).
func (c *Connector) InspectTarget(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Target, error) {
	return sqlkit.InspectTarget(ctx, c.kit(env), raw, req, Config.tableConfig, c.inspectTarget)
}

// AlterColumns changes column types of the destination table in one transaction.
func (c *Connector) AlterColumns(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest, fields []record.Field) error {
	return sqlkit.AlterTarget(ctx, c.kit(env), raw, req, Config.tableConfig, c.inspectTarget, fields)
}

// AlterColumns changes each column's type to ddlType of its field, converting the stored values
// (USING col::type), all in one transaction.
func (i inspector) AlterColumns(ctx context.Context, schema, table string, fields []record.Field) error {
	t := sqlkit.Qualified(q, schema, table)
	return pgx.BeginFunc(ctx, i.pool, func(tx pgx.Tx) error {
		for _, f := range fields {
			typ := ddlType(f)
			if _, err := tx.Exec(ctx, "ALTER TABLE "+t+" ALTER COLUMN "+q(f.Name)+" TYPE "+typ+" USING "+q(f.Name)+"::"+typ); err != nil {
				return fmt.Errorf("column %q to %s: %w", f.Name, typ, err)
			}
		}
		return nil
	})
}
