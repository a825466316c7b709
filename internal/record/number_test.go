package record

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestParseFloatExact(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in    string
		exact bool
		bad   bool
	}{
		{"0", true, false}, {"-0", true, false}, {"0.000", true, false}, {"0e5", true, false},
		{"0.1", true, false}, {"0.10", true, false}, {"1e-1", true, false}, {"1E+2", true, false},
		{"3548482", true, false}, {"5552541.819999999", true, false}, {"-1.5e3", true, false},
		{"9007199254740992", true, false}, {"1.7976931348623157e308", true, false}, {"5e-324", true, false},
		{"123456789012345678", false, false}, // 1.2345678901234568e17
		{"9007199254740993", false, false},   // 2^53+1
		{"18446744073709551617", false, false},
		{"123456789012345678901234567890", false, false},
		{"1.00000000000000000000001", false, false},
		{"1e-400", false, false}, {"-1e-400", false, false}, {"1e400", false, false}, {"-1e400", false, false},
		{"0.30000000000000004", true, false}, {"0.30000000000000004441", false, false},
		{"1.00000000000000000001e0000000000000000000000", false, false}, {"0e100000000000000000000", true, false},
		{"1e-100000000000000000000", false, false}, {"NaN", true, false}, {"abc", false, true}, {"", false, true},
	}
	for _, c := range cases {
		_, exact, err := ParseFloatExact(c.in)
		if (err != nil) != c.bad || exact != c.exact {
			t.Errorf("ParseFloatExact(%q) = exact %v, err %v; want exact %v, error %v", c.in, exact, err, c.exact, c.bad)
		}
	}
}

// Every float64's shortest text, in any notation, is exact; one more significant digit that changes
// the value is not.
func TestParseFloatExactRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		for _, fm := range []byte{'e', 'f', 'g'} {
			s := strconv.FormatFloat(f, fm, -1, 64)
			got, exact, err := ParseFloatExact(s)
			if err != nil || !exact || got != f {
				t.Fatalf("ParseFloatExact(%q) = %v, %v, %v", s, got, exact, err)
			}
		}
		// The same float's shortest digits followed by ...0001: a different decimal that (mostly)
		// reads back as f, so not exact either way.
		m, e, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
		if !strings.Contains(m, ".") {
			m += "."
		}
		long := m + "000000000000000000001e" + e
		if _, exact, err := ParseFloatExact(long); err != nil || exact {
			t.Fatalf("ParseFloatExact(%q) = exact %v, %v; want inexact", long, exact, err)
		}
	}
}
