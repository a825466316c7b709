package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of a value or a field.
type Kind uint8

// The kinds of values. KindNull is the type of an all-null field as well as the kind of a null value.
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindDecimal
	KindString
	KindBytes
	KindDate
	KindTimestamp
	KindJSON
)

var kindNames = [...]string{"null", "bool", "int", "float", "decimal", "string", "bytes", "date", "timestamp", "json"}

// String returns the kind's name as written in pipeline specs and schemas.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Kinds lists every kind, in order.
func Kinds() []Kind {
	return []Kind{KindNull, KindBool, KindInt, KindFloat, KindDecimal, KindString, KindBytes, KindDate, KindTimestamp, KindJSON}
}

// ParseKind reads a kind name. Common aliases (integer, int64, double, number, text, varchar, boolean,
// datetime, binary, numeric) are accepted.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "null":
		return KindNull, nil
	case "bool", "boolean":
		return KindBool, nil
	case "int", "integer", "int64", "bigint", "long":
		return KindInt, nil
	case "float", "float64", "double", "number", "real":
		return KindFloat, nil
	case "decimal", "numeric":
		return KindDecimal, nil
	case "string", "text", "varchar", "str":
		return KindString, nil
	case "bytes", "binary", "blob", "bytea":
		return KindBytes, nil
	case "date":
		return KindDate, nil
	case "timestamp", "datetime", "time":
		return KindTimestamp, nil
	case "json", "object", "array":
		return KindJSON, nil
	}
	return KindNull, fmt.Errorf("unknown type %q (want one of %s)", s, strings.Join(kindNames[:], ", "))
}

// MarshalText writes the kind's name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Value is one typed value. The zero Value is null. Values are immutable and cheap to copy (32 bytes,
// no pointers beyond the string), so rows are plain []Value.
//
// Representation: bool and int in n; float as its IEEE bits in n; date as days since 1970-01-01 in n;
// timestamp as microseconds since the Unix epoch, UTC, in n; decimal as its canonical text in s (exact,
// any precision); string, bytes and json (raw JSON text) in s.
type Value struct {
	k Kind
	n int64
	s string
}

// Null is the null value.
var Null = Value{}

// Bool makes a bool value.
func Bool(b bool) Value {
	if b {
		return Value{k: KindBool, n: 1}
	}
	return Value{k: KindBool}
}

// Int makes an int value.
func Int(i int64) Value { return Value{k: KindInt, n: i} }

// Float makes a float value.
func Float(f float64) Value { return Value{k: KindFloat, n: int64(math.Float64bits(f))} }

// String makes a string value.
func String(s string) Value { return Value{k: KindString, s: s} }

// Bytes makes a bytes value; the slice is copied.
func Bytes(b []byte) Value { return Value{k: KindBytes, s: string(b)} }

// BytesString makes a bytes value from a string holding the raw bytes, without copying.
func BytesString(s string) Value { return Value{k: KindBytes, s: s} }

// Date makes a date value from a time (its year, month and day in its own location).
func Date(t time.Time) Value {
	y, m, d := t.Date()
	return Value{k: KindDate, n: daysFromCivil(int64(y), int64(m), int64(d))}
}

// DateFromDays makes a date from days since 1970-01-01.
func DateFromDays(days int64) Value { return Value{k: KindDate, n: days} }

// Timestamp makes a timestamp value: the instant, kept in microseconds, UTC.
func Timestamp(t time.Time) Value {
	return Value{k: KindTimestamp, n: t.Unix()*1_000_000 + int64(t.Nanosecond()/1000)}
}

// TimestampMicros makes a timestamp from microseconds since the Unix epoch.
func TimestampMicros(us int64) Value { return Value{k: KindTimestamp, n: us} }

// JSON makes a json value from raw JSON text. It is not validated here; use ParseJSON for that.
func JSON(raw string) Value { return Value{k: KindJSON, s: raw} }

// ParseJSON validates raw JSON text and makes a json value of it (compacted).
func ParseJSON(raw []byte) (Value, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return Null, fmt.Errorf("invalid JSON: %w", err)
	}
	return Value{k: KindJSON, s: buf.String()}, nil
}

// Decimal makes a decimal value from its text. The text is validated and canonicalised: an optional
// sign, digits, an optional fraction; exponents are expanded. Precision is never lost.
func Decimal(s string) (Value, error) {
	c, err := canonicalDecimal(s)
	if err != nil {
		return Null, err
	}
	return Value{k: KindDecimal, s: c}, nil
}

// MustDecimal is Decimal for literals known to be valid; it panics on a bad literal.
func MustDecimal(s string) Value {
	v, err := Decimal(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Kind returns the value's kind; KindNull for null.
func (v Value) Kind() Kind { return v.k }

// IsNull reports whether the value is null.
func (v Value) IsNull() bool { return v.k == KindNull }

// AsBool returns the bool; false unless the kind is bool.
func (v Value) AsBool() bool { return v.k == KindBool && v.n != 0 }

// AsInt returns the int64 of an int value (and days of a date, micros of a timestamp).
func (v Value) AsInt() int64 { return v.n }

// AsFloat returns the float64 of a float value, and converts an int or decimal.
func (v Value) AsFloat() float64 {
	switch v.k {
	case KindFloat:
		return math.Float64frombits(uint64(v.n))
	case KindInt:
		return float64(v.n)
	case KindDecimal:
		f, _ := strconv.ParseFloat(v.s, 64)
		return f
	}
	return 0
}

// Str returns the raw text of a string, decimal, json or bytes value.
func (v Value) Str() string { return v.s }

// AsBytes returns a copy of the bytes of a bytes (or string) value.
func (v Value) AsBytes() []byte { return []byte(v.s) }

// AsTime returns a date (midnight UTC) or a timestamp (UTC) as a time.Time.
func (v Value) AsTime() time.Time {
	switch v.k {
	case KindDate:
		y, m, d := civilFromDays(v.n)
		return time.Date(int(y), time.Month(m), int(d), 0, 0, 0, 0, time.UTC)
	case KindTimestamp:
		return time.UnixMicro(v.n).UTC()
	}
	return time.Time{}
}

// AsRat returns an exact rational for an int or decimal value (and a float's exact binary value).
func (v Value) AsRat() (*big.Rat, bool) {
	switch v.k {
	case KindInt:
		return new(big.Rat).SetInt64(v.n), true
	case KindDecimal:
		return new(big.Rat).SetString(v.s)
	case KindFloat:
		f := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
		return new(big.Rat).SetFloat64(f), true
	}
	return nil, false
}

// String renders the value as text, the way text formats (CSV) write it: null is "", bool is
// true/false, floats in the shortest form that reads back exactly, dates as 2006-01-02, timestamps as
// RFC 3339 with microseconds in UTC, bytes as base64 is NOT applied here (the raw bytes are returned).
func (v Value) String() string {
	return string(v.AppendText(nil))
}

// AppendText appends the text form of String to dst without intermediate allocation.
func (v Value) AppendText(dst []byte) []byte {
	switch v.k {
	case KindNull:
		return dst
	case KindBool:
		return strconv.AppendBool(dst, v.n != 0)
	case KindInt:
		return strconv.AppendInt(dst, v.n, 10)
	case KindFloat:
		return appendFloat(dst, v.AsFloat())
	case KindDate:
		if out, ok := appendDate(dst, v.n); ok {
			return out
		}
		return v.AsTime().AppendFormat(dst, "2006-01-02")
	case KindTimestamp:
		if out, ok := appendTimestamp(dst, v.n); ok {
			return out
		}
		return v.AsTime().AppendFormat(dst, "2006-01-02T15:04:05.999999Z07:00")
	default:
		return append(dst, v.s...)
	}
}

// AppendFileText appends the text a file writer (CSV, XML) writes for the value: AppendText, except
// that floats are written as the JSON writers write them (AppendFloatText: 3548482, not 3.548482e+06).
func (v Value) AppendFileText(dst []byte) []byte {
	if v.k == KindFloat {
		return AppendFloatText(dst, v.AsFloat())
	}
	return v.AppendText(dst)
}

// Equal reports whether two values have the same kind and the same content. Floats compare by bits
// (NaN equals NaN), decimals by their canonical text.
func (v Value) Equal(o Value) bool { return v.k == o.k && v.n == o.n && v.s == o.s }

// Compare orders two values: null first; numbers (int, float, decimal) by numeric value across kinds;
// otherwise by kind, then content. It returns -1, 0 or +1.
func Compare(a, b Value) int {
	if a.k == KindNull || b.k == KindNull {
		switch {
		case a.k == b.k:
			return 0
		case a.k == KindNull:
			return -1
		default:
			return 1
		}
	}
	if isNumeric(a.k) && isNumeric(b.k) {
		if a.k == KindInt && b.k == KindInt {
			return cmpInt(a.n, b.n)
		}
		if a.k != KindDecimal && b.k != KindDecimal {
			return cmpFloat(a.AsFloat(), b.AsFloat())
		}
		ra, oka := a.AsRat()
		rb, okb := b.AsRat()
		if oka && okb {
			return ra.Cmp(rb)
		}
		return cmpFloat(a.AsFloat(), b.AsFloat())
	}
	if a.k != b.k {
		return cmpInt(int64(a.k), int64(b.k))
	}
	switch a.k {
	case KindBool, KindDate, KindTimestamp:
		return cmpInt(a.n, b.n)
	}
	return strings.Compare(a.s, b.s)
}

func isNumeric(k Kind) bool { return k == KindInt || k == KindFloat || k == KindDecimal }

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	case math.IsNaN(a) && math.IsNaN(b):
		return 0
	case math.IsNaN(a):
		return -1
	}
	return 1
}

// Go returns the value as a plain Go value: nil, bool, int64, float64, string (decimal text too),
// []byte, time.Time (date and timestamp), json.RawMessage.
func (v Value) Go() any {
	switch v.k {
	case KindNull:
		return nil
	case KindBool:
		return v.n != 0
	case KindInt:
		return v.n
	case KindFloat:
		return v.AsFloat()
	case KindBytes:
		return []byte(v.s)
	case KindDate, KindTimestamp:
		return v.AsTime()
	case KindJSON:
		return json.RawMessage(v.s)
	}
	return v.s
}

// FromGo makes a value from a plain Go value: nil, bool, all int and uint sizes, float32/64, string,
// []byte, time.Time (a timestamp), json.RawMessage, and maps/slices (encoded as json). A uint64 above
// MaxInt64 becomes a decimal.
func FromGo(x any) (Value, error) {
	switch t := x.(type) {
	case nil:
		return Null, nil
	case Value:
		return t, nil
	case bool:
		return Bool(t), nil
	case int:
		return Int(int64(t)), nil
	case int8:
		return Int(int64(t)), nil
	case int16:
		return Int(int64(t)), nil
	case int32:
		return Int(int64(t)), nil
	case int64:
		return Int(t), nil
	case uint:
		return fromUint(uint64(t)), nil
	case uint8:
		return Int(int64(t)), nil
	case uint16:
		return Int(int64(t)), nil
	case uint32:
		return Int(int64(t)), nil
	case uint64:
		return fromUint(t), nil
	case float32:
		return Float(float64(t)), nil
	case float64:
		return Float(t), nil
	case string:
		return String(t), nil
	case []byte:
		return Bytes(t), nil
	case time.Time:
		return Timestamp(t), nil
	case json.RawMessage:
		return ParseJSON(t)
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return Int(i), nil
		}
		return Decimal(t.String())
	case map[string]any, []any:
		b, err := json.Marshal(t)
		if err != nil {
			return Null, err
		}
		return JSON(string(b)), nil
	}
	return Null, fmt.Errorf("unsupported Go type %T", x)
}

func fromUint(u uint64) Value {
	if u <= math.MaxInt64 {
		return Int(int64(u))
	}
	return Value{k: KindDecimal, s: strconv.FormatUint(u, 10)}
}

// MarshalJSON writes the value as JSON: null, true/false, numbers (decimals as JSON numbers with
// their exact digits), strings, bytes as base64 strings, dates and timestamps as strings, json as is.
func (v Value) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil), nil }

// AppendJSON appends the JSON form of the value to dst. Floats are formatted exactly as encoding/json
// formats a float64 (plain decimals below 1e21: 3548482, not 3.548482e+06); NaN and infinities, which
// JSON cannot hold, become strings ("NaN", "+Inf", "-Inf").
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.k {
	case KindNull:
		return append(dst, "null"...)
	case KindBool, KindInt:
		return v.AppendText(dst)
	case KindFloat:
		f := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			dst = append(dst, '"')
			dst = AppendFloatText(dst, f)
			return append(dst, '"')
		}
		return AppendFloatText(dst, f)
	case KindDecimal:
		return append(dst, v.s...)
	case KindJSON:
		if v.s == "" {
			return append(dst, "null"...)
		}
		return append(dst, v.s...)
	case KindBytes:
		dst = append(dst, '"')
		dst = appendBase64(dst, v.s)
		return append(dst, '"')
	case KindDate, KindTimestamp:
		dst = append(dst, '"')
		dst = v.AppendText(dst)
		return append(dst, '"')
	}
	return appendJSONString(dst, v.s)
}
