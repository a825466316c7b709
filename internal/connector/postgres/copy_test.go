package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/record"
)

func TestAppendCopyValue(t *testing.T) {
	t.Parallel()
	ts := func(s string) record.Value {
		x, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return record.Timestamp(x)
	}
	cases := []struct {
		v    record.Value
		want string
	}{
		{record.Null, `\N`},
		{record.Bool(true), "t"},
		{record.Int(-42), "-42"},
		{record.Float(0.1), "0.1"},
		{record.Float(1e300), "1e+300"},
		{record.MustDecimal("-0.50"), "-0.50"},
		{record.String("a\tb\nc\\d\re"), `a\tb\nc\\d\re`},
		{record.String(`\N`), `\\N`},
		{record.Bytes([]byte{0, 0xff}), `\\x00ff`},
		{record.Date(time.Date(1969, 7, 20, 0, 0, 0, 0, time.UTC)), "1969-07-20"},
		{ts("2024-02-29T23:59:59.000001Z"), "2024-02-29 23:59:59.000001+00"},
		{ts("1955-11-05T06:15:00.12Z"), "1955-11-05 06:15:00.12+00"},
		{ts("0001-01-01T00:00:00Z"), "0001-01-01 00:00:00+00"},
		{ts("1900-01-01T00:00:00Z"), "1900-01-01 00:00:00+00"},
		{record.JSON(`{"a":"x\ty"}`), `{"a":"x\\ty"}`},
	}
	for _, c := range cases {
		if got := string(appendCopyValue(nil, c.v)); got != c.want {
			t.Errorf("appendCopyValue(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	lit, err := jsonToArray(`[1, null, "a \"b\"", [2, 3], true]`)
	if err != nil || lit != `{1,NULL,"a \"b\"",{2,3},true}` {
		t.Errorf("jsonToArray = %s, %v", lit, err)
	}
	if _, err := jsonToArray(`{"a":1}`); err == nil {
		t.Error("an object became an array")
	}
}

func TestAppendNumeric(t *testing.T) {
	t.Parallel()
	// expected: ndigits, weight, sign, dscale, digits (base 10000)
	cases := map[string][]uint16{
		"0":              {0, 0, 0, 0},
		"0.00":           {0, 0, 0, 2},
		"-0.5":           {1, 0xffff, 0x4000, 1, 5000},
		"12345.678":      {3, 1, 0, 3, 1, 2345, 6780},
		"10000":          {1, 1, 0, 0, 1},
		"0.000000000001": {1, 0xfffd, 0, 12, 1},
		"1234567890123456789012345678.0123456789": {10, 6, 0, 10, 1234, 5678, 9012, 3456, 7890, 1234, 5678, 123, 4567, 8900},
	}
	for in, want := range cases {
		b := appendNumeric(nil, in)
		n := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if n != len(b)-4 {
			t.Errorf("%s: length %d, payload %d", in, n, len(b)-4)
		}
		var got []uint16
		for i := 4; i+1 < len(b); i += 2 {
			got = append(got, uint16(b[i])<<8|uint16(b[i+1]))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("appendNumeric(%s) = %v, want %v", in, got, want)
		}
	}
}
