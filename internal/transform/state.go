package transform

import (
	"fmt"
	"math"
	"math/big"

	"github.com/dataaggregator/aggregator/internal/record"
)

// savedValue is a value in a checkpoint, exact for every kind: N holds ints, bools, dates (days),
// timestamps (microseconds) and the bits of floats; S holds text.
type savedValue struct {
	K record.Kind `json:"k"`
	N int64       `json:"n,omitempty"`
	S string      `json:"s,omitempty"`
}

func saveValue(v record.Value) savedValue {
	sv := savedValue{K: v.Kind()}
	switch v.Kind() {
	case record.KindNull:
	case record.KindBool:
		if v.AsBool() {
			sv.N = 1
		}
	case record.KindInt, record.KindDate, record.KindTimestamp:
		sv.N = v.AsInt()
	case record.KindFloat:
		sv.N = int64(math.Float64bits(v.AsFloat()))
	default:
		sv.S = v.Str()
	}
	return sv
}

func (sv savedValue) restore() (record.Value, error) {
	switch sv.K {
	case record.KindNull:
		return record.Null, nil
	case record.KindBool:
		return record.Bool(sv.N != 0), nil
	case record.KindInt:
		return record.Int(sv.N), nil
	case record.KindDate:
		return record.DateFromDays(sv.N), nil
	case record.KindTimestamp:
		return record.TimestampMicros(sv.N), nil
	case record.KindFloat:
		return record.Float(math.Float64frombits(uint64(sv.N))), nil
	case record.KindDecimal:
		return record.Decimal(sv.S)
	case record.KindString:
		return record.String(sv.S), nil
	case record.KindBytes:
		return record.BytesString(sv.S), nil
	case record.KindJSON:
		return record.JSON(sv.S), nil
	}
	return record.Null, fmt.Errorf("saved value of unknown kind %s", sv.K)
}

func saveValues(row record.Row) []savedValue {
	if len(row) == 0 {
		return nil
	}
	out := make([]savedValue, len(row))
	for i, v := range row {
		out[i] = saveValue(v)
	}
	return out
}

func restoreValues(in []savedValue) (record.Row, error) {
	row := make(record.Row, len(in))
	for i, sv := range in {
		v, err := sv.restore()
		if err != nil {
			return nil, err
		}
		row[i] = v
	}
	return row, nil
}

// savedAccum is an aggregate's running state in a checkpoint; F is the float sum's bits, R the exact
// rational sum as a fraction.
type savedAccum struct {
	N     int64       `json:"n,omitempty"`
	I     int64       `json:"i,omitempty"`
	F     uint64      `json:"f,omitempty"`
	R     string      `json:"r,omitempty"`
	Scale int         `json:"sc,omitempty"`
	V     *savedValue `json:"v,omitempty"`
}

func saveAccum(a *accum) savedAccum {
	s := savedAccum{N: a.n, I: a.i, F: math.Float64bits(a.f), Scale: a.scale}
	if a.r != nil {
		s.R = a.r.RatString()
	}
	if !a.v.IsNull() {
		v := saveValue(a.v)
		s.V = &v
	}
	return s
}

func (s savedAccum) restore() (accum, error) {
	a := accum{n: s.N, i: s.I, f: math.Float64frombits(s.F), scale: s.Scale}
	if s.R != "" {
		r, ok := new(big.Rat).SetString(s.R)
		if !ok {
			return accum{}, fmt.Errorf("saved sum %q is not a number", s.R)
		}
		a.r = r
	}
	if s.V != nil {
		v, err := s.V.restore()
		if err != nil {
			return accum{}, err
		}
		a.v = v
	}
	return a, nil
}

// identity is the indexes 0..n-1.
func identity(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
