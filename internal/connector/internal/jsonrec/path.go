package jsonrec

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// ErrNotArray is returned by Elements for a value that is not a JSON array.
var ErrNotArray = errors.New("not a JSON array")

// Lookup returns the value at a dotted path in b, a valid JSON value (from json.Valid): each
// segment names a key of an object (the last one wins when a key repeats, as in encoding/json) or,
// when it is a whole number, an element of an array. An empty path is b itself. found is false when
// a segment is missing or a value on the way is neither an object nor an array.
func Lookup(b []byte, path string) (val []byte, found bool) {
	val = bytes.TrimSpace(b)
	if path == "" {
		return val, len(val) > 0
	}
	for seg := range strings.SplitSeq(path, ".") {
		if len(val) == 0 {
			return nil, false
		}
		switch val[0] {
		case '{':
			var next []byte
			ok := false
			_ = Walk(val, func(k, v []byte) {
				if string(Key(k)) == seg {
					next, ok = v, true
				}
			})
			if !ok {
				return nil, false
			}
			val = next
		case '[':
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 {
				return nil, false
			}
			var next []byte
			i := 0
			_ = Elements(val, func(e []byte) error {
				if i == n {
					next = e
					return errStop
				}
				i++
				return nil
			})
			if next == nil {
				return nil, false
			}
			val = next
		default:
			return nil, false
		}
	}
	return val, true
}

var errStop = errors.New("stop")

// Elements calls fn with each element of b, a valid JSON array, until fn returns an error, which
// Elements returns (ErrNotArray when b is not an array).
func Elements(b []byte, fn func(elem []byte) error) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return ErrNotArray
	}
	i++
	for {
		i = skipWS(b, i)
		if i >= len(b) || b[i] == ']' {
			return nil
		}
		e := endOfValue(b, i)
		if e == i { // not valid JSON: stop rather than loop
			return nil
		}
		if err := fn(b[i:e]); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		}
		i = skipWS(b, e)
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
}
