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
	_ connector.ColumnWidener   = (*writer)(nil)
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

// WidenColumns changes the types of existing columns of the table the writer loads (the staging
// table under overwrite) during the run: the rows buffered for the old schema are loaded first,
// then the ALTERs run in the writer's transaction, which commits them with the rows after them.
func (w *writer) WidenColumns(ctx context.Context, fields []record.Field) error {
	bad, err := w.flush(ctx, 0)
	if err != nil {
		return err
	}
	w.deferred = append(w.deferred, bad...)
	if err := w.begin(ctx); err != nil {
		return err
	}
	t := w.load
	if t == "" {
		t = w.target()
	}
	for _, f := range fields {
		typ := ddlType(f)
		if err := w.exec(ctx, "ALTER TABLE "+t+" ALTER COLUMN "+q(f.Name)+" TYPE "+typ+" USING "+q(f.Name)+"::"+typ); err != nil {
			return w.err(fmt.Sprintf("change column %q to %s", f.Name, typ), err)
		}
		w.log.Info("changed the type of a destination column", "table", w.display, "column", f.Name, "type", typ)
	}
	w.schema = nil // the next Write prepares its statements for the new types
	return nil
}
