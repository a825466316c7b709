package record

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"
)

// daysFromCivil converts a proleptic Gregorian date to days since 1970-01-01 (Howard Hinnant's algorithm).
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

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// canonicalDecimal validates decimal text and returns it canonical: no leading '+', no leading zeros,
// exponent expanded, "-0" as "0". Trailing fractional zeros are kept (they carry scale).
func canonicalDecimal(s string) (string, error) {
	if isCanonicalDecimal(s) {
		return s, nil // the common case (numeric::text, a CSV amount): no copy
	}
	return canonicalizeDecimal(s)
}

// canonicalizeDecimal is canonicalDecimal without the fast path for input already canonical.
func canonicalizeDecimal(s string) (string, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("invalid decimal %q: empty", in)
	}
	neg := false
	switch s[0] {
	case '+':
		s = s[1:]
	case '-':
		neg = true
		s = s[1:]
	}
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e := s[i+1:]
		s = s[:i]
		sign := 1
		if e != "" && (e[0] == '+' || e[0] == '-') {
			if e[0] == '-' {
				sign = -1
			}
			e = e[1:]
		}
		if e == "" || len(e) > 4 {
			return "", fmt.Errorf("invalid decimal %q: bad exponent", in)
		}
		for _, c := range e {
			if c < '0' || c > '9' {
				return "", fmt.Errorf("invalid decimal %q: bad exponent", in)
			}
			exp = exp*10 + int(c-'0')
		}
		exp *= sign
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i+1:]
	}
	if intPart == "" && frac == "" {
		return "", fmt.Errorf("invalid decimal %q: no digits", in)
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return "", fmt.Errorf("invalid decimal %q: unexpected %q", in, part[i])
			}
		}
	}
	if exp > 0 {
		if exp <= len(frac) {
			intPart, frac = intPart+frac[:exp], frac[exp:]
		} else {
			intPart, frac = intPart+frac+strings.Repeat("0", exp-len(frac)), ""
		}
	} else if exp < 0 {
		n := -exp
		if n <= len(intPart) {
			intPart, frac = intPart[:len(intPart)-n], intPart[len(intPart)-n:]+frac
		} else {
			intPart, frac = "", strings.Repeat("0", n-len(intPart))+intPart+frac
		}
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out, nil
}

// isCanonicalDecimal reports whether s is already in canonicalDecimal's form: an optional '-' (not on
// a zero), digits without a leading zero (a lone 0 allowed), and optionally '.' and at least one digit.
func isCanonicalDecimal(s string) bool {
	i, neg := 0, false
	if len(s) > 0 && s[0] == '-' {
		i, neg = 1, true
	}
	start := i
	nonzero := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		nonzero = nonzero || s[i] != '0'
		i++
	}
	if i == start || (s[start] == '0' && i-start > 1) {
		return false // no integer digits, or a leading zero
	}
	if i < len(s) {
		if s[i] != '.' || i+1 == len(s) {
			return false
		}
		for i++; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
			nonzero = nonzero || s[i] != '0'
		}
	}
	return !neg || nonzero
}

func appendBase64(dst []byte, s string) []byte {
	n := base64.StdEncoding.EncodedLen(len(s))
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	base64.StdEncoding.Encode(dst[start:], []byte(s))
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendJSONString appends s as a JSON string literal (escaped; invalid UTF-8 replaced by U+FFFD).
func AppendJSONString(dst []byte, s string) []byte { return appendJSONString(dst, s) }
