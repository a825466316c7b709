// Package jsonrec turns JSON objects into typed rows and back, for the JSON and NDJSON connectors:
// a walker over one validated object's fields (no map, no reflection), type inference over sample
// objects, conversion of a field's JSON text to a value of its column's kind, and encoding of rows.
package jsonrec

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

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
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return ErrNotObject
	}
	i++
	for {
		i = skipWS(b, i)
		if i >= len(b) || b[i] == '}' {
			return nil
		}
		ke := endOfString(b, i)
		key := b[i:ke]
		i = skipWS(b, ke)
		i = skipWS(b, i+1) // ':'
		ve := endOfValue(b, i)
		fn(key, b[i:ve])
		i = skipWS(b, ve)
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
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
	seenFloat
	seenString
	seenComplex
)

// Inferrer infers a schema from sample objects: field order is first appearance; a field of only
// booleans is bool, of integers int, of numbers float, of objects or arrays json, of strings the
// narrowest of date, timestamp or string; a mix is json (objects with other values) or string.
type Inferrer struct {
	names  []string
	index  map[string]int
	seen   []uint8
	text   []*record.Inferrer
	counts []int
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
			if _, err := strconv.ParseInt(string(val), 10, 64); err == nil {
				in.seen[i] |= seenInt
			} else {
				in.seen[i] |= seenFloat
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
	switch s {
	case 0:
		return record.KindString
	case seenBool:
		return record.KindBool
	case seenInt:
		return record.KindInt
	case seenInt | seenFloat, seenFloat:
		return record.KindFloat
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
	arena []byte
	s     *record.Schema
	index map[string]int
}

// NewConverter makes a converter for rows of schema s.
func NewConverter(s *record.Schema) *Converter {
	c := &Converter{s: s, index: make(map[string]int, len(s.Fields))}
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
	var s string
	if err := json.Unmarshal(val, &s); err != nil {
		return "", "invalid JSON string"
	}
	return s, ""
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
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil {
				return record.Null, fmt.Sprintf("invalid integer %s", abbrev(val))
			}
			return record.Int(n), ""
		case record.KindFloat:
			f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil {
				return record.Null, fmt.Sprintf("invalid number %s", abbrev(val))
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
			t, err := record.ParseTime(text, time.UTC)
			if err != nil {
				return record.Null, err.Error()
			}
			return record.Timestamp(t), ""
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
// the first value that does not convert; keys the schema lacks are ignored.
func (c *Converter) Row(obj []byte, row record.Row) (field, reason string, err error) {
	s := c.s
	err = Walk(obj, func(kq, val []byte) {
		if reason != "" {
			return
		}
		j, ok := c.index[string(Key(kq))]
		if !ok {
			return
		}
		v, why := c.Value(val, s.Fields[j].Kind)
		if why != "" {
			field, reason = s.Fields[j].Name, why
			return
		}
		row[j] = v
	})
	return field, reason, err
}

// AppendObject appends row as a JSON object with the schema's field names.
func AppendObject(dst []byte, s *record.Schema, row record.Row) []byte {
	dst = append(dst, '{')
	for j, f := range s.Fields {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = record.AppendJSONString(dst, f.Name)
		dst = append(dst, ':')
		dst = row[j].AppendJSON(dst)
	}
	return append(dst, '}')
}
