package jsonrec

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/dataaggregator/aggregator/internal/connector/internal/rowkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// ErrNotObject is returned by Walk for a value that is not a JSON object.
var ErrNotObject = errors.New("not a JSON object")

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index after the string starting at b[i] == '"'.
func endOfString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// endOfValue returns the index after the value starting at b[i].
func endOfValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = endOfString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// Walk calls fn for each key and raw value of the JSON object b, which must be valid JSON (from
// json.Valid or a json.Decoder). Keys are still quoted; use Key to read them.
func Walk(b []byte, fn func(key, val []byte)) error {
	it, err := newIter(b)
	if err != nil {
		return err
	}
	for {
		k, v, ok := it.next()
		if !ok {
			return nil
		}
		fn(k, v)
	}
}

// iter steps through the fields of one valid JSON object.
type iter struct {
	b []byte
	i int
}

func newIter(b []byte) (iter, error) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return iter{}, ErrNotObject
	}
	return iter{b: b, i: i + 1}, nil
}

func (it *iter) next() (key, val []byte, ok bool) {
	b := it.b
	i := skipWS(b, it.i)
	if i >= len(b) || b[i] == '}' {
		return nil, nil, false
	}
	ke := endOfString(b, i)
	key = b[i:ke]
	i = skipWS(b, ke)
	i = skipWS(b, i+1) // ':'
	ve := endOfValue(b, i)
	val = b[i:ve]
	i = skipWS(b, ve)
	if i < len(b) && b[i] == ',' {
		i++
	}
	it.i = i
	return key, val, true
}

// Key returns a quoted key's text; the result aliases b when the key has no escapes.
func Key(q []byte) []byte {
	if len(q) < 2 {
		return nil
	}
	in := q[1 : len(q)-1]
	for _, c := range in {
		if c == '\\' {
			var s string
			if json.Unmarshal(q, &s) != nil {
				return in
			}
			return []byte(s)
		}
	}
	return in
}

// Kind classes of a sampled JSON value.
const (
	seenNull = 1 << iota
	seenBool
	seenInt
	seenWideInt // an integer beyond ±2^53, which a float64 cannot hold exactly
	seenFloat   // a number a float64 holds exactly (record.ParseFloatExact)
	seenDecimal // a number neither int64 nor float64 holds exactly
	seenString
	seenComplex

	seenNumber = seenInt | seenWideInt | seenFloat | seenDecimal
)

// Inferrer infers a schema from sample objects: field order is first appearance; a field of only
// booleans is bool, of integers int, of numbers float, of objects or arrays json, of strings the
// narrowest of date, timestamp or string; a mix is json (objects with other values) or string.
// Numbers are never rounded: a field holding a number that neither int64 nor float64 holds exactly
// (2^64+1, a 30-digit integer, 1.00000000000000000000001, 1e-400), or integers beyond ±2^53 mixed
// with fractions, is decimal.
type Inferrer struct {
	names []string
	index map[string]int
	seen  []uint8
	text  []*record.Inferrer
}

// NewInferrer starts an inference.
func NewInferrer() *Inferrer { return &Inferrer{index: map[string]int{}} }

// Observe samples one object (already validated).
func (in *Inferrer) Observe(obj []byte) error {
	return Walk(obj, func(kq, val []byte) {
		k := string(Key(kq))
		i, ok := in.index[k]
		if !ok {
			i = len(in.names)
			in.index[k] = i
			in.names = append(in.names, k)
			in.seen = append(in.seen, 0)
			in.text = append(in.text, record.NewInferrer([]string{k}, nil))
		}
		switch {
		case len(val) == 0:
		case val[0] == 'n':
			in.seen[i] |= seenNull
		case val[0] == 't' || val[0] == 'f':
			in.seen[i] |= seenBool
		case val[0] == '"':
			in.seen[i] |= seenString
			var s string
			if json.Unmarshal(val, &s) == nil {
				in.text[i].Observe([]string{s})
			}
		case val[0] == '{' || val[0] == '[':
			in.seen[i] |= seenComplex
		default:
			num := string(val)
			if n, err := strconv.ParseInt(num, 10, 64); err == nil {
				in.seen[i] |= seenInt
				if n > 1<<53 || n < -(1<<53) {
					in.seen[i] |= seenWideInt
				}
			} else if _, exact, err := record.ParseFloatExact(num); err == nil && exact {
				in.seen[i] |= seenFloat
			} else {
				in.seen[i] |= seenDecimal
			}
		}
	})
}

// Fields returns the inferred fields (all nullable); overrides fix kinds by name, and fields named
// only in overrides are added at the end.
func (in *Inferrer) Fields(overrides map[string]record.Kind) []record.Field {
	out := make([]record.Field, 0, len(in.names))
	for i, n := range in.names {
		k, ok := overrides[n]
		if !ok {
			k = in.kind(i)
		}
		out = append(out, record.Field{Name: n, Kind: k, Nullable: true})
	}
	var extra []string
	for n := range overrides {
		if _, ok := in.index[n]; !ok {
			extra = append(extra, n)
		}
	}
	sortStrings(extra)
	for _, n := range extra {
		out = append(out, record.Field{Name: n, Kind: overrides[n], Nullable: true})
	}
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func (in *Inferrer) kind(i int) record.Kind {
	s := in.seen[i] &^ seenNull
	if s != 0 && s&^seenNumber == 0 {
		switch {
		case s&(seenFloat|seenDecimal) == 0:
			return record.KindInt
		case s&seenDecimal != 0 || s&seenWideInt != 0:
			return record.KindDecimal
		}
		return record.KindFloat
	}
	switch s {
	case 0:
		return record.KindString
	case seenBool:
		return record.KindBool
	case seenString:
		switch k := in.text[i].Fields()[0].Kind; k {
		case record.KindDate, record.KindTimestamp:
			return k
		}
		return record.KindString
	}
	if s&seenComplex != 0 {
		return record.KindJSON
	}
	return record.KindString
}

// Converter turns raw JSON values into values of a kind, keeping strings in a per-batch arena.
type Converter struct {
	// Unknown, when set, is called once for each key that is not in the schema (the first 100).
	Unknown func(key string)
	// Duplicate, when set, is called by Add for each key that appears more than once in one object
	// (pos is the object's position in the file); the last value is kept, as encoding/json does.
	Duplicate func(pos int64, key string)
	unknown   map[string]bool
	// Duplicate keys: seen[j] == gen when field j was set in the current object; other lists the
	// keys outside the schema met in it; dups the keys met again.
	seen  []uint32
	gen   uint32
	other []string
	dups  []string
	arena []byte
	s     *record.Schema
	index map[string]int
}

// NewConverter makes a converter for rows of schema s.
func NewConverter(s *record.Schema) *Converter {
	c := &Converter{s: s, index: make(map[string]int, len(s.Fields)), seen: make([]uint32, len(s.Fields))}
	for i, f := range s.Fields {
		c.index[f.Name] = i
	}
	c.NewBatch()
	return c
}

// NewBatch starts a new arena (the previous batch keeps its strings).
func (c *Converter) NewBatch() { c.arena = make([]byte, 0, 32<<10) }

func (c *Converter) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	start := len(c.arena)
	c.arena = append(c.arena, b...)
	return unsafe.String(&c.arena[start], len(b))
}

// str decodes a JSON string token into the arena; invalid UTF-8 is refused, not replaced.
func (c *Converter) str(val []byte) (string, string) {
	in := val[1 : len(val)-1]
	if !utf8.Valid(in) {
		return "", "invalid UTF-8 in a string"
	}
	plain := true
	for _, ch := range in {
		if ch == '\\' || ch < 0x20 {
			plain = false
			break
		}
	}
	if plain {
		return c.keep(in), ""
	}
	start := len(c.arena)
	out, ok := unescape(c.arena, in)
	if !ok {
		return "", "invalid JSON string"
	}
	c.arena = out
	if len(out) == start {
		return "", ""
	}
	return unsafe.String(&c.arena[start], len(out)-start), ""
}

// unescape appends the JSON string body in (between the quotes) to dst, decoding escapes.
func unescape(dst, in []byte) ([]byte, bool) {
	for i := 0; i < len(in); i++ {
		ch := in[i]
		if ch != '\\' {
			if ch < 0x20 {
				return dst, false
			}
			dst = append(dst, ch)
			continue
		}
		i++
		if i >= len(in) {
			return dst, false
		}
		switch in[i] {
		case '"', '\\', '/':
			dst = append(dst, in[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(in[i+1:])
			if !ok {
				return dst, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(-1), false
				if i+2 < len(in) && in[i+1] == '\\' && in[i+2] == 'u' {
					r2, ok2 = hex4(in[i+3:])
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
	}
	return dst, true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// Value converts a raw JSON value to kind k; reason says why it cannot.
func (c *Converter) Value(val []byte, k record.Kind) (record.Value, string) {
	if len(val) == 0 || val[0] == 'n' {
		return record.Null, ""
	}
	isStr := val[0] == '"'
	var text string
	if isStr {
		s, why := c.str(val)
		if why != "" {
			return record.Null, why
		}
		text = s
	}
	switch k {
	case record.KindString:
		if isStr {
			return record.String(text), ""
		}
		return record.String(c.keep(val)), ""
	case record.KindJSON:
		if val[0] == '{' || val[0] == '[' {
			v, err := record.ParseJSON(val)
			if err != nil {
				return record.Null, err.Error()
			}
			return v, ""
		}
		return record.JSON(c.keep(val)), ""
	case record.KindBool:
		switch val[0] {
		case 't':
			return record.Bool(true), ""
		case 'f':
			return record.Bool(false), ""
		}
		if isStr {
			if b, err := record.ParseBool(text); err == nil {
				return record.Bool(b), ""
			}
		}
		return record.Null, fmt.Sprintf("want a boolean, got %s", abbrev(val))
	case record.KindBytes:
		if !isStr {
			return record.Null, fmt.Sprintf("want a base64 string, got %s", abbrev(val))
		}
		b, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return record.Null, "invalid base64: " + err.Error()
		}
		return record.Bytes(b), ""
	case record.KindInt, record.KindFloat, record.KindDecimal:
		num := text
		if !isStr {
			if val[0] == '{' || val[0] == '[' || val[0] == 't' || val[0] == 'f' {
				return record.Null, fmt.Sprintf("want a number, got %s", abbrev(val))
			}
			num = unsafe.String(&val[0], len(val))
		}
		switch k {
		case record.KindInt:
			if !isStr {
				if n, ok := rowkit.Atoi(val); ok {
					return record.Int(n), ""
				}
			}
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil {
				if errors.Is(err, strconv.ErrRange) {
					return record.Null, fmt.Sprintf("integer %s is outside the int64 range; declare the field decimal in types to keep it", abbrev(val))
				}
				return record.Null, fmt.Sprintf("invalid integer %s", abbrev(val))
			}
			return record.Int(n), ""
		case record.KindFloat:
			if !isStr {
				if f, ok := rowkit.FastFloat(val); ok { // at most 15 digits: always exact
					return record.Float(f), ""
				}
			}
			f, exact, err := record.ParseFloatExact(strings.TrimSpace(num))
			if err != nil {
				return record.Null, fmt.Sprintf("invalid number %s", abbrev(val))
			}
			if !exact {
				return record.Null, fmt.Sprintf("number %s does not fit a float exactly (it would become %s); declare the field decimal in types to keep it",
					abbrev(val), strconv.FormatFloat(f, 'g', -1, 64))
			}
			return record.Float(f), ""
		default:
			if !isStr {
				num = c.keep(val)
			}
			v, err := record.Decimal(num)
			if err != nil {
				return record.Null, err.Error()
			}
			return v, ""
		}
	case record.KindDate, record.KindTimestamp:
		if !isStr {
			return record.Null, fmt.Sprintf("want a %s string, got %s", k, abbrev(val))
		}
		if k == record.KindTimestamp {
			if v, ok := rowkit.FastTimestamp(val[1 : len(val)-1]); ok {
				return v, ""
			}
			t, err := record.ParseTime(text, time.UTC)
			if err != nil {
				return record.Null, err.Error()
			}
			return record.Timestamp(t), ""
		}
		if v, ok := rowkit.FastDate(val[1 : len(val)-1]); ok {
			return v, ""
		}
		v, err := record.Parse(text, k)
		if err != nil {
			return record.Null, err.Error()
		}
		return v, ""
	}
	return record.Null, fmt.Sprintf("cannot read %s", k)
}

func abbrev(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// Row fills row (of the converter's schema) from the object obj. It returns the field and reason of
// the first value that does not convert; keys the schema lacks are ignored. A key met twice keeps its
// last value; Dups lists such keys afterwards.
func (c *Converter) Row(obj []byte, row record.Row) (field, reason string, err error) {
	it, err := newIter(obj)
	if err != nil {
		return "", "", err
	}
	c.gen++
	if c.gen == 0 { // wrapped: forget every mark
		clear(c.seen)
		c.gen = 1
	}
	c.other, c.dups = c.other[:0], c.dups[:0]
	for {
		kq, val, ok := it.next()
		if !ok {
			return "", "", nil
		}
		j, known := c.index[string(Key(kq))]
		if known {
			if c.seen[j] == c.gen {
				c.dups = append(c.dups, c.s.Fields[j].Name)
			}
			c.seen[j] = c.gen
		} else {
			k := string(Key(kq))
			dup := false
			for _, o := range c.other {
				if o == k {
					dup = true
					break
				}
			}
			if dup {
				c.dups = append(c.dups, k)
			} else {
				c.other = append(c.other, k)
			}
		}
		if !known {
			if c.Unknown != nil && len(c.unknown) < 100 {
				if k := Key(kq); !c.unknown[string(k)] {
					if c.unknown == nil {
						c.unknown = map[string]bool{}
					}
					c.unknown[string(k)] = true
					c.Unknown(string(k))
				}
			}
			continue
		}
		v, why := c.Value(val, c.s.Fields[j].Kind)
		if why != "" {
			return c.s.Fields[j].Name, why, nil
		}
		row[j] = v
	}
}

// Dups returns the keys the last Row met more than once (valid until the next Row).
func (c *Converter) Dups() []string { return c.dups }

// AppendObject appends row as a JSON object with the schema's field names.
func AppendObject(dst []byte, s *record.Schema, row record.Row) []byte {
	var e Encoder
	return e.Append(dst, s, row)
}

// Encoder appends rows as JSON objects, encoding each field name once per schema.
type Encoder struct {
	s    *record.Schema
	keys [][]byte // `{"name":` for the first field, `,"name":` for the others
}

// Append appends row (of schema s) as a JSON object.
func (e *Encoder) Append(dst []byte, s *record.Schema, row record.Row) []byte {
	if len(row) == 0 {
		return append(dst, "{}"...)
	}
	if s != e.s && !sameNames(s, e.s) {
		e.keys = make([][]byte, len(s.Fields))
		for j, f := range s.Fields {
			k := []byte{','}
			if j == 0 {
				k[0] = '{'
			}
			k = record.AppendJSONString(k, f.Name)
			e.keys[j] = append(k, ':')
		}
	}
	e.s = s
	for j, v := range row {
		dst = append(dst, e.keys[j]...)
		dst = v.AppendJSON(dst)
	}
	return append(dst, '}')
}

func sameNames(a, b *record.Schema) bool {
	if a == nil || b == nil || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Name != b.Fields[i].Name {
			return false
		}
	}
	return true
}
