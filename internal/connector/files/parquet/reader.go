package parquet

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	pq "github.com/parquet-go/parquet-go"

	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filekit"
	"github.com/dataaggregator/aggregator/internal/record"
)

type state struct {
	RowGroup int   `json:"row_group"`
	Row      int64 `json:"row"` // rows of that row group already read
}

// reader reads a Parquet file row group by row group.
type reader struct {
	name   string
	f      *os.File
	size   int64
	pf     *pq.File
	lim    Limits
	cols   []readColumn
	target []record.Kind
	schema *record.Schema
	batch  int
	st     state
	before int64
	rows   pq.Rows
	buf    []pq.Row
}

// openFile opens path (called name in errors) and reads its footer and schema.
func openFile(path, name string, lim Limits, overrides map[string]record.Kind, batch int) (r *reader, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r = &reader{name: name, f: f, size: fi.Size(), lim: lim, batch: batch}
	if err := checkFile(f, r.size, lim); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := guard(func() error {
		var err error
		r.pf, err = pq.OpenFile(f, r.size, pq.SkipPageIndex(true), pq.SkipBloomFilters(true), pq.ReadBufferSize(64<<10))
		return err
	}); err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", name, err)
	}
	var written *record.Schema
	if meta, ok := r.pf.Lookup(SchemaKey); ok {
		var s record.Schema
		if json.Unmarshal([]byte(meta), &s) == nil {
			if ws, err := record.NewSchema(s.Fields...); err == nil {
				written = ws
			}
		}
	}
	cols, fields, err := readSchema(r.pf.Schema(), written)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r.cols = cols
	r.target = make([]record.Kind, len(fields))
	for i := range fields {
		r.target[i] = fields[i].Kind
		if k, ok := overrides[fields[i].Name]; ok && k != fields[i].Kind {
			r.target[i] = k
			fields[i] = record.Field{Name: fields[i].Name, Kind: k, Nullable: true, Native: fields[i].Native}
		}
	}
	for _, n := range filekit.Declared(nil, overrides) {
		if !hasField(fields, n) {
			fields = append(fields, record.Field{Name: n, Kind: overrides[n], Nullable: true})
		}
	}
	if r.schema, err = record.NewSchema(fields...); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

func hasField(fields []record.Field, name string) bool {
	for _, f := range fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// guard runs f, turning a panic of the decoder (a hostile file) into an error.
func guard(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt Parquet data (%v)", p)
		}
	}()
	return f()
}

func (r *reader) Schema() *record.Schema          { return r.schema }
func (r *reader) State() (json.RawMessage, error) { return json.Marshal(r.st) }

func (r *reader) Close() error {
	if r.rows != nil {
		r.rows.Close()
		r.rows = nil
	}
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// seek positions the reader at a checkpoint.
func (r *reader) seek(st state) error {
	groups := r.pf.Metadata().RowGroups
	if st.RowGroup < 0 || st.RowGroup > len(groups) || st.Row < 0 || (st.RowGroup < len(groups) && st.Row > groups[st.RowGroup].NumRows) {
		return fmt.Errorf("%s: the checkpoint (row group %d, row %d) is not in the file: was it replaced?", r.name, st.RowGroup, st.Row)
	}
	r.st = st
	for i := range st.RowGroup {
		r.before += groups[i].NumRows
	}
	return nil
}

// Next reads the next batch: up to the batch size rows of the current row group.
func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	groups := r.pf.Metadata().RowGroups
	for {
		if r.st.RowGroup >= len(groups) {
			return nil, io.EOF
		}
		if r.rows == nil {
			if err := r.open(r.st.RowGroup); err != nil {
				return nil, err
			}
		}
		if cap(r.buf) < r.batch {
			r.buf = make([]pq.Row, r.batch)
		}
		buf := r.buf[:r.batch]
		var n int
		err := guard(func() error {
			var err error
			n, err = r.rows.ReadRows(buf)
			return err
		})
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: row group %d: %w", r.name, r.st.RowGroup, err)
		}
		if n == 0 && err == nil && r.st.Row < groups[r.st.RowGroup].NumRows {
			return nil, fmt.Errorf("%s: row group %d ends after %d of its %d rows: truncated or corrupt", r.name, r.st.RowGroup, r.st.Row, groups[r.st.RowGroup].NumRows)
		}
		var b *record.Batch
		if n > 0 {
			b = r.convert(buf[:n])
			r.st.Row += int64(n)
		}
		if errors.Is(err, io.EOF) || n == 0 || r.st.Row >= groups[r.st.RowGroup].NumRows {
			r.rows.Close()
			r.rows = nil
			r.before += groups[r.st.RowGroup].NumRows
			r.st = state{RowGroup: r.st.RowGroup + 1}
		}
		if b != nil {
			return b, nil
		}
	}
}

// open checks row group i against the limits and starts reading it.
func (r *reader) open(i int) error {
	groups := r.pf.Metadata().RowGroups
	if err := checkRowGroup(r.f, r.size, i, &groups[i], r.lim); err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	return guard(func() error {
		r.rows = r.pf.RowGroups()[i].Rows()
		if r.st.Row > 0 {
			if err := r.rows.SeekToRow(r.st.Row); err != nil {
				return fmt.Errorf("%s: row group %d: seek to row %d: %w", r.name, i, r.st.Row, err)
			}
		}
		return nil
	})
}

// convert turns parquet rows into a batch; a value that cannot be read exactly rejects its row.
func (r *reader) convert(rows []pq.Row) *record.Batch {
	bl := record.NewBuilder(r.schema, len(rows))
	first := r.before + r.st.Row
	for i, prow := range rows {
		pos := first + int64(i) + 1
		out := bl.Row(pos)
		for _, pv := range prow {
			j := pv.Column()
			if j < 0 || j >= len(r.cols) {
				continue
			}
			v, reason := r.cols[j].value(pv)
			if reason == "" && r.target[j] != v.Kind() && !v.IsNull() {
				v, reason = convertKind(v, r.target[j])
			}
			if reason != "" {
				bl.Unrow()
				bl.Reject(record.Reject{Source: r.name, Pos: pos, Field: r.cols[j].name, Reason: reason})
				break
			}
			out[j] = v
		}
	}
	b := bl.Take()
	if b == nil {
		b = record.NewBatch(r.schema, 0)
	}
	return b
}

// convertKind converts a value to a declared type through its text, as the text formats read it.
func convertKind(v record.Value, k record.Kind) (record.Value, string) {
	if k == record.KindString {
		return record.String(v.String()), ""
	}
	out, err := record.Parse(v.String(), k)
	if err != nil {
		return record.Null, fmt.Sprintf("a %s value does not read as %s: %v", v.Kind(), k, err)
	}
	return out, ""
}

// value converts one Parquet value of the column.
func (c *readColumn) value(v pq.Value) (record.Value, string) {
	if v.IsNull() {
		return record.Null, ""
	}
	switch c.kind {
	case record.KindNull:
		return record.Null, ""
	case record.KindBool:
		return record.Bool(v.Boolean()), ""
	case record.KindInt:
		switch {
		case c.physical == pq.Int32 && c.unsigned:
			return record.Int(int64(uint32(v.Int32()))), ""
		case c.physical == pq.Int32:
			return record.Int(int64(v.Int32())), ""
		}
		return record.Int(v.Int64()), ""
	case record.KindFloat:
		switch {
		case c.float16:
			b := v.ByteArray()
			if len(b) != 2 {
				return record.Null, "a FLOAT16 value is not 2 bytes"
			}
			return record.Float(float16(binary.LittleEndian.Uint16(b))), ""
		case c.physical == pq.Float:
			return record.Float(float64(v.Float())), ""
		}
		return record.Float(v.Double()), ""
	case record.KindDecimal:
		return c.decimal(v)
	case record.KindDate:
		return record.DateFromDays(int64(v.Int32())), ""
	case record.KindTimestamp:
		return c.timestamp(v)
	case record.KindString:
		switch {
		case c.uuid:
			b := v.ByteArray()
			if len(b) != 16 {
				return record.Null, "a UUID value is not 16 bytes"
			}
			return record.String(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])), ""
		case c.time:
			n := v.Int64()
			if c.physical == pq.Int32 {
				n = int64(v.Int32())
			}
			d := time.Duration(n * c.unit)
			return record.String(time.Time{}.Add(d).Format("15:04:05.999999999")), ""
		}
		return record.String(string(v.ByteArray())), ""
	case record.KindJSON:
		j, err := record.ParseJSON(v.ByteArray())
		if err != nil {
			return record.Null, err.Error()
		}
		return j, ""
	}
	return record.Bytes(v.ByteArray()), ""
}

func (c *readColumn) decimal(v pq.Value) (record.Value, string) {
	var text string
	switch {
	case c.text:
		text = string(v.ByteArray())
	case c.unsigned:
		text = strconv.FormatUint(uint64(v.Int64()), 10)
	default:
		var u *big.Int
		switch c.physical {
		case pq.Int32:
			u = big.NewInt(int64(v.Int32()))
		case pq.Int64:
			u = big.NewInt(v.Int64())
		default:
			b := v.ByteArray()
			if len(b) > 64 {
				return record.Null, fmt.Sprintf("a decimal of %d bytes", len(b))
			}
			u = new(big.Int).SetBytes(b)
			if len(b) > 0 && b[0]&0x80 != 0 {
				u.Sub(u, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
			}
		}
		text = scaled(u, c.scale)
	}
	d, err := record.Decimal(text)
	if err != nil {
		return record.Null, err.Error()
	}
	return d, ""
}

// scaled is the text of the unscaled integer u with scale digits after the point.
func scaled(u *big.Int, scale int) string {
	s := u.String()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func (c *readColumn) timestamp(v pq.Value) (record.Value, string) {
	if c.physical == pq.Int96 {
		i := v.Int96()
		nanos := int64(i[1])<<32 | int64(i[0])
		day := int64(i[2]) - 2440588 // Julian day of 1970-01-01
		if nanos%1000 != 0 {
			return record.Null, "a timestamp with nanoseconds; timestamps are kept to the microsecond"
		}
		return record.TimestampMicros(day*86_400_000_000 + nanos/1000), ""
	}
	n := v.Int64()
	switch c.unit {
	case int64(time.Millisecond):
		if n > math.MaxInt64/1000 || n < math.MinInt64/1000 {
			return record.Null, "a timestamp out of range"
		}
		return record.TimestampMicros(n * 1000), ""
	case int64(time.Nanosecond):
		if n%1000 != 0 {
			return record.Null, "a timestamp with nanoseconds; timestamps are kept to the microsecond"
		}
		return record.TimestampMicros(n / 1000), ""
	}
	return record.TimestampMicros(n), ""
}

// float16 converts IEEE 754 half-precision bits.
func float16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}
