package record

import (
	"math"
	"testing"
	"time"
)

func TestDateRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"1970-01-01", "1969-12-31", "1900-02-28", "2000-02-29", "0001-01-01", "9999-12-31", "1582-10-15", "2024-03-01"} {
		v, err := Parse(s, KindDate)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got := v.String(); got != s {
			t.Errorf("date %q round-tripped as %q", s, got)
		}
		want, _ := time.Parse(DateLayout, s)
		if v.AsTime() != want {
			t.Errorf("date %q AsTime = %v, want %v", s, v.AsTime(), want)
		}
	}
	if Date(time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)).AsInt() != 1 {
		t.Error("1970-01-02 is not day 1")
	}
}

func TestTimestampMicros(t *testing.T) {
	t.Parallel()
	in := time.Date(1955, 11, 5, 6, 15, 0, 123456789, time.FixedZone("x", -7*3600))
	v := Timestamp(in)
	if !v.AsTime().Equal(in.Truncate(time.Microsecond)) {
		t.Fatalf("got %v want %v", v.AsTime(), in)
	}
	if got, want := v.String(), "1955-11-05T13:15:00.123456Z"; got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
}

func TestDecimalCanonical(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"1", "1"}, {"+001.50", "1.50"}, {"-0", "0"}, {"-0.000", "0.000"}, {".5", "0.5"},
		{"1e3", "1000"}, {"1.5E-3", "0.0015"}, {"12345678901234567890123456789.0123456789", "12345678901234567890123456789.0123456789"},
		{"-12.5e1", "-125"},
	}
	for _, c := range cases {
		v, err := Decimal(c.in)
		if err != nil {
			t.Errorf("Decimal(%q): %v", c.in, err)
			continue
		}
		if v.Str() != c.want {
			t.Errorf("Decimal(%q) = %q, want %q", c.in, v.Str(), c.want)
		}
	}
	for _, bad := range []string{"", "abc", "1.2.3", "1e", "--1", "1e99999", "."} {
		if _, err := Decimal(bad); err == nil {
			t.Errorf("Decimal(%q) accepted bad input", bad)
		}
	}
}

// TestDecimalFastPath checks that input the fast path keeps as it is is exactly what the full
// canonicalization would give, and that every other input is left to the full path.
func TestDecimalFastPath(t *testing.T) {
	t.Parallel()
	corpus := []string{"0", "1", "-1", "10", "0.5", "-0.5", "1.10", "123.45", "-0", "-0.00", "00", "01.5", "1.", ".5",
		"+1", "1e3", " 1", "1 ", "1.2.3", "-", "", "-.5", "0.000", "-0.001", "9999999999999999999999.99", "1,5", "١"}
	for _, in := range corpus {
		want, werr := canonicalizeDecimal(in)
		if isCanonicalDecimal(in) && (werr != nil || want != in) {
			t.Errorf("isCanonicalDecimal(%q) = true, but the canonical form is %q (err %v)", in, want, werr)
		}
		got, gerr := canonicalDecimal(in)
		if got != want || (gerr == nil) != (werr == nil) {
			t.Errorf("canonicalDecimal(%q) = %q, %v; canonicalizeDecimal = %q, %v", in, got, gerr, want, werr)
		}
	}
	for _, in := range []string{"0", "12.50", "-3.25", "7"} {
		if !isCanonicalDecimal(in) {
			t.Errorf("isCanonicalDecimal(%q) = false, want true (the fast path)", in)
		}
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b Value
		want int
	}{
		{Null, Int(1), -1},
		{Int(1), Null, 1},
		{Null, Null, 0},
		{Int(2), Float(2.5), -1},
		{MustDecimal("2.50"), Float(2.5), 0},
		{MustDecimal("10000000000000000000001"), MustDecimal("10000000000000000000000"), 1},
		{String("a"), String("b"), -1},
		{Float(math.NaN()), Float(1), -1},
		{Bool(true), Bool(false), 1},
	}
	for i, c := range cases {
		if got := Compare(c.a, c.b); got != c.want {
			t.Errorf("case %d: Compare(%v, %v) = %d, want %d", i, c.a, c.b, got, c.want)
		}
	}
}

func TestCast(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      Value
		to      Kind
		want    Value
		wantErr bool
	}{
		{String("42"), KindInt, Int(42), false},
		{String("x"), KindInt, Null, true},
		{Float(3.0), KindInt, Int(3), false},
		{Float(3.5), KindInt, Null, true},
		{MustDecimal("7.000"), KindInt, Int(7), false},
		{MustDecimal("7.01"), KindInt, Null, true},
		{Int(5), KindDecimal, MustDecimal("5"), false},
		{Int(5), KindString, String("5"), false},
		{String("2024-02-03"), KindDate, Date(time.Date(2024, 2, 3, 0, 0, 0, 0, time.UTC)), false},
		{String("yes"), KindBool, Bool(true), false},
		{Null, KindInt, Null, false},
		{String(""), KindInt, Null, false},
		{Int(2), KindBool, Null, true},
	}
	for i, c := range cases {
		got, err := Cast(c.in, c.to)
		if (err != nil) != c.wantErr {
			t.Errorf("case %d: Cast(%v, %s) err = %v, wantErr %v", i, c.in, c.to, err, c.wantErr)
			continue
		}
		if err == nil && !got.Equal(c.want) {
			t.Errorf("case %d: Cast(%v, %s) = %#v, want %#v", i, c.in, c.to, got, c.want)
		}
	}
}

func TestAppendJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		v    Value
		want string
	}{
		{Null, "null"}, {Bool(true), "true"}, {Int(-3), "-3"}, {Float(0.1), "0.1"},
		{MustDecimal("1.10"), "1.10"}, {String("a\"b\n\x01é"), `"a\"b\n\u0001é"`}, {String("\xff"), `"\ufffd"`},
		{Bytes([]byte{0, 1}), `"AAE="`}, {JSON(`{"a":1}`), `{"a":1}`}, {Float(math.Inf(1)), `"+Inf"`},
	}
	for _, c := range cases {
		if got := string(c.v.AppendJSON(nil)); got != c.want {
			t.Errorf("AppendJSON(%#v) = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestInferrer(t *testing.T) {
	t.Parallel()
	in := NewInferrer([]string{"id", "price", "code", "ok", "day", "at", "name", "empty"}, map[string]Kind{"name": KindJSON})
	in.Observe([]string{"1", "1.5", "007", "true", "2024-01-01", "2024-01-01T10:00:00Z", `"x"`, ""})
	in.Observe([]string{"2", "3", "010", "false", "1969-07-20", "2024-01-01 10:00:00", `"y"`})
	in.Observe([]string{"", "", "", "", "", "", "", ""})
	got := in.Fields()
	want := []Kind{KindInt, KindFloat, KindString, KindBool, KindDate, KindTimestamp, KindJSON, KindString}
	for i, f := range got {
		if f.Kind != want[i] {
			t.Errorf("field %s: kind %s, want %s", f.Name, f.Kind, want[i])
		}
		if !f.Nullable {
			t.Errorf("field %s: not nullable despite empty samples", f.Name)
		}
	}
}

func TestBuilderOneBackingArray(t *testing.T) {
	s := MustSchema(Field{Name: "a", Kind: KindInt}, Field{Name: "b", Kind: KindString})
	b := NewBuilder(s, 3)
	for i := range 3 {
		r := b.Row(int64(i + 1))
		r[0], r[1] = Int(int64(i)), String("x")
	}
	if !b.Full() {
		t.Fatal("builder not full after 3 rows")
	}
	batch := b.Take()
	if batch.Len() != 3 || batch.PosOf(2) != 3 || batch.Get(1, "a").AsInt() != 1 {
		t.Fatalf("unexpected batch %+v", batch)
	}
	if b.Take() != nil {
		t.Fatal("Take after Take returned a batch")
	}
	allocs := testing.AllocsPerRun(100, func() {
		for i := range 3 {
			r := b.Row(int64(i))
			r[0] = Int(1)
		}
		b.Take()
	})
	if allocs > 4 {
		t.Fatalf("filling a batch allocates %v times; want a handful per batch", allocs)
	}
}

func TestSchemaErrors(t *testing.T) {
	t.Parallel()
	if _, err := NewSchema(Field{Name: "a"}, Field{Name: "a"}); err == nil {
		t.Error("duplicate field accepted")
	}
	s := MustSchema(Field{Name: "a"})
	if err := s.Require("a", "b"); err == nil {
		t.Error("Require of a missing field passed")
	}
}

func TestParseBool(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{"true": true, "false": false, "TRUE": true, " False ": false, "t": true, "N": false,
		"yes": true, "off": false, "1": true, "0": false} {
		got, err := ParseBool(in)
		if err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "truee", "2", "tru", "yes!"} {
		if _, err := ParseBool(bad); err == nil {
			t.Errorf("ParseBool(%q) accepted bad input", bad)
		}
	}
}
