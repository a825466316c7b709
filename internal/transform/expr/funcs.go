package expr

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones for to_timezone, parse_time and cleanse, also where the OS has none
	"unicode/utf8"

	exprlang "github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/google/uuid"

	"github.com/dataaggregator/aggregator/internal/record"
)

// decimalText is exact decimal text returned by to_decimal; an expression whose result has this
// type produces a decimal field.
type decimalText string

var (
	decimalType = reflect.TypeOf(decimalText(""))
	timeType    = reflect.TypeOf(time.Time{})
)

// maxPad bounds pad widths so that a bad argument cannot exhaust memory.
const maxPad = 1 << 16

// maxCachedPatterns bounds the per-program cache of compiled regular expressions.
const maxCachedPatterns = 256

// funcLib is the expression function library. Each compiled program has its own (it caches
// compiled patterns and time zones), so it needs no locking.
type funcLib struct {
	patterns map[string]*regexp.Regexp
	zones    map[string]*time.Location
}

func newFuncLib() *funcLib {
	return &funcLib{patterns: map[string]*regexp.Regexp{}, zones: map[string]*time.Location{}}
}

// FuncDoc describes one expression function, for docs and the UI.
type FuncDoc struct {
	Name      string `json:"name"`
	Signature string `json:"signature"`
	Group     string `json:"group"`
}

type funcDef struct {
	name  string
	group string
	sig   string
	fn    libFunc
	types []any
}

// isFunction reports whether name is an expression function.
func isFunction(name string) bool {
	for _, d := range funcDefs() {
		if d.name == name {
			return true
		}
	}
	return false
}

// Functions lists the expression functions with their signatures.
func Functions() []FuncDoc {
	defs := funcDefs()
	out := make([]FuncDoc, len(defs))
	for i, d := range defs {
		out[i] = FuncDoc{Name: d.name, Signature: d.sig, Group: d.group}
	}
	return out
}

// calleeAlias is the name a function is also registered under when a field has its name: calls are
// renamed to it so that `day(ts)` still calls the function while `day` is the field.
const calleeAlias = "_fn_"

// aliasCalls renames calls of the named functions to their aliases.
type aliasCalls map[string]bool

func (a aliasCalls) Visit(node *ast.Node) {
	if call, ok := (*node).(*ast.CallNode); ok {
		if id, ok := call.Callee.(*ast.IdentifierNode); ok && a[id.Value] {
			id.Value = calleeAlias + id.Value
		}
	}
}

// options registers the functions; shadowed lists function names that are also field names.
func (l *funcLib) options(shadowed aliasCalls) []exprlang.Option {
	defs := funcDefs()
	opts := make([]exprlang.Option, 0, len(defs)+len(shadowed)+1)
	if len(shadowed) > 0 {
		opts = append(opts, exprlang.Patch(shadowed))
	}
	for _, d := range defs {
		d := d
		lo, hi := d.arity()
		fn := func(args ...any) (any, error) {
			if len(args) < lo || (hi >= 0 && len(args) > hi) {
				return nil, fmt.Errorf("%s: %d arguments given (see %s)", d.name, len(args), d.sig)
			}
			out, err := d.fn(l, args)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.name, err)
			}
			return out, nil
		}
		name := d.name
		if shadowed[name] {
			name = calleeAlias + name
		}
		opts = append(opts, exprlang.Function(name, fn, d.types...))
	}
	return opts
}

// arity returns the fewest and most arguments the function's signatures take (most is -1 for a
// variadic function).
func (d funcDef) arity() (lo, hi int) {
	lo = math.MaxInt
	for _, t := range d.types {
		ft := reflect.TypeOf(t).Elem()
		n := ft.NumIn()
		if ft.IsVariadic() {
			lo, hi = min(lo, n-1), -1
			continue
		}
		lo = min(lo, n)
		if hi >= 0 {
			hi = max(hi, n)
		}
	}
	return lo, hi
}

// regexArg lists the functions whose argument at the index is a pattern.
var regexArg = map[string]int{"regex_match": 1, "regex_replace": 1, "regex_extract": 1}

// checkConstPatterns compiles every constant pattern once, at compile time, so that a bad pattern is
// a compile error with its position and a good one is never compiled again.
func (l *funcLib) checkConstPatterns(root ast.Node) error {
	var first error
	ast.Find(root, func(n ast.Node) bool {
		call, ok := n.(*ast.CallNode)
		if !ok || first != nil {
			return false
		}
		id, ok := call.Callee.(*ast.IdentifierNode)
		if !ok {
			return false
		}
		i, ok := regexArg[strings.TrimPrefix(id.Value, calleeAlias)]
		if !ok || i >= len(call.Arguments) {
			return false
		}
		if s, ok := call.Arguments[i].(*ast.StringNode); ok {
			if _, err := l.regex(s.Value); err != nil {
				first = fmt.Errorf("%s: %v", strings.TrimPrefix(id.Value, calleeAlias), err)
			}
		}
		return false
	})
	return first
}

func (l *funcLib) regex(p string) (*regexp.Regexp, error) {
	if re, ok := l.patterns[p]; ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("invalid pattern %q: %v", p, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	if len(l.patterns) < maxCachedPatterns {
		l.patterns[p] = re
	}
	return re, nil
}

func (l *funcLib) zone(name string) (*time.Location, error) {
	if loc, ok := l.zones[name]; ok {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	l.zones[name] = loc
	return loc, nil
}

// TypeName names the type of an expression value for messages: "a string", "an integer", "null".
func TypeName(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case time.Time:
		return "a timestamp"
	case float32, float64:
		return "a float"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "an integer"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", x)
}

func toInt64(x any) (int64, bool) {
	switch t := x.(type) {
	case int:
		return int64(t), true
	case int8:
		return int64(t), true
	case int16:
		return int64(t), true
	case int32:
		return int64(t), true
	case int64:
		return t, true
	case uint:
		return int64(t), t <= math.MaxInt64
	case uint8:
		return int64(t), true
	case uint16:
		return int64(t), true
	case uint32:
		return int64(t), true
	case uint64:
		return int64(t), t <= math.MaxInt64
	case float64:
		if t == math.Trunc(t) && t >= math.MinInt64 && t < math.MaxInt64 {
			return int64(t), true
		}
	case float32:
		f := float64(t)
		if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
			return int64(f), true
		}
	}
	return 0, false
}

func toFloat64(x any) (float64, bool) {
	switch t := x.(type) {
	case float64:
		return t, true
	case float32:
		return float64(t), true
	case decimalText:
		f, err := strconv.ParseFloat(string(t), 64)
		return f, err == nil
	}
	if n, ok := toInt64(x); ok {
		return float64(n), true
	}
	return 0, false
}

func isInteger(x any) bool {
	switch x.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

// strFn, mathFn, datePart and strPred adapt plain Go functions that cannot fail.

func strFn(f func(string) any) libFunc {
	return fn1(argString, func(_ *funcLib, s string) (any, error) { return f(s), nil })
}

func mathFn(f func(float64) float64) libFunc {
	return fn1(argFloat, func(_ *funcLib, x float64) (any, error) { return f(x), nil })
}

func datePart(f func(time.Time) int) libFunc {
	return fn1(argTime, func(_ *funcLib, t time.Time) (any, error) { return int64(f(t)), nil })
}

func strPred(f func(s, t string) bool) libFunc {
	return fn2(argString, argString, func(_ *funcLib, s, t string) (any, error) { return f(s, t), nil })
}

func funcDefs() []funcDef {
	var (
		s1    = new(func(any) string)
		s2    = new(func(any, any) string)
		s3    = new(func(any, any, any) string)
		b2    = new(func(any, any) bool)
		f1    = new(func(any) float64)
		t1    = new(func(any) time.Time)
		t2    = new(func(any, any) time.Time)
		t3    = new(func(any, any, any) time.Time)
		i1    = new(func(any) int64)
		anyN  = new(func(...any) any)
		anyV2 = new(func(any, any) any)
	)
	return []funcDef{
		// strings
		{name: "lower", group: "strings", sig: "lower(s string) string", types: []any{s1},
			fn: strFn(func(s string) any { return strings.ToLower(s) })},
		{name: "upper", group: "strings", sig: "upper(s string) string", types: []any{s1},
			fn: strFn(func(s string) any { return strings.ToUpper(s) })},
		{name: "trim", group: "strings", sig: "trim(s string [, cutset string]) string", types: []any{s1, s2}, fn: fn2(argString, opt(argString), fnTrim)},
		{name: "replace", group: "strings", sig: "replace(s, old, new string) string", types: []any{s3}, fn: fn3(argString, argString, argString, fnReplace)},
		{name: "split", group: "strings", sig: "split(s, sep string) []string", types: []any{new(func(any, any) []any)}, fn: fn2(argString, argString, fnSplit)},
		{name: "substr", group: "strings", sig: "substr(s string, start int [, length int]) string", types: []any{s2, s3}, fn: fn3(argString, argInt, opt(argLength), fnSubstr)},
		{name: "str_contains", group: "strings", sig: "str_contains(s, sub string) bool (the operator form is: s contains sub)", types: []any{b2}, fn: strPred(strings.Contains)},
		{name: "starts_with", group: "strings", sig: "starts_with(s, prefix string) bool", types: []any{b2}, fn: strPred(strings.HasPrefix)},
		{name: "ends_with", group: "strings", sig: "ends_with(s, suffix string) bool", types: []any{b2}, fn: strPred(strings.HasSuffix)},
		{name: "pad_left", group: "strings", sig: "pad_left(s string, width int [, pad string]) string", types: []any{s2, s3}, fn: padFn(true)},
		{name: "pad_right", group: "strings", sig: "pad_right(s string, width int [, pad string]) string", types: []any{s2, s3}, fn: padFn(false)},
		{name: "pad", group: "strings", sig: "pad(s string, width int [, pad string]) string (same as pad_left)", types: []any{s2, s3}, fn: padFn(true)},
		{name: "concat", group: "strings", sig: "concat(x ...any) string", types: []any{new(func(...any) string)}, fn: fnConcat},
		{name: "len", group: "strings", sig: "len(x string|list|object) int", types: []any{i1}, fn: fnLen},
		// math
		{name: "abs", group: "math", sig: "abs(x number) number", types: []any{new(func(int64) int64), new(func(float64) float64), new(func(any) any)}, fn: fnAbs},
		{name: "round", group: "math", sig: "round(x number [, places int]) float", types: []any{f1, new(func(any, any) float64)}, fn: fn2(argFloat, opt(argInt), fnRound)},
		{name: "floor", group: "math", sig: "floor(x number) float", types: []any{f1}, fn: mathFn(math.Floor)},
		{name: "ceil", group: "math", sig: "ceil(x number) float", types: []any{f1}, fn: mathFn(math.Ceil)},
		{name: "min", group: "math", sig: "min(x ...number) number", types: []any{new(func(...int64) int64), new(func(...float64) float64), anyN}, fn: minMax(-1)},
		{name: "max", group: "math", sig: "max(x ...number) number", types: []any{new(func(...int64) int64), new(func(...float64) float64), anyN}, fn: minMax(1)},
		{name: "pow", group: "math", sig: "pow(x, y number) float", types: []any{new(func(any, any) float64)}, fn: fn2(argFloat, argFloat, fnPow)},
		// dates
		{name: "now", group: "dates", sig: "now() timestamp", types: []any{new(func() time.Time)},
			fn: func(*funcLib, []any) (any, error) { return time.Now().UTC(), nil }},
		{name: "parse_date", group: "dates", sig: "parse_date(s string [, layout string [, tz string]]) date", types: []any{t1, t2, t3}, fn: parseFn(true)},
		{name: "parse_time", group: "dates", sig: "parse_time(s string [, layout string [, tz string]]) timestamp", types: []any{t1, t2, t3}, fn: parseFn(false)},
		{name: "format_date", group: "dates", sig: "format_date(t timestamp, layout string [, tz string]) string", types: []any{s2, s3}, fn: fn3(argTime, argString, opt(argZone), fnFormatDate)},
		{name: "date_add", group: "dates", sig: "date_add(t timestamp, n int, unit string) timestamp", types: []any{t3}, fn: fn3(argTime, argInt, argString, fnDateAdd)},
		{name: "date_diff", group: "dates", sig: "date_diff(a, b timestamp, unit string) int", types: []any{new(func(any, any, any) int64)}, fn: fn3(argTime, argTime, argString, fnDateDiff)},
		{name: "to_timezone", group: "dates", sig: "to_timezone(t timestamp, tz string) timestamp", types: []any{t2}, fn: fn2(argTime, argZone, fnToTimezone)},
		{name: "year", group: "dates", sig: "year(t timestamp) int", types: []any{i1}, fn: datePart(func(t time.Time) int { return t.Year() })},
		{name: "month", group: "dates", sig: "month(t timestamp) int", types: []any{i1}, fn: datePart(func(t time.Time) int { return int(t.Month()) })},
		{name: "day", group: "dates", sig: "day(t timestamp) int", types: []any{i1}, fn: datePart(func(t time.Time) int { return t.Day() })},
		{name: "hour", group: "dates", sig: "hour(t timestamp) int", types: []any{i1}, fn: datePart(func(t time.Time) int { return t.Hour() })},
		{name: "weekday", group: "dates", sig: "weekday(t timestamp) int (0 = Sunday)", types: []any{i1}, fn: datePart(func(t time.Time) int { return int(t.Weekday()) })},
		// regular expressions
		{name: "regex_match", group: "regex", sig: "regex_match(s, pattern string) bool (the operator form is: s matches pattern)", types: []any{b2}, fn: fn2(argString, argPattern, fnMatches)},
		{name: "regex_replace", group: "regex", sig: "regex_replace(s, pattern, replacement string) string", types: []any{s3}, fn: fn3(argString, argString, argString, fnRegexReplace)},
		{name: "regex_extract", group: "regex", sig: "regex_extract(s, pattern string [, group int]) string", types: []any{s2, s3}, fn: fn3(argString, argPattern, opt(argInt), fnRegexExtract)},
		// hashing
		{name: "md5", group: "hashing", sig: "md5(s string) string (hex)", types: []any{s1}, fn: strFn(func(s string) any { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) })},
		{name: "sha1", group: "hashing", sig: "sha1(s string) string (hex)", types: []any{s1}, fn: strFn(func(s string) any { h := sha1.Sum([]byte(s)); return hex.EncodeToString(h[:]) })},
		{name: "sha256", group: "hashing", sig: "sha256(s string) string (hex)", types: []any{s1}, fn: strFn(func(s string) any { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) })},
		{name: "hex", group: "hashing", sig: "hex(s string) string", types: []any{s1}, fn: strFn(func(s string) any { return hex.EncodeToString([]byte(s)) })},
		// nulls and ids
		{name: "coalesce", group: "nulls", sig: "coalesce(x ...any) any", types: []any{anyN}, fn: fnCoalesce},
		{name: "if_null", group: "nulls", sig: "if_null(x, default any) any", types: []any{anyV2}, fn: fnCoalesce},
		{name: "uuid", group: "ids", sig: "uuid() string (random, version 4)", types: []any{new(func() string)},
			fn: func(*funcLib, []any) (any, error) { return uuid.NewString(), nil }},
		// conversions
		{name: "to_int", group: "conversions", sig: "to_int(x any) int", types: []any{i1}, fn: fnToInt},
		{name: "to_float", group: "conversions", sig: "to_float(x any) float", types: []any{f1}, fn: fnToFloat},
		{name: "to_string", group: "conversions", sig: "to_string(x any) string", types: []any{s1}, fn: fnToString},
		{name: "to_decimal", group: "conversions", sig: "to_decimal(x any [, scale int]) decimal", types: []any{new(func(any) decimalText), new(func(any, any) decimalText)}, fn: fn2(argDecimal, opt(argInt), fnToDecimal)},
	}
}

func fnTrim(_ *funcLib, s string, cutset optional[string]) (any, error) {
	if !cutset.ok {
		return strings.TrimSpace(s), nil
	}
	return strings.Trim(s, cutset.val), nil
}

func fnReplace(_ *funcLib, s, old, repl string) (any, error) {
	return strings.ReplaceAll(s, old, repl), nil
}

func fnSplit(_ *funcLib, s, sep string) (any, error) {
	parts := strings.Split(s, sep)
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// fnSubstr takes characters (not bytes) from start (0-based; negative counts from the end) for
// length characters (all the rest when absent). Out-of-range bounds are clamped.
func fnSubstr(_ *funcLib, s string, start int64, length optional[int64]) (any, error) {
	runes := []rune(s)
	n := int64(len(runes))
	if start < 0 {
		start = max(n+start, 0)
	}
	if start > n {
		start = n
	}
	end := n
	if length.ok && length.val < n-start {
		end = start + length.val
	}
	return string(runes[start:end]), nil
}

func padFn(left bool) libFunc {
	return fn3(argString, argPadWidth, opt(argPadText), func(_ *funcLib, s string, w int64, padText optional[string]) (any, error) {
		pad := " "
		if padText.ok {
			pad = padText.val
		}
		n := utf8.RuneCountInString(s)
		if int64(n) >= w {
			return s, nil
		}
		var fill strings.Builder
		for missing := int(w) - n; missing > 0; {
			for _, r := range pad {
				if missing == 0 {
					break
				}
				fill.WriteRune(r)
				missing--
			}
		}
		if left {
			return fill.String() + s, nil
		}
		return s + fill.String(), nil
	})
}

// fnConcat joins the text of every argument; null counts as empty.
func fnConcat(_ *funcLib, args []any) (any, error) {
	var b strings.Builder
	for _, a := range args {
		b.WriteString(textOf(a))
	}
	return b.String(), nil
}

func textOf(x any) string {
	switch t := x.(type) {
	case nil:
		return ""
	case string:
		return t
	case decimalText:
		return string(t)
	case []byte:
		return string(t)
	case bool:
		return strconv.FormatBool(t)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(t), 'g', -1, 32)
	case time.Time:
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
			return t.Format(record.DateLayout)
		}
		return t.Format("2006-01-02T15:04:05.999999Z07:00")
	case map[string]any, []any:
		b, err := json.Marshal(t)
		if err != nil {
			return fmt.Sprint(t)
		}
		return string(b)
	}
	if n, ok := toInt64(x); ok {
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprint(x)
}

func fnLen(_ *funcLib, args []any) (any, error) {
	switch t := args[0].(type) {
	case nil:
		return nil, nil
	case string:
		return int64(utf8.RuneCountInString(t)), nil
	case []any:
		return int64(len(t)), nil
	case map[string]any:
		return int64(len(t)), nil
	}
	return nil, fmt.Errorf("argument 1: want a string, list or object, got %s", TypeName(args[0]))
}

func fnAbs(l *funcLib, args []any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	if isInteger(args[0]) {
		n, _ := toInt64(args[0])
		if n == math.MinInt64 {
			return nil, fmt.Errorf("abs(%d) overflows int64", n)
		}
		if n < 0 {
			n = -n
		}
		return n, nil
	}
	f, err := argFloat(l, args, 0)
	if err != nil {
		return nil, err
	}
	return math.Abs(f), nil
}

// fnRound rounds half away from zero to places decimal places (0 when absent; negative rounds to
// tens, hundreds...).
func fnRound(_ *funcLib, x float64, places optional[int64]) (any, error) {
	if !places.ok {
		return math.Round(x), nil
	}
	p := places.val
	if p < -15 || p > 15 {
		return nil, fmt.Errorf("argument 2: places %d is outside -15..15", p)
	}
	// Round through the shortest decimal text so that round(2.675, 2) is 2.68, as written.
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'f', -1, 64))
	if !ok {
		return x, nil // NaN or Inf
	}
	scale := new(big.Rat).SetFloat64(math.Pow10(int(p)))
	if p < 0 {
		scale = new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(-p), nil))
	}
	r.Mul(r, scale)
	txt := r.FloatString(0) // rounds half away from zero
	n, _ := new(big.Rat).SetString(txt)
	n.Quo(n, scale)
	f, _ := n.Float64()
	return f, nil
}

func minMax(sign int) libFunc {
	return func(l *funcLib, args []any) (any, error) {
		if len(args) == 0 {
			return nil, fmt.Errorf("needs at least one argument")
		}
		allInt := true
		var bestI int64
		var bestF float64
		seen := false
		for i, a := range args {
			if a == nil {
				continue
			}
			if isInteger(a) && allInt {
				n, _ := toInt64(a)
				if !seen || (sign < 0 && n < bestI) || (sign > 0 && n > bestI) {
					bestI = n
				}
				bestF = math.NaN()
				seen = true
				continue
			}
			f, err := argFloat(l, args, i)
			if err != nil {
				return nil, err
			}
			if allInt {
				allInt = false
				if seen {
					bestF = float64(bestI)
				}
			}
			if !seen || math.IsNaN(bestF) || (sign < 0 && f < bestF) || (sign > 0 && f > bestF) {
				bestF = f
			}
			seen = true
		}
		if !seen {
			return nil, nil
		}
		if allInt {
			return bestI, nil
		}
		return bestF, nil
	}
}

func fnPow(_ *funcLib, x, y float64) (any, error) {
	return math.Pow(x, y), nil
}

// dateLayouts are tried, in order, by parse_date and parse_time without a layout.
var dateLayouts = []string{
	"2006-01-02", "2006/01/02", "20060102", "02.01.2006", "2 Jan 2006", "Jan 2, 2006", "January 2, 2006",
}

func parseFn(dateOnly bool) libFunc {
	return func(l *funcLib, args []any) (any, error) {
		if anyNil(args, len(args)) {
			return nil, nil
		}
		if t, ok := args[0].(time.Time); ok && len(args) == 1 {
			if dateOnly {
				return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
			}
			return t, nil
		}
		s, err := argString(l, args, 0)
		if err != nil {
			return nil, err
		}
		s = strings.TrimSpace(s)
		loc := time.UTC
		if len(args) > 2 {
			if loc, err = argZone(l, args, 2); err != nil {
				return nil, err
			}
		}
		var t time.Time
		if len(args) > 1 {
			layout, err := argString(l, args, 1)
			if err != nil {
				return nil, err
			}
			if t, err = time.ParseInLocation(layout, s, loc); err != nil {
				return nil, fmt.Errorf("%q does not match layout %q", s, layout)
			}
		} else {
			t, err = ParseAnyTime(s, loc)
			if err != nil {
				return nil, err
			}
		}
		if dateOnly {
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
		}
		return t.UTC(), nil
	}
}

// ParseAnyTime reads s as a timestamp (RFC 3339 and the forms record.ParseTime knows) or a date in
// one of the common layouts, in loc when s carries no zone. parse_date, parse_time and cleanse use it.
func ParseAnyTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := record.ParseTime(s, loc); err == nil {
		return t, nil
	}
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a date or time (give a layout such as \"02/01/2006\")", s)
}

func fnFormatDate(_ *funcLib, t time.Time, layout string, loc optional[*time.Location]) (any, error) {
	if loc.ok {
		t = t.In(loc.val)
	}
	return t.Format(layout), nil
}

func fnDateAdd(_ *funcLib, t time.Time, n int64, unit string) (any, error) {
	if n > 1<<31 || n < -(1<<31) {
		return nil, fmt.Errorf("argument 2: %d is too large", n)
	}
	switch strings.TrimSuffix(strings.ToLower(unit), "s") {
	case "year":
		return t.AddDate(int(n), 0, 0), nil
	case "month":
		return t.AddDate(0, int(n), 0), nil
	case "week":
		return t.AddDate(0, 0, 7*int(n)), nil
	case "day":
		return t.AddDate(0, 0, int(n)), nil
	case "hour":
		return addDuration(t, n, time.Hour, "hours")
	case "minute":
		return addDuration(t, n, time.Minute, "minutes")
	case "second":
		return addDuration(t, n, time.Second, "seconds")
	}
	return nil, fmt.Errorf("argument 3: unknown unit %q (want year, month, week, day, hour, minute or second)", unit)
}

// addDuration adds n units to t, refusing amounts a duration cannot hold (about 292 years).
func addDuration(t time.Time, n int64, unit time.Duration, name string) (any, error) {
	if n > int64(math.MaxInt64/unit) || n < int64(math.MinInt64/unit) {
		return nil, fmt.Errorf("argument 2: %d %s is too far", n, name)
	}
	return t.Add(time.Duration(n) * unit), nil
}

// fnDateDiff returns a - b in whole units (truncated toward zero); months and years count
// calendar months.
func fnDateDiff(_ *funcLib, a, b time.Time, unit string) (any, error) {
	d := a.Sub(b)
	switch strings.TrimSuffix(strings.ToLower(unit), "s") {
	case "year", "month":
		months := int64(a.Year()-b.Year())*12 + int64(a.Month()-b.Month())
		// Do not count a month that is not complete.
		if months > 0 && a.AddDate(0, -int(months), 0).Before(b) {
			months--
		} else if months < 0 && a.AddDate(0, -int(months), 0).After(b) {
			months++
		}
		if strings.HasPrefix(strings.ToLower(unit), "year") {
			return months / 12, nil
		}
		return months, nil
	case "week":
		return int64(d / (7 * 24 * time.Hour)), nil
	case "day":
		return int64(d / (24 * time.Hour)), nil
	case "hour":
		return int64(d / time.Hour), nil
	case "minute":
		return int64(d / time.Minute), nil
	case "second":
		return int64(d / time.Second), nil
	}
	return nil, fmt.Errorf("argument 3: unknown unit %q (want year, month, week, day, hour, minute or second)", unit)
}

func fnToTimezone(_ *funcLib, t time.Time, loc *time.Location) (any, error) {
	return t.In(loc), nil
}

func fnMatches(_ *funcLib, s string, re *regexp.Regexp) (any, error) {
	return re.MatchString(s), nil
}

// fnRegexReplace reads the replacement before it compiles the pattern.
func fnRegexReplace(l *funcLib, s, pattern, repl string) (any, error) {
	re, err := l.regex(pattern)
	if err != nil {
		return nil, err
	}
	return re.ReplaceAllString(s, repl), nil
}

// fnRegexExtract returns the first match (or its numbered group); null when nothing matches.
func fnRegexExtract(_ *funcLib, s string, re *regexp.Regexp, group optional[int64]) (any, error) {
	g := group.val
	if group.ok && (g < 0 || g > int64(re.NumSubexp())) {
		return nil, fmt.Errorf("argument 3: group %d does not exist (the pattern has %d)", g, re.NumSubexp())
	}
	m := re.FindStringSubmatchIndex(s)
	if m == nil || m[2*g] < 0 {
		return nil, nil
	}
	return s[m[2*g]:m[2*g+1]], nil
}

func fnCoalesce(_ *funcLib, args []any) (any, error) {
	for _, a := range args {
		if a != nil {
			return a, nil
		}
	}
	return nil, nil
}

func fnToInt(_ *funcLib, args []any) (any, error) {
	switch t := args[0].(type) {
	case nil:
		return nil, nil
	case bool:
		if t {
			return int64(1), nil
		}
		return int64(0), nil
	case string, decimalText:
		s := strings.TrimSpace(textOf(t))
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return floatToInt(f)
	case float64:
		return floatToInt(t)
	case float32:
		return floatToInt(float64(t))
	case time.Time:
		return t.Unix(), nil
	}
	if n, ok := toInt64(args[0]); ok {
		return n, nil
	}
	return nil, fmt.Errorf("cannot convert %s to an integer", TypeName(args[0]))
}

// floatToInt truncates toward zero.
func floatToInt(f float64) (any, error) {
	if math.IsNaN(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return nil, fmt.Errorf("%v is out of the integer range", f)
	}
	return int64(f), nil
}

func fnToFloat(_ *funcLib, args []any) (any, error) {
	switch t := args[0].(type) {
	case nil:
		return nil, nil
	case bool:
		if t {
			return 1.0, nil
		}
		return 0.0, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", t)
		}
		return f, nil
	}
	if f, ok := toFloat64(args[0]); ok {
		return f, nil
	}
	return nil, fmt.Errorf("cannot convert %s to a float", TypeName(args[0]))
}

func fnToString(_ *funcLib, args []any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	return textOf(args[0]), nil
}

// fnToDecimal converts to exact decimal text; with a scale it rounds half away from zero to that
// many fractional digits.
func fnToDecimal(_ *funcLib, dec string, scale optional[int64]) (any, error) {
	if !scale.ok {
		return decimalText(dec), nil
	}
	if scale.val < 0 || scale.val > 38 {
		return nil, fmt.Errorf("argument 2: scale %d is outside 0..38", scale.val)
	}
	r, ok := new(big.Rat).SetString(dec)
	if !ok {
		return nil, fmt.Errorf("%q is not a decimal", dec)
	}
	return decimalText(r.FloatString(int(scale.val))), nil
}
