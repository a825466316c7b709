package expr

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/record"
)

// libFunc is an expression function as the library calls it: the arguments arrive untyped and
// their number is already checked against the function's signatures.
type libFunc func(l *funcLib, args []any) (any, error)

// argReader reads argument i (0-based) as a T, or says what was wrong with it (the type readers
// name the argument: "argument 2: want an integer, got a string"). It gets the library for the
// readers that use its caches (patterns, zones).
type argReader[T any] func(l *funcLib, args []any, i int) (T, error)

// The adapters below turn a typed function into a libFunc: a null argument makes the result null,
// the arguments are read in order, and the first one that cannot be read is the error. The typed
// function also gets the library, for its caches.

func fn1[A any](a argReader[A], f func(*funcLib, A) (any, error)) libFunc {
	return func(l *funcLib, args []any) (any, error) {
		if args[0] == nil {
			return nil, nil
		}
		x, err := a(l, args, 0)
		if err != nil {
			return nil, err
		}
		return f(l, x)
	}
}

func fn2[A, B any](a argReader[A], b argReader[B], f func(*funcLib, A, B) (any, error)) libFunc {
	return func(l *funcLib, args []any) (any, error) {
		if anyNil(args, len(args)) {
			return nil, nil
		}
		x, err := a(l, args, 0)
		if err != nil {
			return nil, err
		}
		y, err := b(l, args, 1)
		if err != nil {
			return nil, err
		}
		return f(l, x, y)
	}
}

func fn3[A, B, C any](a argReader[A], b argReader[B], c argReader[C], f func(*funcLib, A, B, C) (any, error)) libFunc {
	return fn2(a, pairOf(b, c), func(l *funcLib, x A, yz pair[B, C]) (any, error) {
		return f(l, x, yz.first, yz.second)
	})
}

// pair holds two arguments read one after the other.
type pair[A, B any] struct {
	first  A
	second B
}

// pairOf reads argument i with a and argument i+1 with b.
func pairOf[A, B any](a argReader[A], b argReader[B]) argReader[pair[A, B]] {
	return func(l *funcLib, args []any, i int) (pair[A, B], error) {
		x, err := a(l, args, i)
		if err != nil {
			return pair[A, B]{}, err
		}
		y, err := b(l, args, i+1)
		return pair[A, B]{x, y}, err
	}
}

// optional is a trailing argument that may be left out; ok says whether it was given.
type optional[T any] struct {
	val T
	ok  bool
}

// opt reads a trailing argument that may be left out.
func opt[T any](r argReader[T]) argReader[optional[T]] {
	return func(l *funcLib, args []any, i int) (optional[T], error) {
		if i >= len(args) {
			return optional[T]{}, nil
		}
		v, err := r(l, args, i)
		return optional[T]{v, err == nil}, err
	}
}

// anyNil reports whether one of the first n arguments is null: most functions return null then.
func anyNil(args []any, n int) bool {
	for i := 0; i < n && i < len(args); i++ {
		if args[i] == nil {
			return true
		}
	}
	return false
}

// Argument readers.

func argString(_ *funcLib, args []any, i int) (string, error) {
	switch t := args[i].(type) {
	case string:
		return t, nil
	case decimalText:
		return string(t), nil
	case []byte:
		return string(t), nil
	}
	return "", fmt.Errorf("argument %d: want a string, got %s", i+1, TypeName(args[i]))
}

func argInt(_ *funcLib, args []any, i int) (int64, error) {
	if n, ok := toInt64(args[i]); ok {
		return n, nil
	}
	return 0, fmt.Errorf("argument %d: want an integer, got %s", i+1, TypeName(args[i]))
}

func argFloat(_ *funcLib, args []any, i int) (float64, error) {
	if f, ok := toFloat64(args[i]); ok {
		return f, nil
	}
	return 0, fmt.Errorf("argument %d: want a number, got %s", i+1, TypeName(args[i]))
}

func argTime(_ *funcLib, args []any, i int) (time.Time, error) {
	switch t := args[i].(type) {
	case time.Time:
		return t, nil
	case string:
		ts, err := record.ParseTime(t, time.UTC)
		if err != nil {
			return time.Time{}, fmt.Errorf("argument %d: %v", i+1, err)
		}
		return ts, nil
	}
	return time.Time{}, fmt.Errorf("argument %d: want a date or timestamp, got %s", i+1, TypeName(args[i]))
}

// argPattern reads a regular expression, compiled through the library's cache.
func argPattern(l *funcLib, args []any, i int) (*regexp.Regexp, error) {
	p, err := argString(l, args, i)
	if err != nil {
		return nil, err
	}
	return l.regex(p)
}

// argZone reads a time zone name, loaded through the library's cache.
func argZone(l *funcLib, args []any, i int) (*time.Location, error) {
	name, err := argString(l, args, i)
	if err != nil {
		return nil, err
	}
	return l.zone(name)
}

// argPadWidth reads a pad width, at most maxPad.
func argPadWidth(l *funcLib, args []any, i int) (int64, error) {
	w, err := argInt(l, args, i)
	if err != nil {
		return 0, err
	}
	if w > maxPad {
		return 0, fmt.Errorf("argument %d: width %d is above %d", i+1, w, maxPad)
	}
	return w, nil
}

// argPadText reads a pad string, which must not be empty.
func argPadText(l *funcLib, args []any, i int) (string, error) {
	s, err := argString(l, args, i)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", fmt.Errorf("argument %d: the pad string is empty", i+1)
	}
	return s, nil
}

// argLength reads a length, which must not be negative.
func argLength(l *funcLib, args []any, i int) (int64, error) {
	n, err := argInt(l, args, i)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("argument %d: length %d is negative", i+1, n)
	}
	return n, nil
}

// argDecimal reads a string or number as canonical exact decimal text.
func argDecimal(_ *funcLib, args []any, i int) (string, error) {
	var txt string
	switch t := args[i].(type) {
	case string:
		txt = strings.TrimSpace(t)
	case decimalText:
		txt = string(t)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return "", fmt.Errorf("%v is not a decimal", t)
		}
		txt = strconv.FormatFloat(t, 'f', -1, 64)
	case float32:
		txt = strconv.FormatFloat(float64(t), 'f', -1, 32)
	default:
		n, ok := toInt64(t)
		if !ok {
			return "", fmt.Errorf("cannot convert %s to a decimal", TypeName(t))
		}
		txt = strconv.FormatInt(n, 10)
	}
	v, err := record.Decimal(txt)
	if err != nil {
		return "", err
	}
	return v.Str(), nil
}
