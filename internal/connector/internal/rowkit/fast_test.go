package rowkit

import (
	"math"
	"strconv"
	"testing"
)

// FuzzFastFloat: whenever the fast path answers, it answers exactly what strconv.ParseFloat does.
func FuzzFastFloat(f *testing.F) {
	for _, s := range []string{"0", "1.01", "-0.1429", "123456789012345", "0.000000000000000000001", "9007199254740993", "1.", ".5", "+3.25", "-0", "1e5", "0.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := FastFloat([]byte(s))
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("FastFloat(%q) = %v, strconv refuses it: %v", s, got, err)
		}
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("FastFloat(%q) = %v, strconv says %v", s, got, want)
		}
	})
}

func TestFastDateAndTimestamp(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]string{"2024-02-29": "2024-02-29", "1969-12-31": "1969-12-31", "0001-01-01": "0001-01-01", "2023-02-29": "", "2024-04-31": "", "2024-1-01": ""} {
		v, ok := FastDate([]byte(s))
		if (want == "") == ok || (ok && v.String() != want) {
			t.Errorf("FastDate(%q) = %v, %v; want %q", s, v, ok, want)
		}
	}
	for s, want := range map[string]string{"2024-03-01T12:34:56.123456Z": "2024-03-01T12:34:56.123456Z", "1955-11-05 06:15:00Z": "1955-11-05T06:15:00Z",
		"2024-03-01T12:34:56.5Z": "2024-03-01T12:34:56.5Z", "2024-03-01T24:00:00Z": "", "2024-03-01T12:34:56+02:00": "", "2024-03-01T12:34:56.1234567Z": ""} {
		v, ok := FastTimestamp([]byte(s))
		if (want == "") == ok || (ok && v.String() != want) {
			t.Errorf("FastTimestamp(%q) = %v, %v; want %q", s, v, ok, want)
		}
	}
}
