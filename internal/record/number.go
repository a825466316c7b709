package record

import (
	"strconv"
	"strings"
)

// ParseFloatExact parses a decimal number as strconv.ParseFloat does and reports whether the float64
// holds it exactly in the sense readers need: the float reads back as the same decimal digits
// (strconv.FormatFloat(f, 'e', -1, 64) gives the same significant digits and the same power of ten as
// the text, whatever the notation: 0.1, 0.10 and 1e-1 are exact; 1.00000000000000000000001, 1e-400
// (underflow to 0), -1e-400 (-0), 1e400 (overflow) and 9007199254740993 (2^53+1) are not).
// err is set when the text is not a number at all. Text that is not a plain decimal but that
// ParseFloat accepts (NaN, Inf, hexadecimal) is reported exact when it parses without a range error.
func ParseFloatExact(s string) (f float64, exact bool, err error) {
	f, err = strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, false, nil
		}
		return f, false, err
	}
	digits, exp, ok := decimalDigits(s)
	if !ok {
		return f, true, nil
	}
	if f == 0 {
		return f, digits == "", nil
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // [-]d[.ddd]e±XX
	if e[0] == '-' {
		e = e[1:]
	}
	fd, fe, _ := decimalDigits(string(e))
	return f, fd == digits && fe == exp, nil
}

// decimalDigits splits a plain decimal literal ([+-]digits[.digits][e[+-]digits]) into its significant
// digits (no leading or trailing zeros; "" for zero) and exp such that the value is 0.digits × 10^exp.
// ok is false for text of another shape.
func decimalDigits(s string) (digits string, exp int, ok bool) {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	mant := s
	e := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		es := s[i+1:]
		neg := false
		if es != "" && (es[0] == '+' || es[0] == '-') {
			neg = es[0] == '-'
			es = es[1:]
		}
		if es == "" {
			return "", 0, false
		}
		for j := 0; j < len(es); j++ {
			if es[j] < '0' || es[j] > '9' {
				return "", 0, false
			}
			if e < 1<<30 { // saturate: far beyond any float64, and no overflow of exp below
				e = e*10 + int(es[j]-'0')
			}
		}
		if neg {
			e = -e
		}
	}
	intPart, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
	}
	if intPart == "" && frac == "" {
		return "", 0, false
	}
	for _, part := range [2]string{intPart, frac} {
		for j := 0; j < len(part); j++ {
			if part[j] < '0' || part[j] > '9' {
				return "", 0, false
			}
		}
	}
	// value = 0.(intPart frac) × 10^(len(intPart)+e); then drop leading zeros (each lowers the
	// exponent) and trailing zeros.
	all := intPart + frac
	exp = len(intPart) + e
	lead := 0
	for lead < len(all) && all[lead] == '0' {
		lead++
	}
	all = all[lead:]
	exp -= lead
	all = strings.TrimRight(all, "0")
	if all == "" {
		return "", 0, true
	}
	return all, exp, true
}
