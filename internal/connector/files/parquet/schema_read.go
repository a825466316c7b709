package parquet

import (
	"fmt"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	pqformat "github.com/parquet-go/parquet-go/format"

	"github.com/dataaggregator/aggregator/internal/record"
)

// readColumn is how a file's column is read: its record kind and the conversion of its values.
type readColumn struct {
	name      string
	kind      record.Kind
	physical  pq.Kind
	scale     int
	precision int
	unit      int64 // timestamp: nanoseconds per unit (1e6 millis, 1e3 micros, 1 nanos)
	unsigned  bool
	uuid      bool
	float16   bool
	time      bool // a TIME of day, read as text
	native    string
	text      bool // stored as text, read as kind (from the written schema)
}

// readSchema maps a file's schema to record fields; written is the schema in the file's metadata, if
// any (it restores decimals stored as text, all-null fields and nullability). A nested column (group,
// list, map, repeated) is an error naming it.
func readSchema(s *pq.Schema, written *record.Schema) ([]readColumn, []record.Field, error) {
	var cols []readColumn
	var fields []record.Field
	for _, f := range s.Fields() {
		if !f.Leaf() || f.Repeated() {
			return nil, nil, fmt.Errorf("column %q is nested (a group, list, map or repeated field); only flat columns are read", f.Name())
		}
		t := f.Type()
		c := readColumn{name: f.Name(), physical: t.Kind(), native: t.String()}
		lt := t.LogicalType()
		var lv pqformat.LogicalTypeValue
		if lt != nil {
			lv = lt.Value
		}
		switch v := lv.(type) {
		case *pqformat.DecimalType:
			c.kind, c.scale, c.precision = record.KindDecimal, int(v.Scale), int(v.Precision)
		case *pqformat.DateType:
			c.kind = record.KindDate
		case *pqformat.TimestampType:
			c.kind, c.unit = record.KindTimestamp, int64(v.Unit.Value.Duration())
		case *pqformat.TimeType:
			c.kind, c.unit, c.time = record.KindString, int64(v.Unit.Value.Duration()), true
		case *pqformat.IntType:
			c.kind = record.KindInt
			if !v.IsSigned && v.BitWidth == 64 {
				c.kind, c.unsigned = record.KindDecimal, true
				c.precision = 20
			} else if !v.IsSigned {
				c.unsigned = true
			}
		case *pqformat.JsonType:
			c.kind = record.KindJSON
		case *pqformat.StringType, *pqformat.EnumType:
			c.kind = record.KindString
		case *pqformat.UUIDType:
			c.kind, c.uuid = record.KindString, true
		case *pqformat.Float16Type:
			c.kind, c.float16 = record.KindFloat, true
		case *pqformat.NullType:
			c.kind = record.KindNull
		case nil:
			switch t.Kind() {
			case pq.Boolean:
				c.kind = record.KindBool
			case pq.Int32, pq.Int64:
				c.kind = record.KindInt
			case pq.Int96:
				c.kind, c.unit = record.KindTimestamp, 1
			case pq.Float, pq.Double:
				c.kind = record.KindFloat
			default:
				c.kind = record.KindBytes
				if ct := t.ConvertedType(); ct != nil && (*ct == deprecated.UTF8 || *ct == deprecated.Enum) {
					c.kind = record.KindString
				}
			}
		default:
			return nil, nil, fmt.Errorf("column %q has the Parquet type %s, which is not read", f.Name(), t)
		}
		fl := record.Field{Name: c.name, Kind: c.kind, Nullable: f.Optional(), Native: c.native}
		if c.kind == record.KindDecimal {
			fl.Precision, fl.Scale = c.precision, c.scale
		}
		if written != nil {
			if w, ok := written.Field(c.name); ok {
				switch {
				case w.Kind == record.KindDecimal && c.kind == record.KindString:
					c.kind, c.text = record.KindDecimal, true
					fl.Kind, fl.Precision, fl.Scale = record.KindDecimal, w.Precision, w.Scale
				case w.Kind == record.KindNull && c.kind == record.KindString:
					c.kind, fl.Kind = record.KindNull, record.KindNull
				}
				fl.Nullable = w.Nullable
				if w.Native != "" {
					fl.Native = w.Native
				}
			}
		}
		cols = append(cols, c)
		fields = append(fields, fl)
	}
	return cols, fields, nil
}
