package expr

import (
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/record"
)

// schemaOf builds a schema from "name:kind" pairs.
func schemaOf(t testing.TB, spec ...string) *record.Schema {
	t.Helper()
	fs := make([]record.Field, len(spec))
	for i, s := range spec {
		name, kind, _ := strings.Cut(s, ":")
		k, err := record.ParseKind(kind)
		if err != nil {
			t.Fatal(err)
		}
		fs[i] = record.Field{Name: name, Kind: k, Nullable: true}
	}
	s, err := record.NewSchema(fs...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// funcEnv is the row every function case runs on.
func funcEnv(t testing.TB) (*record.Schema, record.Row) {
	s := schemaOf(t, "s:string", "n:int", "f:float", "ts:timestamp", "d:date", "nul:string", "j:json", "dec:decimal")
	row := record.Row{
		record.String("  Hello World "),
		record.Int(-7),
		record.Float(2.675),
		record.Timestamp(time.Date(2024, 3, 15, 10, 30, 0, 0, time.UTC)),
		record.Date(time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)),
		record.Null,
		record.JSON(`{"a":[1,2,3],"b":"x"}`),
		record.MustDecimal("10.25"),
	}
	return s, row
}

func TestFunctions(t *testing.T) {
	s, row := funcEnv(t)
	ts := time.Date(2024, 3, 15, 10, 30, 0, 0, time.UTC)
	cases := []struct {
		src  string
		want any    // compared with cmp; ignored when err is set
		err  string // substring of the run or compile error
	}{
		// strings
		{src: `lower(s)`, want: "  hello world "},
		{src: `upper(s)`, want: "  HELLO WORLD "},
		{src: `lower(nul)`, want: nil},
		{src: `lower(n)`, err: "lower: argument 1: want a string, got an integer"},
		{src: `trim(s)`, want: "Hello World"},
		{src: `trim("xxaxx", "x")`, want: "a"},
		{src: `replace(s, "o", "0")`, want: "  Hell0 W0rld "},
		{src: `split("a,b,,c", ",")`, want: []any{"a", "b", "", "c"}},
		{src: `split(nul, ",")`, want: nil},
		{src: `substr("héllo", 1, 3)`, want: "éll"},
		{src: `substr("hello", -3)`, want: "llo"},
		{src: `substr("hello", 10)`, want: ""},
		{src: `substr("hello", 1, -1)`, err: "length -1 is negative"},
		{src: `substr("hello", "x")`, err: "argument 2: want an integer"},
		{src: `str_contains(s, "World")`, want: true},
		{src: `s contains "World"`, want: true},
		{src: `starts_with("abc", "ab")`, want: true},
		{src: `ends_with("abc", "ab")`, want: false},
		{src: `pad_left("7", 3, "0")`, want: "007"},
		{src: `pad_right("7", 3)`, want: "7  "},
		{src: `pad("abc", 2)`, want: "abc"},
		{src: `pad("a", 4, "xy")`, want: "xyxa"},
		{src: `pad("a", 100000000)`, err: "width 100000000 is above"},
		{src: `pad("a", 3, "")`, err: "pad string is empty"},
		{src: `pad_right("a", 4, "é-")`, want: "aé-é"},
		{src: `pad("a", 3, repeat("x", 100000))`, want: "xxa"},
		{src: `concat("a", n, nul, true, 1.5)`, want: "a-7true1.5"},
		{src: `len("héllo")`, want: int64(5)},
		{src: `len(j.a)`, want: int64(3)},
		{src: `len(n)`, err: "want a string, list or object"},
		// math
		{src: `abs(n)`, want: int64(7)},
		{src: `abs(-2.5)`, want: 2.5},
		{src: `abs(nul)`, want: nil},
		{src: `abs("x")`, err: "want a number"},
		{src: `round(f, 2)`, want: 2.68},
		{src: `round(-2.5)`, want: -3.0},
		{src: `round(1234.5, -2)`, want: 1200.0},
		{src: `round(f, 99)`, err: "places 99 is outside"},
		{src: `floor(f)`, want: 2.0},
		{src: `ceil(f)`, want: 3.0},
		{src: `ceil("x")`, err: "want a number"},
		{src: `min(3, n, 5)`, want: int64(-7)},
		{src: `max(3, f)`, want: 3.0},
		{src: `max(1, nul, 2)`, want: 2.0}, // a null argument makes literals float
		{src: `max(n, 2)`, want: int64(2)},
		{src: `pow(2, 10)`, want: 1024.0},
		{src: `dec * 2`, want: 20.5},
		// dates
		{src: `now() > ts`, want: true},
		{src: `parse_date("31/01/2024", "02/01/2006")`, want: time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)},
		{src: `parse_date("2024-01-31")`, want: time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)},
		{src: `parse_date("Jan 5, 2024")`, want: time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC)},
		{src: `parse_date("nope")`, err: `cannot read "nope" as a date`},
		{src: `parse_date("31/01/2024", "2006-01-02")`, err: `does not match layout`},
		{src: `parse_time("2024-03-15 11:30", "2006-01-02 15:04", "Europe/Paris")`, want: ts},
		{src: `parse_time("2024-03-15T10:30:00Z")`, want: ts},
		{src: `parse_time("2024-03-15 11:30", "2006-01-02 15:04", "Mars/Base")`, err: `unknown time zone "Mars/Base"`},
		{src: `format_date(ts, "02/01/2006 15:04")`, want: "15/03/2024 10:30"},
		{src: `format_date(ts, "15:04", "America/New_York")`, want: "06:30"},
		{src: `format_date(d, "Jan 2006")`, want: "Jan 2024"},
		{src: `date_add(d, 1, "month")`, want: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)},
		{src: `date_add(ts, -2, "hours")`, want: ts.Add(-2 * time.Hour)},
		{src: `date_add(ts, 1, "fortnight")`, err: `unknown unit "fortnight"`},
		{src: `date_add(ts, 2000000000, "hours")`, err: `2000000000 hours is too far`},
		{src: `date_add(ts, 90, "seconds")`, want: ts.Add(90 * time.Second)},
		{src: `date_diff(ts, d, "days")`, want: int64(44)},
		{src: `date_diff(ts, d, "months")`, want: int64(1)},
		{src: `date_diff(d, ts, "months")`, want: int64(-1)},
		{src: `date_diff(ts, "2020-03-15", "years")`, want: int64(4)},
		{src: `date_diff(ts, "garbage", "days")`, err: "argument 2: invalid timestamp"},
		{src: `hour(to_timezone(ts, "Asia/Tokyo"))`, want: int64(19)},
		{src: `to_timezone(ts, "Nowhere")`, err: "unknown time zone"},
		{src: `year(ts)`, want: int64(2024)},
		{src: `month(d)`, want: int64(1)},
		{src: `day(d)`, want: int64(31)},
		{src: `weekday(ts)`, want: int64(5)},
		{src: `year(nul)`, want: nil},
		{src: `year(42)`, err: "want a date or timestamp"},
		// regex
		{src: `regex_match(s, "W.rld")`, want: true},
		{src: `s matches "^\\s+Hello"`, want: true},
		{src: `regex_match("a", nul)`, want: nil},
		{src: `regex_match("a", "(" + "x")`, err: "invalid pattern"},
		{src: `regex_replace("a1b22", "[0-9]+", "#")`, want: "a#b#"},
		{src: `regex_replace("john smith", "(\\w+) (\\w+)", "$2, $1")`, want: "smith, john"},
		{src: `regex_extract("order-1234-x", "[0-9]+")`, want: "1234"},
		{src: `regex_extract("k=v", "(\\w)=(\\w)", 2)`, want: "v"},
		{src: `regex_extract("abc", "[0-9]+")`, want: nil},
		{src: `regex_extract("k=v", "(\\w)=(\\w)", 3)`, err: "group 3 does not exist"},
		// hashing
		{src: `md5("abc")`, want: "900150983cd24fb0d6963f7d28e17f72"},
		{src: `sha1("abc")`, want: "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{src: `sha256("abc")`, want: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{src: `hex("AB")`, want: "4142"},
		{src: `md5(nul)`, want: nil},
		{src: `sha256(1)`, err: "want a string"},
		// nulls and ids
		{src: `coalesce(nul, nil, "x", "y")`, want: "x"},
		{src: `coalesce(nul)`, want: nil},
		{src: `if_null(nul, 0)`, want: 0},
		{src: `if_null(n, 0)`, want: int64(-7)},
		{src: `len(uuid())`, want: int64(36)},
		// conversions
		{src: `to_int("42")`, want: int64(42)},
		{src: `to_int(" 3.9 ")`, want: int64(3)},
		{src: `to_int(true)`, want: int64(1)},
		{src: `to_int("x")`, err: `"x" is not a number`},
		{src: `to_int(1e300)`, err: "out of the integer range"},
		{src: `to_int(j)`, err: "cannot convert an object to an integer"},
		{src: `to_float("2.5")`, want: 2.5},
		{src: `to_float(n)`, want: -7.0},
		{src: `to_float("x")`, err: "is not a number"},
		{src: `to_string(n)`, want: "-7"},
		{src: `to_string(d)`, want: "2024-01-31"},
		{src: `to_string(j.a)`, want: "[1,2,3]"},
		{src: `to_decimal("1.005", 2)`, want: decimalText("1.01")},
		{src: `to_decimal(0.1 + 0.2, 2)`, want: decimalText("0.30")},
		{src: `to_decimal(n)`, want: decimalText("-7")},
		{src: `to_decimal("abc")`, err: "invalid decimal"},
		{src: `to_decimal("1", 99)`, err: "scale 99 is outside"},
		// json fields
		{src: `j.b + "!"`, want: "x!"},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			p, err := Compile(tc.src, s)
			if err != nil {
				if tc.err != "" && strings.Contains(err.Error(), tc.err) {
					return
				}
				t.Fatalf("compile: %v", err)
			}
			got, err := p.Run(row)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want it to contain %q (result %v)", err, tc.err, got)
				}
				if regexp.MustCompile(`\n`).MatchString(err.Error()) {
					t.Errorf("error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Every documented function has at least one case above.
func TestEveryFunctionTested(t *testing.T) {
	b, err := os.ReadFile("funcs_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Functions() {
		if !strings.Contains(string(b), "`"+f.Name+"(") && !strings.Contains(string(b), " "+f.Name+"(") && !strings.Contains(string(b), "("+f.Name+"(") {
			t.Errorf("function %s has no test case", f.Name)
		}
	}
}

// No function panics, whatever it is given: odd types, nulls, extremes, too few or many arguments
// (the checker refuses wrong counts at compile time; the functions must still not panic).
func TestFunctionsNeverPanic(t *testing.T) {
	odd := []any{nil, "", "x", "2024-01-31", "[", int64(math.MaxInt64), int64(math.MinInt64), int64(-1), 0,
		math.NaN(), math.Inf(1), -1e308, true, time.Time{}, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		map[string]any{"a": 1.0}, []any{1.0, "b"}, decimalText("1.5"), []byte("b"), struct{}{}}
	lib := newFuncLib()
	for _, d := range funcDefs() {
		lo, hi := d.arity()
		if hi < 0 {
			hi = 3
		}
		for arity := lo; arity <= hi; arity++ {
			args := make([]any, arity)
			var try func(i int)
			try = func(i int) {
				if i == arity {
					func() {
						defer func() {
							if r := recover(); r != nil {
								t.Errorf("%s%v panicked: %v", d.name, args, r)
							}
						}()
						_, _ = d.fn(lib, args)
					}()
					return
				}
				for _, a := range odd {
					args[i] = a
					try(i + 1)
				}
			}
			try(0)
		}
	}
}

// BenchmarkFunctionCalls measures the library's own cost per call (argument reading, null checks
// and the function), without the expression VM around it.
func BenchmarkFunctionCalls(b *testing.B) {
	ts := time.Date(2024, 3, 15, 10, 30, 0, 0, time.UTC)
	cases := []struct {
		name string
		args []any
	}{
		{"lower", []any{"Hello World"}},
		{"floor", []any{2.5}},
		{"starts_with", []any{"abcdef", "abc"}},
		{"substr", []any{"hello world", int64(2), int64(5)}},
		{"date_add", []any{ts, int64(3), "day"}},
		{"regex_match", []any{"abc123", `\d+`}},
	}
	defs := map[string]funcDef{}
	for _, d := range funcDefs() {
		defs[d.name] = d
	}
	for _, c := range cases {
		d, ok := defs[c.name]
		if !ok {
			b.Fatalf("no function %s", c.name)
		}
		b.Run(c.name, func(b *testing.B) {
			l := newFuncLib()
			for b.Loop() {
				if _, err := d.fn(l, c.args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
