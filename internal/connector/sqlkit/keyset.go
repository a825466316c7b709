package sqlkit

import "strings"

// After builds the predicate "row is after the given position" for an ordering by cols (already
// quoted), comparing against placeholders (one per column): a lexicographic comparison written out as
//
//	(c1 > p1 OR (c1 = p1 AND (c2 > p2 OR (c2 = p2 AND c3 > p3))))
//
// which every dialect accepts. ph(i) returns the placeholder for column i; it is called once per use,
// in the order the arguments must be passed: use AfterArgs.
func After(cols []string, ph func(i int) string) string {
	if len(cols) == 0 {
		return "1=1"
	}
	var b strings.Builder
	var rec func(i int)
	rec = func(i int) {
		p := ph(i)
		if i == len(cols)-1 {
			b.WriteString(cols[i] + " > " + p)
			return
		}
		b.WriteString("(" + cols[i] + " > " + p + " OR (" + cols[i] + " = " + ph(i) + " AND ")
		rec(i + 1)
		b.WriteString("))")
	}
	b.WriteString("(")
	rec(0)
	b.WriteString(")")
	return b.String()
}

// AfterArgs returns the arguments for After's placeholders, in order: v1, v1, v2, v2, ..., vn.
func AfterArgs[T any](vals []T) []T {
	if len(vals) == 0 {
		return nil
	}
	out := make([]T, 0, 2*len(vals)-1)
	for i, v := range vals {
		out = append(out, v)
		if i < len(vals)-1 {
			out = append(out, v)
		}
	}
	return out
}

// Numbered returns a placeholder generator for $1, $2, ... (PostgreSQL) or @p1, @p2 ... (SQL Server)
// starting after start.
func Numbered(prefix string, start int) func() string {
	n := start
	return func() string {
		n++
		return prefix + itoa(n)
	}
}

// Question returns a placeholder generator for ? (MySQL).
func Question() func() string { return func() string { return "?" } }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
