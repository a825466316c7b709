package expr

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/record"
)

// FuzzExpression compiles arbitrary expressions against a typed schema and runs them on a row:
// whatever the text, compiling and running return values or errors, never panic.
func FuzzExpression(f *testing.F) {
	for _, s := range []string{`upper(s) + "x"`, `n > 1 && f < 2.5`, `substr(s, n, -1)`, `j.a[5]`, `ts - ts`,
		`date_add(ts, n, "month")`, `regex_extract(s, s, n)`, `1 / 0`, `n % 0`, `[1,2][9]`, `pad(s, 1000000000)`,
		`to_decimal(f, n)`, `coalesce()`, `len(nul)`, `map(1..3, # * n)`, `$env["s"]`, `s[1:0]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 500 {
			return
		}
		s, row := funcEnv(t)
		if err := CheckSyntax(src); err != nil {
			return
		}
		p, err := Compile(src, s)
		if err != nil {
			return
		}
		res, err := p.Run(row)
		if err != nil {
			return
		}
		kind := p.kind
		if !p.known {
			kind = record.KindString
		}
		_, _ = FromResult(res, kind)
	})
}
