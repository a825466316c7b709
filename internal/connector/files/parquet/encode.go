package parquet

import (
	"fmt"
	"io"
	"math/big"
	"strings"
	"unsafe"

	pq "github.com/parquet-go/parquet-go"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Row groups are cut at DefaultRowGroupRows rows or when the text held for the open group passes
// rowGroupTextBytes, whichever comes first, so that a writer's memory stays bounded and every row
// group it writes is well under the reader's default max_row_group_bytes.
const (
	DefaultRowGroupRows = 64 << 10
	rowGroupTextBytes   = 64 << 20
)

// Encoder writes records of one schema as a Parquet file (Snappy-compressed pages, one optional
// column per field, the record schema in the key-value metadata) to an io.Writer. It is not safe
// for concurrent use.
type Encoder struct {
	w       *pq.GenericWriter[any]
	schema  *record.Schema
	cols    []column
	rows    []pq.Row
	values  []pq.Value
	text    int
	inGroup int
}

// NewEncoder starts a Parquet file of schema s on out; nothing is written before the first rows.
func NewEncoder(out io.Writer, s *record.Schema) *Encoder {
	ps, cols, meta := fileSchema(s)
	w := pq.NewGenericWriter[any](out, ps, pq.Compression(&pq.Snappy), pq.KeyValueMetadata(SchemaKey, meta),
		pq.MaxRowsPerRowGroup(DefaultRowGroupRows), pq.CreatedBy("aggregator", "", ""))
	return &Encoder{w: w, schema: s, cols: cols}
}

// Schema is the schema the file is written with.
func (e *Encoder) Schema() *record.Schema { return e.schema }

// Write writes the rows of b (whose fields must be the encoder's, by name and order). A row holding a
// value its column cannot store exactly is not written: it is reported in a *connector.RowError and
// the others are written.
func (e *Encoder) Write(b *record.Batch) error {
	if b.Schema != e.schema && !sameNames(b.Schema, e.schema) {
		return fmt.Errorf("batch fields (%s) differ from the file's (%s)", strings.Join(b.Schema.Names(), ", "), strings.Join(e.schema.Names(), ", "))
	}
	var rowErr connector.RowError
	n := len(e.cols)
	if cap(e.values) < n*len(b.Rows) {
		e.values = make([]pq.Value, 0, n*len(b.Rows))
	}
	vals := e.values[:0]
	e.rows = e.rows[:0]
	for i, row := range b.Rows {
		start := len(vals)
		bad := false
		for j, c := range e.cols {
			var v record.Value
			if j < len(row) {
				v = row[j]
			}
			pv, reason := e.value(c, v)
			if reason != "" {
				rowErr.Rows = append(rowErr.Rows, connector.RowProblem{Index: i, Field: e.schema.Fields[j].Name, Reason: reason})
				bad = true
				break
			}
			if pv.IsNull() {
				vals = append(vals, pv.Level(0, 0, j))
			} else {
				vals = append(vals, pv.Level(0, 1, j))
			}
		}
		if bad {
			vals = vals[:start]
			continue
		}
		e.rows = append(e.rows, vals[start:len(vals):len(vals)])
	}
	e.values = vals[:0]
	for len(e.rows) > 0 {
		room := min(len(e.rows), DefaultRowGroupRows-e.inGroup)
		if _, err := e.w.WriteRows(e.rows[:room]); err != nil {
			return err
		}
		e.inGroup += room
		e.rows = e.rows[room:]
		if e.inGroup >= DefaultRowGroupRows || e.text >= rowGroupTextBytes {
			if err := e.Flush(); err != nil {
				return err
			}
		}
	}
	if len(rowErr.Rows) > 0 {
		return &rowErr
	}
	return nil
}

// Flush ends the current row group, writing it to the output.
func (e *Encoder) Flush() error {
	e.inGroup, e.text = 0, 0
	return e.w.Flush()
}

// Close writes the last row group and the footer; it does not close the output.
func (e *Encoder) Close() error { return e.w.Close() }

func sameNames(a, b *record.Schema) bool {
	if len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Name != b.Fields[i].Name {
			return false
		}
	}
	return true
}

// bytesOf is the bytes of s without a copy: the writer copies values into its column buffers.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// value converts one record value for column c; reason says why it cannot be stored.
func (e *Encoder) value(c column, v record.Value) (pq.Value, string) {
	if v.IsNull() {
		return pq.NullValue(), ""
	}
	if v.Kind() != c.kind {
		if c.kind == record.KindNull {
			return pq.Value{}, fmt.Sprintf("a %s value in a field of type null", v.Kind())
		}
		conv, err := record.Parse(v.String(), c.kind)
		if err != nil || conv.IsNull() {
			return pq.Value{}, fmt.Sprintf("a %s value in a %s field", v.Kind(), c.kind)
		}
		v = conv
	}
	switch c.kind {
	case record.KindBool:
		return pq.BooleanValue(v.AsBool()), ""
	case record.KindInt, record.KindTimestamp:
		return pq.Int64Value(v.AsInt()), ""
	case record.KindDate:
		d := v.AsInt()
		if d < -1<<31 || d >= 1<<31 {
			return pq.Value{}, "date out of the range Parquet holds"
		}
		return pq.Int32Value(int32(d)), ""
	case record.KindFloat:
		return pq.DoubleValue(v.AsFloat()), ""
	case record.KindDecimal:
		if c.text {
			e.text += len(v.Str())
			return pq.ByteArrayValue(bytesOf(v.Str())), ""
		}
		u, reason := unscaled(v.Str(), c.precision, c.scale)
		if reason != "" {
			return pq.Value{}, reason
		}
		if c.physical == pq.Int64 {
			return pq.Int64Value(u.Int64()), ""
		}
		return pq.FixedLenByteArrayValue(fixed16(nil, u)), ""
	default: // string, bytes, json
		e.text += len(v.Str())
		return pq.ByteArrayValue(bytesOf(v.Str())), ""
	}
}

// unscaled is the decimal text d as an integer of scale digits after the point, when it fits
// decimal(precision, scale) exactly.
func unscaled(d string, precision, scale int) (*big.Int, string) {
	neg := strings.HasPrefix(d, "-")
	d = strings.TrimLeft(d, "+-")
	whole, frac, _ := strings.Cut(d, ".")
	frac = strings.TrimRight(frac, "0")
	if len(frac) > scale {
		return nil, fmt.Sprintf("%s has more than %d digits after the point of decimal(%d,%d)", d, scale, precision, scale)
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > precision-scale {
		return nil, fmt.Sprintf("%s has more than %d digits before the point of decimal(%d,%d)", d, precision-scale, precision, scale)
	}
	digits := whole + frac + strings.Repeat("0", scale-len(frac))
	u, ok := new(big.Int).SetString("0"+digits, 10)
	if !ok {
		return nil, fmt.Sprintf("%q is not a decimal", d)
	}
	if neg {
		u.Neg(u)
	}
	return u, ""
}

// fixed16 appends u as 16 bytes of big-endian two's complement.
func fixed16(dst []byte, u *big.Int) []byte {
	var b [16]byte
	if u.Sign() >= 0 {
		u.FillBytes(b[:])
	} else {
		// two's complement: 2^128 + u
		m := new(big.Int).Lsh(big.NewInt(1), 128)
		m.Add(m, u)
		m.FillBytes(b[:])
	}
	return append(dst, b[:]...)
}
