package rowkit

import (
	"github.com/dataaggregator/aggregator/internal/record"
)

// Atoi parses a plain decimal integer (optional sign, digits only, no overflow).
func Atoi(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// FastDate parses YYYY-MM-DD.
func FastDate(b []byte) (record.Value, bool) {
	days, ok := parseYMD(b)
	if !ok || len(b) != 10 {
		return record.Null, false
	}
	return record.DateFromDays(days), true
}

func digits(b []byte) (int64, bool) {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

var monthDays = [13]int64{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// parseYMD reads the YYYY-MM-DD at the start of b as days since 1970-01-01.
func parseYMD(b []byte) (int64, bool) {
	if len(b) < 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(b[:4])
	m, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > monthDays[m] {
		return 0, false
	}
	if m == 2 && d == 29 && !(y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

// daysFromCivil converts a proleptic Gregorian date to days since 1970-01-01 (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// FastTimestamp parses YYYY-MM-DDTHH:MM:SS[.ffffff]Z (or a space for T); anything else goes the slow way.
func FastTimestamp(b []byte) (record.Value, bool) {
	n := len(b)
	if n < 20 || b[n-1] != 'Z' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return record.Null, false
	}
	days, ok := parseYMD(b)
	if !ok {
		return record.Null, false
	}
	hh, ok1 := digits(b[11:13])
	mm, ok2 := digits(b[14:16])
	ss, ok3 := digits(b[17:19])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 59 {
		return record.Null, false
	}
	var us int64
	if n > 20 {
		frac := b[19 : n-1]
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 7 {
			return record.Null, false
		}
		f, ok := digits(frac[1:])
		if !ok {
			return record.Null, false
		}
		for range 7 - len(frac) {
			f *= 10
		}
		us = f
	}
	return record.TimestampMicros(((days*24+hh)*60+mm)*60_000_000 + ss*1_000_000 + us), true
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// FastFloat parses a plain decimal ([-+]digits[.digits], at most 15 significant digits) exactly as
// strconv.ParseFloat would: the digits and the power of ten are both exact in a float64, so one
// correctly rounded division gives the correctly rounded result. Anything else reports false.
func FastFloat(b []byte) (float64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var mant uint64
	digits, frac := 0, -1
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if mant != 0 || c != '0' {
				digits++
			}
			mant = mant*10 + uint64(c-'0')
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0 && i > 0 && i < len(b)-1:
			frac = 0
		default:
			return 0, false
		}
		if digits > 15 {
			return 0, false
		}
	}
	f := float64(mant)
	if frac > 0 {
		if frac > 22 {
			return 0, false
		}
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}
