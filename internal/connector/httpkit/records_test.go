package httpkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func records(t *testing.T, body, path string) ([]string, error) {
	t.Helper()
	var out []string
	err := Records([]byte(body), path, func(obj []byte, reason string) error {
		if reason != "" {
			out = append(out, "!"+reason+":"+string(obj))
			return nil
		}
		out = append(out, string(obj))
		return nil
	})
	return out, err
}

func TestRecords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, path string
		want             []string
		err              string
	}{
		{name: "the body is the array", body: `[{"a":1},{"a":2}]`, want: []string{`{"a":1}`, `{"a":2}`}},
		{name: "dotted path", body: `{"data":{"items":[{"a":1}]},"next":null}`, path: "data.items", want: []string{`{"a":1}`}},
		{name: "array index", body: `{"results":[{"rows":[{"a":1}]}]}`, path: "results.0.rows", want: []string{`{"a":1}`}},
		{name: "one object", body: `{"data":{"a":1}}`, path: "data", want: []string{`{"a":1}`}},
		{name: "null is no record", body: `{"data":null}`, path: "data"},
		{name: "empty array", body: `{"data":[]}`, path: "data"},
		{name: "elements that are not objects", body: `{"data":[1,{"a":1},"x"]}`, path: "data",
			want: []string{"!not a JSON object:1", `{"a":1}`, `!not a JSON object:"x"`}},
		{name: "path matching nothing", body: `{"items":[],"meta":{}}`, path: "data",
			err: `records_path matches nothing in the body: "data"; the body has the keys items, meta`},
		{name: "path matching nothing deeper", body: `{"data":{"rows":[]}}`, path: "data.items",
			err: `"data.items"; "data" has the keys rows`},
		{name: "path through a scalar", body: `{"data":5}`, path: "data.items", err: `the body has the keys data`},
		{name: "a scalar at the path", body: `{"data":"none"}`, path: "data", err: `records_path "data" holds "none", not an array of objects or an object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := records(t, tc.body, tc.path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"data":[{"a":1},{"a":`:         "the body is truncated JSON (it ends at byte 22 inside a value)",
		"<html><body>Bad gateway</body>": "the body is not valid JSON: invalid character '<' looking for beginning of value at byte 1; the body starts with: <html><body>Bad gateway",
		"":                               "the body is empty, not JSON",
		`{"a":1} {"b":2}`:                "the body is not valid JSON: invalid character '{' after top-level value",
	} {
		err := CheckJSON("https://api.example.com/x", []byte(body))
		var be *BodyError
		if !errors.As(err, &be) || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "response of https://api.example.com/x: ") {
			t.Errorf("%q: err = %v\nwant it to contain %q", body, err, want)
		}
	}
	if err := CheckJSON("u", []byte(` {"a":[1,2]} `)); err != nil {
		t.Errorf("valid JSON: %v", err)
	}
}

func TestFlatten(t *testing.T) {
	t.Parallel()
	got := string(Flatten(nil, []byte(`{"id":1,"user":{"name":"a","address":{"city":"b"}},"tags":[{"x":1}],"e":{}}`), "_"))
	want := `{"id":1,"user_name":"a","user_address_city":"b","tags":[{"x":1}]}`
	if got != want {
		t.Errorf("Flatten = %s, want %s", got, want)
	}
}

func page(body string, header http.Header) *Response {
	u, _ := url.Parse("https://api.example.com/v1/items")
	return &Response{Status: 200, Body: []byte(body), Header: header, URL: u}
}

func TestPager(t *testing.T) {
	t.Parallel()
	const base = "https://api.example.com/v1/items?limit=2"
	for _, tc := range []struct {
		name  string
		p     Pagination
		first string
		steps []struct {
			body   string
			link   string
			n      int
			want   string
			errMsg string
		}
	}{
		{name: "page numbers until an empty page", p: Pagination{Type: PageNumber, Param: "page", Start: 1},
			first: base + "&page=1",
			steps: []struct {
				body, link string
				n          int
				want       string
				errMsg     string
			}{{body: `[1,2]`, n: 2, want: base + "&page=2"}, {body: `[3]`, n: 1, want: base + "&page=3"}, {body: `[]`, n: 0, want: ""}}},
		{name: "offset until a short page", p: Pagination{Type: PageOffset, Param: "offset", LimitParam: "limit", Limit: 2},
			first: "https://api.example.com/v1/items?limit=2&offset=0",
			steps: []struct {
				body, link string
				n          int
				want       string
				errMsg     string
			}{{body: `[1,2]`, n: 2, want: "https://api.example.com/v1/items?limit=2&offset=2"}, {body: `[3]`, n: 1, want: ""}}},
		{name: "cursor until none", p: Pagination{Type: PageCursor, Path: "meta.next", Param: "cursor"}, first: base,
			steps: []struct {
				body, link string
				n          int
				want       string
				errMsg     string
			}{{body: `{"meta":{"next":"c1"}}`, n: 2, want: "https://api.example.com/v1/items?cursor=c1&limit=2"},
				{body: `{"meta":{"next":"c2"},"x":1}`, n: 2, want: "https://api.example.com/v1/items?cursor=c2&limit=2"},
				{body: `{"meta":{"next":null}}`, n: 1, want: ""}}},
		{name: "cursor that repeats", p: Pagination{Type: PageCursor, Path: "next", Param: "cursor"}, first: base,
			steps: []struct {
				body, link string
				n          int
				want       string
				errMsg     string
			}{{body: `{"next":"c1","p":1}`, n: 2, want: "https://api.example.com/v1/items?cursor=c1&limit=2"},
				{body: `{"next":"c1","p":2}`, n: 2, errMsg: `pagination loop: the cursor "c1" at next repeats`}}},
		{name: "next URL, relative, until empty", p: Pagination{Type: PageNext, Path: "links.next"}, first: base,
			steps: []struct {
				body, link string
				n          int
				want       string
				errMsg     string
			}{{body: `{"links":{"next":"/v1/items?after=5"}}`, n: 2, want: "https://api.example.com/v1/items?after=5"},
				{body: `{"links":{"next":""}}`, n: 2, want: ""}}},
		{name: "next URL seen before", p: Pagination{Type: PageNext, Path: "next"}, first: base,
			steps: []struct {
				body, link string
				n          int
				want       string
				errMsg     string
			}{{body: `{"next":"?limit=2&p=2"}`, n: 2, want: "https://api.example.com/v1/items?limit=2&p=2"},
				{body: `{"next":"` + base + `"}`, n: 2, errMsg: "pagination loop: the next page https://api.example.com/v1/items?limit=2 was already read"}}},
		{name: "the same page twice", p: Pagination{Type: PageNumber, Param: "page", Start: 1}, first: base + "&page=1",
			steps: []struct {
				body, link string
				n          int
				want       string
				errMsg     string
			}{{body: `[1,2]`, n: 2, want: base + "&page=2"}, {body: `[1,2]`, n: 2, errMsg: "has the same body as the page before it"}}},
		{name: "link header", p: Pagination{Type: PageLink}, first: base,
			steps: []struct {
				body, link string
				n          int
				want       string
				errMsg     string
			}{{body: `[1]`, link: `<https://api.example.com/v1/items?page=1>; rel="prev", <https://api.example.com/v1/items?page=3>; rel="next"`, n: 1, want: "https://api.example.com/v1/items?page=3"},
				{body: `[2]`, link: `<https://api.example.com/v1/items?page=1>; rel="first"`, n: 1, want: ""}}},
		{name: "max pages", p: Pagination{Type: PageNumber, Param: "page", Start: 1, MaxPages: 1}, first: base + "&page=1",
			steps: []struct {
				body, link string
				n          int
				want       string
				errMsg     string
			}{{body: `[1,2]`, n: 2, want: ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewPager(&tc.p, nil)
			cur, err := g.First(base)
			if err != nil || cur != tc.first {
				t.Fatalf("First = %s, %v; want %s", cur, err, tc.first)
			}
			for i, st := range tc.steps {
				h := http.Header{}
				if st.link != "" {
					h.Set("Link", st.link)
				}
				next, err := g.Next(cur, page(st.body, h), st.n)
				if st.errMsg != "" {
					if !errors.Is(err, ErrPaginationLoop) || !strings.Contains(err.Error(), st.errMsg) {
						t.Fatalf("step %d: err = %v, want a loop error containing %q", i, err, st.errMsg)
					}
					return
				}
				if err != nil || next != st.want {
					t.Fatalf("step %d: Next = %q, %v; want %q", i, next, err, st.want)
				}
				cur = next
			}
		})
	}
}

// FuzzRecords: Records finds what encoding/json finds at the path, for any body json.Valid accepts.
func FuzzRecords(f *testing.F) {
	for _, s := range []struct{ body, path string }{
		{`[{"a":1},{"b":[1,2,{"c":"}"}]}]`, ""},
		{`{"data":{"items":[{"a":"x\"y"},{"a":null}]}}`, "data.items"},
		{`{"data":[1,"two",{"a":1},[3]]}`, "data"},
		{`{"a":{"a":{"a":[{}]}}}`, "a.a.a"},
		{`{"x":1,"x":[{"k":2}]}`, "x"},
		{` { "d" : [ { "k" : "\u00e9" } , { } ] } `, "d"},
		{`{"r":[{"n":[{"m":1}]}]}`, "r.0.n"},
		{`{"data":{"id":7}}`, "data"},
	} {
		f.Add(s.body, s.path)
	}
	f.Fuzz(func(t *testing.T, body, path string) {
		if !json.Valid([]byte(body)) {
			return
		}
		want, wantOK := reference([]byte(body), path)
		var got []string
		err := Records([]byte(body), path, func(obj []byte, reason string) error {
			if reason == "" {
				var v any
				if err := json.Unmarshal(obj, &v); err != nil {
					t.Fatalf("record %q is not JSON: %v", obj, err)
				}
			}
			got = append(got, canonical(obj))
			return nil
		})
		if !wantOK {
			if err == nil && len(got) > 0 {
				t.Fatalf("path %q: records %v where encoding/json finds no array or object", path, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("path %q: %v", path, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("path %q in %s:\n got %v\nwant %v", path, body, got, want)
		}
	})
}

// reference finds the records at path with encoding/json.
func reference(body []byte, path string) ([]string, bool) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, false
	}
	if path != "" {
		for _, seg := range strings.Split(path, ".") {
			switch x := v.(type) {
			case map[string]any:
				var ok bool
				if v, ok = x[seg]; !ok {
					return nil, false
				}
			case []any:
				var i int
				if _, err := fmt.Sscanf(seg, "%d", &i); err != nil || fmt.Sprint(i) != seg || i < 0 || i >= len(x) {
					return nil, false
				}
				v = x[i]
			default:
				return nil, false
			}
		}
	}
	switch x := v.(type) {
	case nil:
		return nil, true
	case map[string]any:
		b, _ := json.Marshal(x)
		return []string{canonical(b)}, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			b, _ := json.Marshal(e)
			out = append(out, canonical(b))
		}
		return out, true
	}
	return nil, false
}

func canonical(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "!" + string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
