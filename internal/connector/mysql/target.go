package mysql

import (
	"context"
	"database/sql"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

var (
	_ connector.TargetInspector = (*Connector)(nil)
	_ sqlkit.ColumnAlterer      = (*Dialect)(nil)
)

func (c *Connector) inspect(_ context.Context, cfg Config, db *sql.DB) (sqlkit.Inspector, string, error) {
	return sqlkit.DialectInspector(&Dialect{}, db, "database"), cfg.Database, nil
}

// InspectTarget describes the table a write request would write (schema-change policies).
func (c *Connector) InspectTarget(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Target, error) {
	return sqlkit.InspectTarget(ctx, c.kit(env), raw, req, tableConfig, c.inspect)
}

// AlterColumns changes column types of the destination table (ALTER TABLE ... MODIFY COLUMN).
func (c *Connector) AlterColumns(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest, fields []record.Field) error {
	return sqlkit.AlterTarget(ctx, c.kit(env), raw, req, tableConfig, c.inspect, fields)
}

// AlterColumn changes a column's type to the one created for f (MODIFY COLUMN keeps it nullable).
func (d *Dialect) AlterColumn(table string, f record.Field) string {
	return "ALTER TABLE " + table + " MODIFY COLUMN " + q(f.Name) + " " + d.DDLType(f, false) + " NULL"
}
