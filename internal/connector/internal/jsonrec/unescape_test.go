package jsonrec

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzUnescape checks the string decoder against encoding/json.
func FuzzUnescape(f *testing.F) {
	for _, s := range []string{`"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u65e5"`, `"\ud83c\udf89"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00x"`, `"bad \x"`, `"\u12"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, q []byte) {
		var want string
		if len(q) < 2 || q[0] != '"' || endOfString(q, 0) != len(q) || !utf8.Valid(q) || json.Unmarshal(q, &want) != nil {
			return // only single, valid string tokens, as Walk hands them over
		}
		c := &Converter{}
		c.NewBatch()
		got, why := c.str(q)
		if why != "" || got != want {
			t.Fatalf("str(%s) = %q (%s), encoding/json says %q", q, got, why, want)
		}
	})
}
