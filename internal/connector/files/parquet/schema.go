package parquet

import (
	"encoding/json"
	"fmt"
	"reflect"

	pq "github.com/parquet-go/parquet-go"

	"github.com/dataaggregator/aggregator/internal/record"
)

// SchemaKey is the key-value metadata entry holding the record schema a file was written with.
const SchemaKey = "aggregator.schema"

// column is how one record field is stored.
type column struct {
	kind      record.Kind
	physical  pq.Kind
	scale     int  // decimal: digits after the point
	precision int  // decimal: total digits
	text      bool // a decimal stored as its text (unknown or too large precision)
}

// columnOf chooses the Parquet column of a field.
func columnOf(f record.Field) (column, pq.Node) {
	c := column{kind: f.Kind}
	var n pq.Node
	switch f.Kind {
	case record.KindBool:
		c.physical, n = pq.Boolean, pq.Leaf(pq.BooleanType)
	case record.KindInt:
		c.physical, n = pq.Int64, pq.Int(64)
	case record.KindFloat:
		c.physical, n = pq.Double, pq.Leaf(pq.DoubleType)
	case record.KindDecimal:
		c.precision, c.scale = f.Precision, f.Scale
		switch {
		case f.Precision > 0 && f.Precision <= 18 && f.Scale >= 0 && f.Scale <= f.Precision:
			c.physical, n = pq.Int64, pq.Decimal(f.Scale, f.Precision, pq.Int64Type)
		case f.Precision > 18 && f.Precision <= 38 && f.Scale >= 0 && f.Scale <= f.Precision:
			c.physical, n = pq.FixedLenByteArray, pq.Decimal(f.Scale, f.Precision, pq.FixedLenByteArrayType(16))
		default:
			c.physical, c.text, n = pq.ByteArray, true, pq.String()
		}
	case record.KindBytes:
		c.physical, n = pq.ByteArray, pq.Leaf(pq.ByteArrayType)
	case record.KindDate:
		c.physical, n = pq.Int32, pq.Date()
	case record.KindTimestamp:
		c.physical, n = pq.Int64, pq.Timestamp(pq.Microsecond)
	case record.KindJSON:
		c.physical, n = pq.ByteArray, pq.JSON()
	default: // string, and null (an all-null field: a string column whose values are all null)
		c.physical, n = pq.ByteArray, pq.String()
	}
	return c, pq.Optional(n)
}

// fileSchema is the Parquet schema of a record schema: one optional column per field, in field order.
func fileSchema(s *record.Schema) (*pq.Schema, []column, string) {
	g := orderedGroup{Group: pq.Group{}}
	cols := make([]column, len(s.Fields))
	for i, f := range s.Fields {
		c, n := columnOf(f)
		cols[i] = c
		g.Group[f.Name] = n
		g.fields = append(g.fields, namedField{Node: n, name: f.Name})
	}
	meta, _ := json.Marshal(s)
	return pq.NewSchema("record", g), cols, string(meta)
}

// orderedGroup is a group whose fields keep the record schema's order (pq.Group sorts them by name).
type orderedGroup struct {
	pq.Group
	fields []pq.Field
}

func (g orderedGroup) Fields() []pq.Field   { return g.fields }
func (g orderedGroup) GoType() reflect.Type { return reflect.TypeFor[map[string]any]() }
func (g orderedGroup) String() string       { return fmt.Sprint(g.fields) }
func (g orderedGroup) Type() pq.Type        { return g.Group.Type() }
func (g orderedGroup) Required() bool       { return true }
func (g orderedGroup) Leaf() bool           { return false }

type namedField struct {
	pq.Node
	name string
}

func (f namedField) Name() string                           { return f.name }
func (f namedField) Value(base reflect.Value) reflect.Value { return reflect.Value{} }
