package record

import (
	"math"
	"strconv"
)

// Fast text forms for the hot encoders (CSV, NDJSON). Each produces exactly what the general path
// (strconv / time.Time.AppendFormat) produces, and falls back to it outside the cases it handles.

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// appendFloat appends strconv.AppendFloat(dst, f, 'g', -1, 64).
//
// Fast path: 1e-4 <= |f| < 1e6 (where 'g' uses plain decimal notation) and f equal to m/10^k for an
// integer |m| < 2^50 with the smallest such k. The decimal m/10^k then is the shortest text that
// reads back as f: no text with fewer decimals does (k is minimal), and texts with k decimals are
// 10^-k apart, more than f's ulp (|f|·2^-52 < 10^-k/4), so only one of them reads back as f. That
// one is within 1/8 of |f|·10^k, and the product is computed to within 1/16, so rounding the
// product finds it; the division (exact operands, correctly rounded) confirms it.
func appendFloat(dst []byte, f float64) []byte {
	a := math.Abs(f)
	if !(a >= 1e-4 && a < 1e6) {
		return strconv.AppendFloat(dst, f, 'g', -1, 64)
	}
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
		if f < 0 {
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
		return append(dst, buf[i:]...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
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
