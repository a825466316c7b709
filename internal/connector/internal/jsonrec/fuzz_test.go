package jsonrec

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/record"
)

// FuzzNumber: a JSON number is inferred as a kind that reads it without a reject, and the value read
// holds exactly the number written (compared as big rationals), never a rounded one.
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "1", "0.1", "18446744073709551617", "123456789012345678901234567890", "-1e-400",
		"1e400", "1.00000000000000000000001", "9007199254740993", "5552541.819999999", "1E+2", "-0.0e-0", "5e-324"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, num string) {
		if len(num) > 200 || !json.Valid([]byte(num)) {
			return
		}
		num = strings.TrimSpace(num) // the object walker hands values over without surrounding space
		if num[0] != '-' && (num[0] < '0' || num[0] > '9') {
			return // not a number
		}
		inf := NewInferrer()
		if err := inf.Observe([]byte(`{"x":` + num + `}`)); err != nil {
			t.Fatal(err)
		}
		k := inf.Fields(nil)[0].Kind
		want, ok := new(big.Rat).SetString(num)
		if !ok { // big.Rat refuses exponents beyond a million: such a number is a decimal, or zero
			mant, _, _ := strings.Cut(strings.ToLower(num), "e")
			zero := strings.Trim(mant, "-0.") == ""
			if k != record.KindDecimal && !(zero && k == record.KindFloat) {
				t.Fatalf("%s inferred %s", num, k)
			}
			return
		}
		c := NewConverter(record.MustSchema(record.Field{Name: "x", Kind: k, Nullable: true}))
		v, why := c.Value([]byte(num), k)
		if why != "" {
			// Only a decimal with an exponent beyond what decimals expand may be refused, with a reason.
			if k != record.KindDecimal {
				t.Fatalf("%s inferred %s but rejected: %s", num, k, why)
			}
			return
		}
		var got *big.Rat
		switch k {
		case record.KindInt:
			got = new(big.Rat).SetInt64(v.AsInt())
		case record.KindFloat:
			// Exact means the float's shortest text names the same decimal as the input.
			got, _ = new(big.Rat).SetString(strconv.FormatFloat(v.AsFloat(), 'e', -1, 64))
		case record.KindDecimal:
			got, ok = new(big.Rat).SetString(v.Str())
			if !ok {
				t.Fatalf("decimal %q does not read back", v.Str())
			}
		default:
			t.Fatalf("%s inferred %s", num, k)
		}
		if got.Cmp(want) != 0 {
			t.Fatalf("%s read as %s %s, which is %s, not %s", num, k, v.String(), got.RatString(), want.RatString())
		}
		// A float field refuses a number it cannot hold exactly instead of rounding it.
		fv, fwhy := c.Value([]byte(num), record.KindFloat)
		if fwhy == "" {
			back, _ := new(big.Rat).SetString(strconv.FormatFloat(fv.AsFloat(), 'e', -1, 64))
			if back.Cmp(want) != 0 {
				t.Fatalf("%s read into a float as %v: rounded silently", num, fv.AsFloat())
			}
		}
	})
}

// FuzzDuplicateKeys: an object's fields are read with the last value of each key, as encoding/json
// decodes it into a map, and the keys met again are exactly the duplicates.
func FuzzDuplicateKeys(f *testing.F) {
	f.Add([]byte("aab"), []byte{1, 2, 3})
	f.Add([]byte("abcabc"), []byte{9, 8, 7, 6, 5, 4})
	f.Fuzz(func(t *testing.T, keys, vals []byte) {
		if len(keys) == 0 || len(keys) > 64 {
			return
		}
		obj := []byte{'{'}
		count := map[string]int{}
		for i, k := range keys {
			name := string(rune('a' + k%6)) // few names, many repeats; "e" and "f" are outside the schema
			count[name]++
			if i > 0 {
				obj = append(obj, ',')
			}
			v := 0
			if i < len(vals) {
				v = int(vals[i])
			}
			obj = strconv.AppendQuote(obj, name)
			obj = append(obj, ':')
			obj = strconv.AppendInt(obj, int64(v), 10)
		}
		obj = append(obj, '}')
		var want map[string]int64
		if err := json.Unmarshal(obj, &want); err != nil {
			t.Fatal(err)
		}
		s := record.MustSchema(record.Field{Name: "a", Kind: record.KindInt, Nullable: true}, record.Field{Name: "b", Kind: record.KindInt, Nullable: true},
			record.Field{Name: "c", Kind: record.KindInt, Nullable: true}, record.Field{Name: "d", Kind: record.KindInt, Nullable: true})
		c := NewConverter(s)
		for range 2 { // twice: the marks of one object must not leak into the next
			row := make(record.Row, 4)
			if _, why, err := c.Row(obj, row); err != nil || why != "" {
				t.Fatalf("Row(%s): %v %s", obj, err, why)
			}
			for j, fl := range s.Fields {
				w, ok := want[fl.Name]
				if ok != !row[j].IsNull() || (ok && row[j].AsInt() != w) {
					t.Fatalf("Row(%s) %s = %v, want %v (present %v)", obj, fl.Name, row[j], w, ok)
				}
			}
			dups := map[string]int{}
			for _, k := range c.Dups() {
				dups[k]++
			}
			for name, n := range count {
				if dups[name] != n-1 {
					t.Fatalf("Row(%s): key %s met %d times, reported %d duplicates", obj, name, n, dups[name])
				}
			}
		}
	})
}
