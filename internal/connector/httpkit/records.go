package httpkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector/internal/jsonrec"
)

// ErrNoRecordsPath says that the records path matched nothing in a body.
var ErrNoRecordsPath = errors.New("records_path matches nothing in the body")

// BodyError says that a body is not the JSON expected.
type BodyError struct {
	URL    string // without secrets
	Offset int64  // where the JSON breaks, when known
	Reason string
	Prefix string // the first bytes of the body
}

func (e *BodyError) Error() string {
	s := fmt.Sprintf("response of %s: %s", e.URL, e.Reason)
	if e.Prefix != "" {
		s += "; the body starts with: " + e.Prefix
	}
	return s
}

// CheckJSON returns a *BodyError when body is not one well-formed JSON value (truncated, HTML, ...).
func CheckJSON(url string, body []byte) error {
	if json.Valid(body) {
		return nil
	}
	var v any
	err := json.Unmarshal(body, &v)
	e := &BodyError{URL: url, Prefix: prefix(body)}
	var se *json.SyntaxError
	switch {
	case len(strings.TrimSpace(string(body))) == 0:
		e.Reason = "the body is empty, not JSON"
	case errors.As(err, &se) && se.Offset >= int64(len(body)):
		e.Offset, e.Reason = se.Offset, fmt.Sprintf("the body is truncated JSON (it ends at byte %d inside a value)", len(body))
	case errors.As(err, &se):
		e.Offset, e.Reason = se.Offset, fmt.Sprintf("the body is not valid JSON: %s at byte %d", strings.TrimPrefix(se.Error(), "json: "), se.Offset)
	case err != nil && strings.Contains(err.Error(), "unexpected end"):
		e.Reason = fmt.Sprintf("the body is truncated JSON (it ends at byte %d inside a value)", len(body))
	default:
		e.Reason = "the body is not valid JSON"
	}
	return e
}

func prefix(body []byte) string {
	b := strings.TrimSpace(string(body[:min(len(body), BodyPrefix)]))
	return strings.ToValidUTF8(b, "\uFFFD")
}

// Records calls fn with each record of body (a valid JSON value, see CheckJSON) at the dotted
// path: each element of the array there, or the object there as one record. An element that is not
// an object comes with a reason. null at the path is no record; a path that matches nothing is an
// error wrapping ErrNoRecordsPath that lists the keys there are.
func Records(body []byte, path string, fn func(obj []byte, reason string) error) error {
	v, ok := jsonrec.Lookup(body, path)
	if !ok {
		return fmt.Errorf("%w: %q; %s", ErrNoRecordsPath, path, keysNear(body, path))
	}
	switch {
	case len(v) == 0 || v[0] == 'n':
		return nil
	case v[0] == '{':
		return fn(v, "")
	case v[0] == '[':
		return jsonrec.Elements(v, func(e []byte) error {
			if len(e) == 0 || e[0] != '{' {
				return fn(e, "not a JSON object")
			}
			return fn(e, "")
		})
	}
	return fmt.Errorf("records_path %q holds %s, not an array of objects or an object", path, abbrev(v))
}

// keysNear says which keys the deepest object on the path has, to help fix the path.
func keysNear(body []byte, path string) string {
	segs := strings.Split(path, ".")
	for i := len(segs) - 1; i >= 0; i-- {
		at := strings.Join(segs[:i], ".")
		v, ok := jsonrec.Lookup(body, at)
		if !ok || len(v) == 0 || v[0] != '{' {
			continue
		}
		var keys []string
		_ = jsonrec.Walk(v, func(k, _ []byte) { keys = append(keys, string(jsonrec.Key(k))) })
		slices.Sort(keys)
		keys = slices.Compact(keys)
		if len(keys) > 20 {
			keys = append(keys[:20], "...")
		}
		where := "the body"
		if at != "" {
			where = fmt.Sprintf("%q", at)
		}
		if len(keys) == 0 {
			return where + " is an empty object"
		}
		return fmt.Sprintf("%s has the keys %s", where, strings.Join(keys, ", "))
	}
	return "the body is not an object"
}

func abbrev(v []byte) string {
	s := string(v)
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

// Scalar returns the value at path as text: a string's content, a number or a boolean's literal;
// ok is false for a missing path, null, an empty string, an object or an array.
func Scalar(body []byte, path string) (string, bool) {
	v, ok := jsonrec.Lookup(body, path)
	if !ok || len(v) == 0 {
		return "", false
	}
	switch v[0] {
	case 'n', '{', '[':
		return "", false
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil || s == "" {
			return "", false
		}
		return s, true
	}
	return string(v), true
}

// Flatten appends obj (a valid JSON object) to dst with the fields of nested objects lifted to the
// top level, their names joined with sep ({"a":{"b":1}} -> {"a_b":1}); arrays stay as they are.
func Flatten(dst, obj []byte, sep string) []byte {
	dst = append(dst, '{')
	first := true
	var walk func(prefix string, o []byte)
	walk = func(prefix string, o []byte) {
		_ = jsonrec.Walk(o, func(k, v []byte) {
			name := string(jsonrec.Key(k))
			if prefix != "" {
				name = prefix + sep + name
			}
			if len(v) > 0 && v[0] == '{' {
				walk(name, v)
				return
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendKey(dst, name)
			dst = append(dst, ':')
			dst = append(dst, v...)
		})
	}
	walk("", obj)
	return append(dst, '}')
}

func appendKey(dst []byte, k string) []byte {
	b, _ := json.Marshal(k)
	return append(dst, b...)
}
