package record

import (
	"math"
	"strconv"
)

// Fast text forms for the hot encoders (CSV, NDJSON). Each produces exactly what the general path
// (strconv / time.Time.AppendFormat) produces, and falls back to it outside the cases it handles.

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// appendFloat appends strconv.AppendFloat(dst, f, 'g', -1, 64).
func appendFloat(dst []byte, f float64) []byte {
	if a := math.Abs(f); a >= 1e-4 && a < 1e6 {
		if out, ok := appendShortDecimal(dst, f, a); ok {
			return out
		}
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// AppendFloatText appends f as every file writer writes a float: exactly as encoding/json writes a
// float64 (the shortest text that reads back as f; plain decimals for 1e-6 <= |f| < 1e21: 3548482 and
// 5552541.819999999, not 3.548482e+06; 1e-7 and 1e+21 beyond). NaN and infinities, which JSON cannot
// hold, are NaN, +Inf and -Inf (the JSON writers quote them).
func AppendFloatText(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.AppendFloat(dst, f, 'g', -1, 64)
	}
	return appendFloatJSON(dst, f)
}

// appendFloatJSON appends f as encoding/json writes a float64: the shortest text that reads back as f,
// in plain decimal notation for 1e-6 <= |f| < 1e21 (and zero), in exponent notation with at least one
// exponent digit (1e-7, 1e+21) otherwise. f must be finite.
func appendFloatJSON(dst []byte, f float64) []byte {
	a := math.Abs(f)
	if a == 0 || (a >= 1e-6 && a < 1e21) {
		if out, ok := appendShortDecimal(dst, f, a); ok {
			return out
		}
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
	// e-07 -> e-7, as encoding/json does (positive exponents here have two digits at least: e+21).
	if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
		dst[n-2] = dst[n-1]
		dst = dst[:n-1]
	}
	return dst
}

// appendShortDecimal appends f (|f| = a) in plain decimal notation when f equals m/10^k for an
// integer m < 2^50 with the smallest such k <= 15, and reports whether it did. The decimal m/10^k
// then is the shortest text that reads back as f: no text with fewer decimals does (k is minimal), and
// texts with k decimals are 10^-k apart, more than f's ulp (a·2^-52 < 10^-k/4 as a·10^k < 2^50), so
// only one of them reads back as f. That one is within 1/8 of a·10^k, and the product is computed to
// within 1/16, so rounding the product finds it; the division (exact operands, correctly rounded)
// confirms it. Zero is "0" (or "-0").
func appendShortDecimal(dst []byte, f, a float64) ([]byte, bool) {
	for k := 0; k < len(pow10); k++ {
		p := pow10[k]
		m := math.Round(a * p)
		if m >= 1<<50 {
			break
		}
		if m/p != a {
			continue
		}
		u := uint64(m)
		if math.Signbit(f) {
			dst = append(dst, '-')
		}
		var buf [24]byte
		i := len(buf)
		for j := 0; j < k; j++ {
			i--
			buf[i] = byte('0' + u%10)
			u /= 10
		}
		if k > 0 {
			i--
			buf[i] = '.'
		}
		if u == 0 {
			i--
			buf[i] = '0'
		}
		for u > 0 {
			i--
			buf[i] = byte('0' + u%10)
			u /= 10
		}
		return append(dst, buf[i:]...), true
	}
	return dst, false
}

// appendDate appends days since 1970-01-01 as 2006-01-02 (years 0-9999; others via time).
func appendDate(dst []byte, days int64) ([]byte, bool) {
	y, m, d := civilFromDays(days)
	if y < 0 || y > 9999 {
		return dst, false
	}
	return append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10)), true
}

// appendTimestamp appends microseconds since the epoch as "2006-01-02T15:04:05.999999Z07:00" in UTC
// (years 0-9999; others via time).
func appendTimestamp(dst []byte, us int64) ([]byte, bool) {
	const day = 86_400_000_000
	days := us / day
	rem := us % day
	if rem < 0 {
		rem += day
		days--
	}
	start := len(dst)
	dst, ok := appendDate(dst, days)
	if !ok {
		return dst[:start], false
	}
	sec := rem / 1_000_000
	frac := rem % 1_000_000
	h, mi, s := sec/3600, sec/60%60, sec%60
	dst = append(dst, 'T', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+s/10), byte('0'+s%10))
	if frac != 0 {
		var b [7]byte
		b[0] = '.'
		for i := 6; i >= 1; i-- {
			b[i] = byte('0' + frac%10)
			frac /= 10
		}
		n := 7
		for b[n-1] == '0' {
			n--
		}
		dst = append(dst, b[:n]...)
	}
	return append(dst, 'Z'), true
}

// AppendSQLDate appends a date value as 2006-01-02; ok is false for another kind or a year outside
// 0-9999 (format those with AsTime).
func AppendSQLDate(dst []byte, v Value) ([]byte, bool) {
	if v.k != KindDate {
		return dst, false
	}
	return appendDate(dst, v.n)
}

// AppendSQLTimestamp appends a timestamp value as "2006-01-02 15:04:05.999999" in UTC (the fraction
// without trailing zeros, none when zero), the literal MySQL and MariaDB read; ok is false for another
// kind or a year outside 0-9999 (format those with AsTime).
func AppendSQLTimestamp(dst []byte, v Value) ([]byte, bool) {
	if v.k != KindTimestamp {
		return dst, false
	}
	start := len(dst)
	out, ok := appendTimestamp(dst, v.n)
	if !ok {
		return dst[:start], false
	}
	out[start+10] = ' '           // 2006-01-02T15:04:05 -> 2006-01-02 15:04:05
	return out[:len(out)-1], true // without the Z
}
