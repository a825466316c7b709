package expr

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/expr-lang/expr/types"

	"github.com/dataaggregator/aggregator/internal/record"
)

// Values in expressions. A record.Value reaches an expression as a plain Go value:
//
//	null -> nil, bool -> bool, int -> int64, float -> float64, decimal -> float64,
//	string -> string, bytes -> string (the raw bytes), date and timestamp -> time.Time (UTC),
//	json -> the decoded JSON (map[string]any, []any, float64, string, bool, nil).
//
// Decimals become float64 so that arithmetic works on them; to_decimal and an output type of decimal
// bring a result back to exact decimal text.

// goValue converts a value for an expression environment.
func goValue(v record.Value) any {
	switch v.Kind() {
	case record.KindNull:
		return nil
	case record.KindBool:
		return v.AsBool()
	case record.KindInt:
		return v.AsInt()
	case record.KindFloat, record.KindDecimal:
		return v.AsFloat()
	case record.KindString, record.KindBytes:
		return v.Str()
	case record.KindDate, record.KindTimestamp:
		return v.AsTime()
	case record.KindJSON:
		var x any
		if err := json.Unmarshal([]byte(v.Str()), &x); err != nil {
			return v.Str()
		}
		return x
	}
	return nil
}

// typeSample returns the expression checker's type for a field of kind k (see goValue); json and
// all-null fields are untyped (any).
func typeSample(k record.Kind) types.Type {
	switch k {
	case record.KindBool:
		return types.Bool
	case record.KindInt:
		return types.Int64
	case record.KindFloat, record.KindDecimal:
		return types.Float64
	case record.KindString, record.KindBytes:
		return types.String
	case record.KindDate, record.KindTimestamp:
		return types.TypeOf(time.Time{})
	}
	return types.Any
}

// kindOfType maps an expression's static result type to a kind; ok is false when the type is not
// known before the expression runs (interface types).
func kindOfType(t reflect.Type) (record.Kind, bool) {
	if t == nil {
		return record.KindNull, false
	}
	switch t {
	case decimalType:
		return record.KindDecimal, true
	case timeType:
		return record.KindTimestamp, true
	}
	switch t.Kind() {
	case reflect.Bool:
		return record.KindBool, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return record.KindInt, true
	case reflect.Float32, reflect.Float64:
		return record.KindFloat, true
	case reflect.String:
		return record.KindString, true
	case reflect.Map, reflect.Slice, reflect.Array:
		return record.KindJSON, true
	}
	return record.KindNull, false
}

// FromResult converts an expression result to a value of kind k. Null stays null.
func FromResult(x any, k record.Kind) (record.Value, error) {
	if x == nil {
		return record.Null, nil
	}
	var v record.Value
	switch t := x.(type) {
	case time.Time:
		if k == record.KindDate {
			return record.Date(t), nil
		}
		v = record.Timestamp(t)
	case time.Duration:
		v = record.Int(int64(t))
	case decimalText:
		d, err := record.Decimal(string(t))
		if err != nil {
			return record.Null, err
		}
		v = d
	default:
		var err error
		v, err = record.FromGo(x)
		if err != nil {
			return record.Null, fmt.Errorf("result of type %T cannot be stored", x)
		}
	}
	if v.Kind() == k {
		return v, nil
	}
	if k == record.KindDecimal && v.Kind() == record.KindFloat {
		f := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return record.Null, fmt.Errorf("result %v is not a decimal", f)
		}
		return record.Decimal(strconv.FormatFloat(f, 'f', -1, 64))
	}
	if k == record.KindJSON {
		b, err := json.Marshal(x)
		if err != nil {
			return record.Null, fmt.Errorf("result of type %T is not JSON: %w", x, err)
		}
		return record.JSON(string(b)), nil
	}
	out, err := record.Cast(v, k)
	if err != nil {
		return record.Null, fmt.Errorf("result %s: %w", v.String(), err)
	}
	return out, nil
}
