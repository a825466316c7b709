package record

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

func checkFloat(t *testing.T, f float64) {
	t.Helper()
	want := strconv.FormatFloat(f, 'g', -1, 64)
	if got := string(appendFloat(nil, f)); got != want {
		t.Fatalf("appendFloat(%v) = %q, want %q (bits %#x)", f, got, want, math.Float64bits(f))
	}
}

func checkTime(t *testing.T, us int64) {
	t.Helper()
	tm := time.UnixMicro(us).UTC()
	want := tm.AppendFormat(nil, "2006-01-02T15:04:05.999999Z07:00")
	if got, ok := appendTimestamp(nil, us); ok && string(got) != string(want) {
		t.Fatalf("appendTimestamp(%d) = %q, want %q", us, got, want)
	} else if !ok && tm.Year() >= 0 && tm.Year() <= 9999 {
		t.Fatalf("appendTimestamp(%d) declined year %d", us, tm.Year())
	}
	days := int64(math.Floor(float64(us) / 86_400_000_000))
	wantD := DateFromDays(days).AsTime().AppendFormat(nil, "2006-01-02")
	if got, ok := appendDate(nil, days); ok && string(got) != string(wantD) {
		t.Fatalf("appendDate(%d) = %q, want %q", days, got, wantD)
	}
}

func TestAppendFloatMatchesStrconv(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 0.2, 0.3, 1.5, 12.34, -12.34, 19.99,
		0.0001, 0.00009999, 1e-4, 999999.999, 999999.9999999999, 1e6, 1e6 - 1, 123456.789, 0.1 + 0.2,
		1.0 / 3, 2.0 / 3, math.Pi, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.NaN(),
		4503599627370496, 4503599627.370496, 0.000123456789012345, 5e-324, 99.95 * 7, 1e-5, 33.33 * 3} {
		checkFloat(t, f)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		// Prices and amounts (few decimals), products of them, and arbitrary bit patterns.
		cents := float64(r.IntN(10_000_000)) / 100
		checkFloat(t, cents)
		checkFloat(t, -cents*float64(r.IntN(50)))
		checkFloat(t, float64(r.IntN(1_000_000))/math.Pow(10, float64(r.IntN(12))))
		checkFloat(t, math.Float64frombits(r.Uint64()))
		checkFloat(t, r.Float64()*math.Pow(10, float64(r.IntN(14)-6)))
	}
}

func TestAppendTimestampMatchesTime(t *testing.T) {
	for _, us := range []int64{0, 1, -1, 999_999, -999_999, 1_000_000, 86_400_000_000 - 1, -86_400_000_000,
		1_700_000_000_123_456, 1_700_000_000_100_000, 253402300799999999, 253402300800000000,
		-62135596800000000, -62167219200000000, -62167219200000001, math.MaxInt64 / 2, math.MinInt64 / 2} {
		checkTime(t, us)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 200_000 {
		checkTime(t, r.Int64N(2*253402300800000000)-253402300800000000)
		checkTime(t, 1_600_000_000_000_000+r.Int64N(400_000_000_000_000)/1_000_000*1_000_000)
	}
}

func FuzzAppendFloat(f *testing.F) {
	for _, x := range []float64{0, 1.25, 19.99, 0.0001, 999999.5, 1e300} {
		f.Add(math.Float64bits(x))
	}
	f.Fuzz(func(t *testing.T, bits uint64) { checkFloat(t, math.Float64frombits(bits)) })
}

func FuzzAppendTimestamp(f *testing.F) {
	f.Add(int64(1_700_000_000_123_456))
	f.Add(int64(-1))
	f.Fuzz(func(t *testing.T, us int64) { checkTime(t, us) })
}

func BenchmarkAppendText(b *testing.B) {
	vals := []Value{Float(19.99), Float(1234.5678), Float(0.1 + 0.2), TimestampMicros(1_700_000_000_123_456),
		DateFromDays(19_000), Int(123456)}
	buf := make([]byte, 0, 64)
	for b.Loop() {
		for _, v := range vals {
			buf = v.AppendJSON(buf[:0])
		}
	}
}

func BenchmarkAppendFloat(b *testing.B) {
	vals := []float64{0.2857, 2.02, 19.99, 0.8571000000000001, 1.7144, 123456.5}
	buf := make([]byte, 0, 64)
	for b.Loop() {
		for _, f := range vals {
			buf = appendFloat(buf[:0], f)
		}
	}
}

func BenchmarkAppendFloatStrconv(b *testing.B) {
	vals := []float64{0.2857, 2.02, 19.99, 0.8571000000000001, 1.7144, 123456.5}
	buf := make([]byte, 0, 64)
	for b.Loop() {
		for _, f := range vals {
			buf = strconv.AppendFloat(buf[:0], f, 'g', -1, 64)
		}
	}
}

// checkJSON compares AppendJSON of a float with encoding/json's encoding of the same float64.
func checkJSON(t *testing.T, f float64) {
	t.Helper()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return // encoding/json refuses them; AppendJSON writes strings (TestFloatJSONNonFinite)
	}
	want, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := Float(f).AppendJSON(nil); string(got) != string(want) {
		t.Fatalf("AppendJSON(%v) = %s, want %s as encoding/json (bits %#x)", f, got, want, math.Float64bits(f))
	}
}

// The NDJSON and JSON writers (and every JSON response) format floats as encoding/json does: plain
// decimals below 1e21, never 3.548482e+06 for 3548482.
func TestFloatJSONMatchesEncodingJSON(t *testing.T) {
	edges := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 3548482, 5552541.819999999, 1e6, 1e6 - 1,
		999999.9999999999, 1e20, 1e21, 1e21 - 65536, 123456789012345678, 9007199254740993, 1 << 50, 1<<50 + 1,
		1e-6, 1e-7, 9.99999e-7, 0.000001234, 1e-4, 1e-5, 5e-324, math.SmallestNonzeroFloat64, math.MaxFloat64,
		-math.MaxFloat64, 1e300, 1e-300, 0.1 + 0.2, 1.0 / 3, math.Pi, -1e-400, 4503599627.370496, 33.33 * 3}
	for _, f := range edges {
		checkJSON(t, f)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		checkJSON(t, math.Float64frombits(r.Uint64())) // every exponent, every mantissa
		checkJSON(t, float64(r.Int64N(1<<53))/pow10[r.IntN(len(pow10))])
		checkJSON(t, math.Round(r.NormFloat64()*1e7)/100) // money-like totals, 3548482.17
	}
}

func TestFloatJSONNonFinite(t *testing.T) {
	for f, want := range map[float64]string{math.Inf(1): `"+Inf"`, math.Inf(-1): `"-Inf"`} {
		if got := string(Float(f).AppendJSON(nil)); got != want {
			t.Errorf("AppendJSON(%v) = %s, want %s", f, got, want)
		}
	}
	if got := string(Float(math.NaN()).AppendJSON(nil)); got != `"NaN"` {
		t.Errorf("AppendJSON(NaN) = %s", got)
	}
}

func FuzzFloatJSON(f *testing.F) {
	for _, s := range []uint64{0, math.Float64bits(3548482), math.Float64bits(1e21), math.Float64bits(1e-7)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, bits uint64) { checkJSON(t, math.Float64frombits(bits)) })
}

func BenchmarkAppendFloatJSON(b *testing.B) {
	fs := []float64{3548482, 5552541.819999999, 12.34, 0.1, 1234567.89}
	var buf []byte
	for i := 0; i < b.N; i++ {
		buf = Float(fs[i%len(fs)]).AppendJSON(buf[:0])
	}
}

// AppendSQLDate and AppendSQLTimestamp write what time's layouts write, in years 0-9999, and decline
// other years and kinds.
func TestAppendSQLDateTime(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(8, 8))
	lo := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()
	us := []int64{0, -1, 1, lo, hi, 1704067201000000, 1704067201500000, 1704067201000001}
	for range 20000 {
		us = append(us, lo+rng.Int64N(hi-lo+1))
	}
	for _, u := range us {
		ts := time.UnixMicro(u).UTC()
		got, ok := AppendSQLTimestamp([]byte("x"), Timestamp(ts))
		if want := "x" + ts.Format("2006-01-02 15:04:05.999999"); !ok || string(got) != want {
			t.Fatalf("AppendSQLTimestamp(%d) = %q, %v; want %q", u, got, ok, want)
		}
		d := Date(ts)
		got, ok = AppendSQLDate([]byte("x"), d)
		if want := "x" + ts.Format("2006-01-02"); !ok || string(got) != want {
			t.Fatalf("AppendSQLDate(%d) = %q, %v; want %q", u, got, ok, want)
		}
	}
	for _, v := range []Value{Timestamp(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), Timestamp(time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)),
		Date(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), String("2024-01-01"), Int(1)} {
		if got, ok := AppendSQLTimestamp([]byte("x"), v); ok || string(got) != "x" {
			t.Errorf("AppendSQLTimestamp(%v) = %q, %v; want declined, dst unchanged", v, got, ok)
		}
		if got, ok := AppendSQLDate([]byte("x"), v); ok || string(got) != "x" {
			t.Errorf("AppendSQLDate(%v) = %q, %v; want declined, dst unchanged", v, got, ok)
		}
	}
}
