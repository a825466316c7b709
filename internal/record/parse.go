package record

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// TimestampLayouts are the layouts Parse tries for timestamps, in order. A layout without a zone is
// read in UTC (or the location given to ParseTime).
var TimestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999 -0700",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
}

// DateLayout is the layout of dates.
const DateLayout = "2006-01-02"

// ParseBool reads true/false, t/f, yes/no, y/n, 1/0, on/off (any case).
func ParseBool(s string) (bool, error) {
	switch s { // the usual spellings, without trimming and lowering each value
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "t", "yes", "y", "1", "on":
		return true, nil
	case "false", "f", "no", "n", "0", "off":
		return false, nil
	}
	return false, fmt.Errorf("invalid bool %q", s)
}

// ParseTime reads a timestamp in one of TimestampLayouts (then a bare date); loc applies to layouts
// without a zone (nil means UTC).
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	s = strings.TrimSpace(s)
	for _, l := range TimestampLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	if t, err := time.ParseInLocation(DateLayout, s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid timestamp %q (want RFC 3339, e.g. 2024-01-31T13:45:00Z)", s)
}

// Parse reads text as a value of kind k. Empty text is null for every kind but string.
// Errors say what was expected, never panic.
func Parse(s string, k Kind) (Value, error) {
	if s == "" && k != KindString {
		return Null, nil
	}
	switch k {
	case KindNull:
		return Null, nil
	case KindString:
		return String(s), nil
	case KindBool:
		b, err := ParseBool(s)
		if err != nil {
			return Null, err
		}
		return Bool(b), nil
	case KindInt:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return Null, fmt.Errorf("invalid integer %q", s)
		}
		return Int(i), nil
	case KindFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return Null, fmt.Errorf("invalid number %q", s)
		}
		return Float(f), nil
	case KindDecimal:
		return Decimal(s)
	case KindBytes:
		return BytesString(s), nil
	case KindDate:
		t, err := time.Parse(DateLayout, strings.TrimSpace(s))
		if err != nil {
			ts, err2 := ParseTime(s, time.UTC)
			if err2 != nil {
				return Null, fmt.Errorf("invalid date %q (want YYYY-MM-DD)", s)
			}
			t = ts
		}
		return Date(t), nil
	case KindTimestamp:
		t, err := ParseTime(s, time.UTC)
		if err != nil {
			return Null, err
		}
		return Timestamp(t), nil
	case KindJSON:
		return ParseJSON([]byte(s))
	}
	return Null, fmt.Errorf("cannot parse %s", k)
}

// Cast converts a value to kind k. Null stays null. Text is parsed as by Parse. A conversion to int
// fails rather than drop a fraction; a conversion to float is as exact as float64 allows.
func Cast(v Value, k Kind) (Value, error) {
	if v.k == KindNull || v.k == k {
		return v, nil
	}
	switch v.k {
	case KindString:
		if k == KindBytes {
			return BytesString(v.s), nil
		}
		if k == KindJSON {
			return JSON(string(appendJSONString(nil, v.s))), nil
		}
		return Parse(v.s, k)
	case KindBytes:
		switch k {
		case KindString:
			return String(v.s), nil
		}
	}
	switch k {
	case KindString:
		if v.k == KindBytes {
			return String(base64.StdEncoding.EncodeToString([]byte(v.s))), nil
		}
		return String(v.String()), nil
	case KindJSON:
		return JSON(string(v.AppendJSON(nil))), nil
	case KindInt:
		switch v.k {
		case KindBool:
			return Int(v.n), nil
		case KindFloat:
			f := v.AsFloat()
			if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
				return Null, fmt.Errorf("cannot cast %v to int without losing information", f)
			}
			return Int(int64(f)), nil
		case KindDecimal:
			intPart, frac, _ := strings.Cut(v.s, ".")
			if strings.Trim(frac, "0") != "" {
				return Null, fmt.Errorf("cannot cast decimal %s to int without losing its fraction", v.s)
			}
			i, err := strconv.ParseInt(intPart, 10, 64)
			if err != nil {
				return Null, fmt.Errorf("decimal %s is out of the int range", v.s)
			}
			return Int(i), nil
		case KindJSON:
			return Parse(strings.Trim(v.s, `"`), KindInt)
		}
	case KindFloat:
		switch v.k {
		case KindInt, KindDecimal:
			return Float(v.AsFloat()), nil
		case KindBool:
			return Float(float64(v.n)), nil
		case KindJSON:
			return Parse(strings.Trim(v.s, `"`), KindFloat)
		}
	case KindDecimal:
		switch v.k {
		case KindInt:
			return Value{k: KindDecimal, s: strconv.FormatInt(v.n, 10)}, nil
		case KindFloat:
			f := v.AsFloat()
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return Null, fmt.Errorf("cannot cast %v to decimal", f)
			}
			return Decimal(strconv.FormatFloat(f, 'f', -1, 64))
		case KindJSON:
			return Decimal(strings.Trim(v.s, `"`))
		}
	case KindBool:
		switch v.k {
		case KindInt:
			if v.n == 0 || v.n == 1 {
				return Bool(v.n == 1), nil
			}
		case KindJSON:
			return Parse(v.s, KindBool)
		}
	case KindDate:
		if v.k == KindTimestamp {
			return Date(v.AsTime()), nil
		}
	case KindTimestamp:
		switch v.k {
		case KindDate:
			return TimestampMicros(v.n * 86400 * 1_000_000), nil
		case KindInt:
			return Timestamp(time.Unix(v.n, 0)), nil
		}
	}
	return Null, fmt.Errorf("cannot cast %s %q to %s", v.k, v.String(), k)
}
