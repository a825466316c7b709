package record

import (
	"strconv"
	"strings"
	"time"
)

// Inferrer guesses the kind of each column of untyped text (CSV, XML, spreadsheet cells read as text)
// from sample values. Feed it samples with Observe, then read Kinds. A column whose samples are all
// empty is a string. Overrides fix a column's kind whatever the samples say.
//
// The guess is the narrowest kind every non-empty sample parses as, in this order: bool, int, float,
// date, timestamp, string. Numbers with leading zeros ("007") stay strings, since they are usually codes.
type Inferrer struct {
	names     []string
	overrides map[string]Kind
	cand      []uint16 // bit set of still-possible kinds per column
	seen      []bool
	nulls     []bool
}

const (
	candBool = 1 << iota
	candInt
	candFloat
	candDate
	candTimestamp
	candAll = candBool | candInt | candFloat | candDate | candTimestamp
)

// NewInferrer makes an inferrer for the named columns.
func NewInferrer(names []string, overrides map[string]Kind) *Inferrer {
	in := &Inferrer{names: names, overrides: overrides, cand: make([]uint16, len(names)), seen: make([]bool, len(names)), nulls: make([]bool, len(names))}
	for i := range in.cand {
		in.cand[i] = candAll
	}
	return in
}

// Observe takes one row of text values (extra values are ignored, missing ones count as empty).
func (in *Inferrer) Observe(vals []string) {
	for i := range in.cand {
		if i >= len(vals) || vals[i] == "" {
			in.nulls[i] = true
			continue
		}
		in.seen[i] = true
		c := in.cand[i]
		if c == 0 {
			continue
		}
		s := vals[i]
		if c&candBool != 0 {
			if _, err := ParseBool(s); err != nil || s == "1" || s == "0" {
				c &^= candBool
			}
		}
		if c&(candInt|candFloat) != 0 {
			t := strings.TrimLeft(s, "+-")
			leadingZero := len(t) > 1 && t[0] == '0' && t[1] != '.'
			if c&candInt != 0 {
				if _, err := strconv.ParseInt(s, 10, 64); err != nil || leadingZero {
					c &^= candInt
				}
			}
			if c&candFloat != 0 {
				if _, err := strconv.ParseFloat(s, 64); err != nil || leadingZero || strings.ContainsAny(s, "xXpP_") || isNamedFloat(s) {
					c &^= candFloat
				}
			}
		}
		if c&candDate != 0 {
			if _, err := time.Parse(DateLayout, s); err != nil {
				c &^= candDate
			}
		}
		if c&candTimestamp != 0 {
			if len(s) < 16 {
				c &^= candTimestamp
			} else if _, err := ParseTime(s, time.UTC); err != nil {
				c &^= candTimestamp
			}
		}
		in.cand[i] = c
	}
}

func isNamedFloat(s string) bool {
	l := strings.ToLower(strings.TrimLeft(s, "+-"))
	return l == "inf" || l == "infinity" || l == "nan"
}

// Fields returns the inferred fields. Every field is nullable when an empty sample was seen.
func (in *Inferrer) Fields() []Field {
	out := make([]Field, len(in.names))
	for i, n := range in.names {
		out[i] = Field{Name: n, Kind: in.kind(i), Nullable: in.nulls[i] || !in.seen[i]}
	}
	return out
}

func (in *Inferrer) kind(i int) Kind {
	if k, ok := in.overrides[in.names[i]]; ok {
		return k
	}
	if !in.seen[i] {
		return KindString
	}
	c := in.cand[i]
	switch {
	case c&candBool != 0:
		return KindBool
	case c&candInt != 0:
		return KindInt
	case c&candFloat != 0:
		return KindFloat
	case c&candDate != 0:
		return KindDate
	case c&candTimestamp != 0:
		return KindTimestamp
	}
	return KindString
}
