package record

import (
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
