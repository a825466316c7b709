package postgres

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/dataaggregator/aggregator/internal/record"
)

// copyReader streams rows in COPY text format: tab-separated, \N for NULL, backslash escapes. The
// server parses each value as the column's type, exactly as psql's \copy does.
type copyReader struct {
	rows   []record.Row
	idx    []int
	arrays []bool
	ord    bool // append the row's ordinal (ordBase + its index) as an extra column (upsert staging)
	// ordBase is added to a row's index to make its ordinal, so ordinals grow across batches
	ordBase int64
	// del appends whether the row deletes (dels[row], all false when dels is nil) after the ordinal
	del  bool
	dels []bool
	// binary writes the binary COPY format, each field as its column's type (types)
	binary bool
	types  []string
	i      int
	buf    []byte
	off    int
	ended  bool
}

func (c *copyReader) Read(p []byte) (int, error) {
	if c.binary && c.i == 0 && c.buf == nil {
		c.buf = append(make([]byte, 0, 64<<10), copyHeader...)
	}
	for len(c.buf)-c.off < len(p) && (c.i < len(c.idx) || (c.binary && !c.ended)) {
		if c.off > 0 {
			c.buf = append(c.buf[:0], c.buf[c.off:]...)
			c.off = 0
		}
		if c.i == len(c.idx) {
			c.buf = append(c.buf, 0xff, 0xff) // binary trailer
			c.ended = true
			break
		}
		if c.binary {
			c.buf = c.appendBinaryRow(c.buf, c.idx[c.i])
		} else {
			c.buf = c.appendRow(c.buf, c.idx[c.i])
		}
		c.i++
	}
	if c.off >= len(c.buf) {
		return 0, io.EOF
	}
	n := copy(p, c.buf[c.off:])
	c.off += n
	return n, nil
}

func (c *copyReader) appendRow(dst []byte, ri int) []byte {
	row := c.rows[ri]
	for j, v := range row {
		if j > 0 {
			dst = append(dst, '\t')
		}
		if c.arrays != nil && c.arrays[j] && v.Kind() == record.KindJSON {
			lit, _ := jsonToArray(v.Str()) // validated before the copy
			dst = appendEscaped(dst, lit)
			continue
		}
		dst = appendCopyValue(dst, v)
	}
	if c.ord {
		dst = append(dst, '\t')
		dst = strconv.AppendInt(dst, c.ordBase+int64(ri), 10)
	}
	if c.del {
		if c.dels != nil && c.dels[ri] {
			dst = append(dst, "\tt"...)
		} else {
			dst = append(dst, "\tf"...)
		}
	}
	return append(dst, '\n')
}

func (c *copyReader) appendBinaryRow(dst []byte, ri int) []byte {
	row := c.rows[ri]
	n := len(row)
	if c.ord {
		n++
	}
	if c.del {
		n++
	}
	dst = append(dst, byte(n>>8), byte(n))
	for j, v := range row {
		dst = appendBinaryField(dst, v, c.types[j])
	}
	if c.ord {
		dst = appendBinaryField(dst, record.Int(c.ordBase+int64(ri)), "int8")
	}
	if c.del {
		dst = appendBinaryField(dst, record.Bool(c.dels != nil && c.dels[ri]), "bool")
	}
	return dst
}

// appendCopyValue writes one value in COPY text form.
func appendCopyValue(dst []byte, v record.Value) []byte {
	switch v.Kind() {
	case record.KindNull:
		return append(dst, `\N`...)
	case record.KindBool:
		if v.AsBool() {
			return append(dst, 't')
		}
		return append(dst, 'f')
	case record.KindInt:
		return strconv.AppendInt(dst, v.AsInt(), 10)
	case record.KindFloat:
		f := v.AsFloat()
		switch {
		case math.IsNaN(f):
			return append(dst, "NaN"...)
		case math.IsInf(f, 1):
			return append(dst, "Infinity"...)
		case math.IsInf(f, -1):
			return append(dst, "-Infinity"...)
		}
		return strconv.AppendFloat(dst, f, 'g', -1, 64)
	case record.KindBytes:
		dst = append(dst, `\\x`...)
		s := v.Str()
		n := len(dst)
		dst = append(dst, make([]byte, hex.EncodedLen(len(s)))...)
		hex.Encode(dst[n:], []byte(s))
		return dst
	case record.KindTimestamp:
		return appendTimestamp(dst, v.AsTime())
	case record.KindDate, record.KindDecimal:
		return v.AppendText(dst)
	}
	return appendEscaped(dst, v.Str())
}

func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// jsonToArray turns a JSON array into a PostgreSQL array literal ({1,2,"a b",NULL}).
func jsonToArray(raw string) (string, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return "", fmt.Errorf("invalid JSON for an array column: %w", err)
	}
	arr, ok := x.([]any)
	if !ok {
		return "", fmt.Errorf("an array column needs a JSON array, got %s", raw)
	}
	var b []byte
	var rec func(a []any) error
	rec = func(a []any) error {
		b = append(b, '{')
		for i, e := range a {
			if i > 0 {
				b = append(b, ',')
			}
			switch t := e.(type) {
			case nil:
				b = append(b, "NULL"...)
			case []any:
				if err := rec(t); err != nil {
					return err
				}
			case string:
				b = appendArrayString(b, t)
			case json.Number:
				b = append(b, t.String()...)
			case bool:
				b = strconv.AppendBool(b, t)
			default:
				enc, err := json.Marshal(t)
				if err != nil {
					return err
				}
				b = appendArrayString(b, string(enc))
			}
		}
		b = append(b, '}')
		return nil
	}
	if err := rec(arr); err != nil {
		return "", err
	}
	return string(b), nil
}

func appendArrayString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// appendTimestamp writes t (UTC) as 2006-01-02 15:04:05.999999+00 without the cost of a layout.
func appendTimestamp(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	if y < 1 || y > 9999 {
		return t.AppendFormat(dst, "2006-01-02 15:04:05.999999Z07:00")
	}
	h, mi, sec := t.Clock()
	dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), ' ',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+sec/10), byte('0'+sec%10))
	if us := t.Nanosecond() / 1000; us > 0 {
		dst = append(dst, '.')
		for div := 100000; div > 0 && us > 0; div /= 10 {
			dst = append(dst, byte('0'+us/div))
			us %= div
		}
	}
	return append(dst, '+', '0', '0')
}
