package sqlkit

import (
	"context"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Alterer is an Inspector that can also change column types (schema-change policies, see
// connector.TargetInspector).
type Alterer interface {
	// AlterColumns changes the type of each named column of schema.table to the type created for
	// its field, converting the stored values, all or none where the database allows.
	AlterColumns(ctx context.Context, schema, table string, fields []record.Field) error
}

// ColumnAlterer is an optional capability of a Dialect: the statement that changes a column's type
// to the one created for f (DDLType), keeping it nullable.
type ColumnAlterer interface {
	AlterColumn(table string, f record.Field) string
}

// InspectTarget is a connector's connector.TargetInspector.InspectTarget: it decodes the config,
// connects and describes the table the destination would write (TableOf) through the Inspector
// inspect gives.
func InspectTarget[C, H any](ctx context.Context, k Kit[C, H], raw map[string]any, req connector.WriteRequest, table func(C) TableConfig,
	inspect func(context.Context, C, H) (ins Inspector, schema string, err error)) (connector.Target, error) {
	return Use(ctx, k, raw, func(cfg C, h H) (connector.Target, error) {
		ins, schema, err := inspect(ctx, cfg, h)
		if err != nil {
			return connector.Target{}, err
		}
		name := TableOf(table(cfg), req)
		out := connector.Target{Name: schema + "." + name, Fold: ins.Fold}
		if req.Mode == connector.Upsert {
			out.Skip = []string{OpField}
		}
		t, err := ins.Table(ctx, schema, name)
		if err != nil {
			return out, fmt.Errorf("%s destination %s: read table: %w", ins.Name(), out.Name, err)
		}
		if t == nil {
			return out, nil
		}
		out.Exists, out.Key = true, t.PK
		for _, c := range t.Cols {
			out.Columns = append(out.Columns, connector.TargetColumn{Name: c.Name, Native: c.Native, Kind: c.Kind, Nullable: c.Nullable})
		}
		return out, nil
	})
}

// AlterTarget is a connector's connector.TargetInspector.AlterColumns over InspectTarget's
// connection; the Inspector must be an Alterer.
func AlterTarget[C, H any](ctx context.Context, k Kit[C, H], raw map[string]any, req connector.WriteRequest, table func(C) TableConfig,
	inspect func(context.Context, C, H) (ins Inspector, schema string, err error), fields []record.Field) error {
	_, err := Use(ctx, k, raw, func(cfg C, h H) (struct{}, error) {
		ins, schema, err := inspect(ctx, cfg, h)
		if err != nil {
			return Done(err)
		}
		a, ok := ins.(Alterer)
		if !ok {
			return Done(fmt.Errorf("%s destination: changing a column's type: %w", ins.Name(), connector.ErrUnsupported))
		}
		name := TableOf(table(cfg), req)
		if err := a.AlterColumns(ctx, schema, name, fields); err != nil {
			return Done(fmt.Errorf("%s destination %s.%s: change column types: %w", ins.Name(), schema, name, err))
		}
		return Done(nil)
	})
	return err
}

// AlterColumns changes column types with the dialect's ColumnAlterer statements.
func (i *dialectInspector) AlterColumns(ctx context.Context, schema, table string, fields []record.Field) error {
	ca, ok := i.d.(ColumnAlterer)
	if !ok {
		return fmt.Errorf("changing a column's type: %w", connector.ErrUnsupported)
	}
	t := Qualified(i.d.Quote, schema, table)
	for _, f := range fields {
		if _, err := i.db.ExecContext(ctx, ca.AlterColumn(t, f)); err != nil {
			return fmt.Errorf("column %q to %s: %w", f.Name, i.d.DDLType(f, false), err)
		}
	}
	return nil
}
