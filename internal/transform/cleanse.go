package transform

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/transform/expr"
)

type cleanseConfig struct {
	Rules []cleanseRule
}

type cleanseRule struct {
	Fields             []string
	Trim               bool
	CollapseWhitespace bool
	Case               string
	NullTokens         []string
	Number             *numberOptions
	Date               *dateOptions
}

type numberOptions struct {
	DecimalSeparator   string
	ThousandsSeparator string
	To                 string
}

type dateOptions struct {
	Layouts  []string
	Timezone string
	To       string
}

var cleanseSpec = configspec.Describe(func(c *cleanseConfig, b *configspec.Builder) {
	configspec.List(b, &c.Rules, "rules", func(r *cleanseRule, b *configspec.Builder) {
		b.Strings(&r.Fields, "fields").Doc("Fields to clean (default: every string field).")
		b.Bool(&r.Trim, "trim").Doc("Remove leading and trailing white space.")
		b.Bool(&r.CollapseWhitespace, "collapse_whitespace").Doc("Replace each run of white space inside the text with one space.")
		b.String(&r.Case, "case").Enum("upper", "lower", "title").Doc("Change the letter case.")
		b.Strings(&r.NullTokens, "null_tokens").
			Doc("Values that mean null, compared after trimming and ignoring case.").
			Example([]any{"", "N/A", "null", "-"})
		configspec.Nested(b, &r.Number, "number", func(n *numberOptions, b *configspec.Builder) {
			b.String(&n.DecimalSeparator, "decimal_separator").Default(".").Enum(".", ",").Doc("The character before the fraction.")
			b.String(&n.ThousandsSeparator, "thousands_separator").Enum(",", ".", " ", "'", "_").Doc("Default: the other of , and .")
			b.String(&n.To, "to").Default("decimal").Enum("decimal", "float", "int").Doc("The type of the cleaned field.")
		}).Doc("Read the text as a number: currency symbols and codes, spaces and thousands separators are removed; (12.50) is -12.50.")
		configspec.Nested(b, &r.Date, "date", func(d *dateOptions, b *configspec.Builder) {
			b.Strings(&d.Layouts, "layouts").
				Doc("Go time layouts tried in order (default: ISO 8601 forms, 2006/01/02, 20060102, 02.01.2006, 2 Jan 2006, Jan 2, 2006).").
				Example([]any{"02/01/2006", "02/01/2006 15:04"})
			b.String(&d.Timezone, "timezone").Default("UTC").Doc("IANA zone for text without an offset (e.g. Europe/Paris).")
			b.String(&d.To, "to").Default("date").Enum("date", "timestamp").Doc("The type of the cleaned field (a timestamp is the instant, kept in UTC).")
		}).Doc("Read the text as a date or timestamp.")
	}).Required().Min(1).
		Doc("Clean-ups applied in order; each names its fields (default: every text field).")
})

func cleanseDefinition() Definition {
	return Definition{
		Spec: Spec{Name: "cleanse", Title: "Cleanse",
			Description: "Trim, change case, collapse white space, turn null tokens into nulls, and normalise numbers and dates.",
			Config:      cleanseSpec, MinInputs: 1, MaxInputs: 1},
		New: newCleanseNode,
	}
}

type cleanOp struct {
	idx      int
	field    string
	trim     bool
	collapse bool
	caser    *cases.Caser
	nulls    map[string]bool
	number   *numberOptions
	numKind  record.Kind
	layouts  []string
	loc      *time.Location
	dateKind record.Kind
}

type cleanseNode struct {
	cfg    cleanseConfig
	schema *record.Schema
	ops    []cleanOp
	keep   []bool
}

func newCleanseNode(raw map[string]any) (Node, error) {
	var c cleanseConfig
	if err := decodeConfig(cleanseSpec, raw, &c); err != nil {
		return nil, err
	}
	var e errs
	for i, r := range c.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		if r.Number != nil && r.Date != nil {
			e.add(path, "number and date cannot both apply to the same fields")
		}
		if r.Number != nil {
			if r.Number.ThousandsSeparator == "" {
				r.Number.ThousandsSeparator = map[string]string{".": ",", ",": "."}[r.Number.DecimalSeparator]
			}
			if r.Number.ThousandsSeparator == r.Number.DecimalSeparator {
				e.add(path+".number.thousands_separator", "is the same as decimal_separator")
			}
		}
		if r.Date != nil {
			if _, err := time.LoadLocation(r.Date.Timezone); err != nil {
				e.add(path+".date.timezone", "unknown time zone %q", r.Date.Timezone)
			}
		}
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	return &cleanseNode{cfg: c}, nil
}

func (n *cleanseNode) Init(inputs []*record.Schema) (*record.Schema, error) {
	if err := singleInput("cleanse", inputs); err != nil {
		return nil, err
	}
	in := inputs[0]
	fields := append([]record.Field(nil), in.Fields...)
	var e errs
	n.ops = n.ops[:0]
	for i, r := range n.cfg.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		names := r.Fields
		if len(names) == 0 {
			for _, f := range fields {
				if f.Kind == record.KindString {
					names = append(names, f.Name)
				}
			}
		}
		for fi, name := range names {
			j := in.Index(name)
			if j < 0 {
				e.add(fmt.Sprintf("%s.fields[%d]", path, fi), "%s", unknownField(name, in))
				continue
			}
			if fields[j].Kind != record.KindString {
				e.add(fmt.Sprintf("%s.fields[%d]", path, fi), "field %q is %s here; cleanse works on text", name, fields[j].Kind)
				continue
			}
			op := cleanOp{idx: j, field: name, trim: r.Trim, collapse: r.CollapseWhitespace}
			switch r.Case {
			case "upper":
				c := cases.Upper(language.Und)
				op.caser = &c
			case "lower":
				c := cases.Lower(language.Und)
				op.caser = &c
			case "title":
				c := cases.Title(language.Und)
				op.caser = &c
			}
			if len(r.NullTokens) > 0 {
				op.nulls = map[string]bool{}
				for _, t := range r.NullTokens {
					op.nulls[strings.ToLower(strings.TrimSpace(t))] = true
				}
			}
			if r.Number != nil {
				op.number = r.Number
				op.numKind, _ = record.ParseKind(r.Number.To)
				fields[j].Kind = op.numKind
			}
			if r.Date != nil {
				op.layouts = r.Date.Layouts
				op.loc, _ = time.LoadLocation(r.Date.Timezone)
				op.dateKind, _ = record.ParseKind(r.Date.To)
				fields[j].Kind = op.dateKind
			}
			n.ops = append(n.ops, op)
		}
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	s, err := record.NewSchema(fields...)
	if err != nil {
		return nil, fmt.Errorf("cleanse: %w", err)
	}
	n.schema = s
	return s, nil
}

func (n *cleanseNode) Process(_ context.Context, _ int, in *record.Batch, out Output) error {
	if cap(n.keep) < len(in.Rows) {
		n.keep = make([]bool, len(in.Rows))
	}
	keep := n.keep[:len(in.Rows)]
	removed := false
	for i, row := range in.Rows {
		keep[i] = true
		for k := range n.ops {
			op := &n.ops[k]
			v, err := op.apply(row[op.idx])
			if err != nil {
				keep[i], removed = false, true
				if err := rejectRow(out, in, i, op.field, "cleanse: "+err.Error()); err != nil {
					return err
				}
				break
			}
			row[op.idx] = v
		}
	}
	if removed {
		compact(in, keep)
	}
	return emitInPlace(out, in, n.schema)
}

func (op *cleanOp) apply(v record.Value) (record.Value, error) {
	if v.Kind() != record.KindString {
		return v, nil // null, or already converted by an earlier rule
	}
	s := v.Str()
	if op.nulls != nil && op.nulls[strings.ToLower(strings.TrimSpace(s))] {
		return record.Null, nil
	}
	if op.trim {
		s = strings.TrimSpace(s)
	}
	if op.collapse {
		s = collapseSpaces(s)
	}
	if op.caser != nil {
		s = op.caser.String(s)
	}
	switch {
	case op.number != nil:
		return normaliseNumber(s, op.number, op.numKind)
	case op.dateKind != record.KindNull:
		return normaliseDate(s, op.layouts, op.loc, op.dateKind)
	}
	if s == v.Str() {
		return v, nil
	}
	return record.String(s), nil
}

func collapseSpaces(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) && r != ' ' }) && !strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// normaliseNumber reads "$1,234.50", "1.234,50 EUR", "(12.50)", "12 %" and the like.
func normaliseNumber(s string, o *numberOptions, k record.Kind) (record.Value, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return record.Null, nil
	}
	neg := false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg, s = true, s[1:len(s)-1]
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case string(r) == o.DecimalSeparator:
			b.WriteByte('.')
		case string(r) == o.ThousandsSeparator, unicode.IsSpace(r), unicode.Is(unicode.Sc, r), r == '%':
		case r == '-' || r == '+':
			if b.Len() > 0 && i != len(s)-1 {
				return record.Null, fmt.Errorf("%q is not a number", orig)
			}
			if r == '-' {
				neg = !neg
			}
		case unicode.IsLetter(r) && r < 128:
			// currency codes such as USD or EUR
		default:
			return record.Null, fmt.Errorf("%q is not a number (unexpected %q)", orig, r)
		}
	}
	digits := b.String()
	if strings.Count(digits, ".") > 1 || strings.Trim(digits, ".") == "" {
		return record.Null, fmt.Errorf("%q is not a number", orig)
	}
	if letters := strings.IndexFunc(s, unicode.IsLetter); letters >= 0 {
		word := strings.TrimFunc(strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) {
				return r
			}
			return ' '
		}, s), unicode.IsSpace)
		for _, w := range strings.Fields(word) {
			if len(w) != 3 || strings.ToUpper(w) != w {
				return record.Null, fmt.Errorf("%q is not a number (unexpected %q)", orig, w)
			}
		}
	}
	if neg {
		digits = "-" + digits
	}
	switch k {
	case record.KindInt:
		i, err := strconv.ParseInt(strings.TrimSuffix(digits, "."), 10, 64)
		if err != nil {
			return record.Null, fmt.Errorf("%q is not a whole number in the int range", orig)
		}
		return record.Int(i), nil
	case record.KindFloat:
		f, err := strconv.ParseFloat(digits, 64)
		if err != nil {
			return record.Null, fmt.Errorf("%q is not a number", orig)
		}
		return record.Float(f), nil
	}
	v, err := record.Decimal(digits)
	if err != nil {
		return record.Null, fmt.Errorf("%q is not a number", orig)
	}
	return v, nil
}

func normaliseDate(s string, layouts []string, loc *time.Location, k record.Kind) (record.Value, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return record.Null, nil
	}
	var t time.Time
	var err error
	if len(layouts) == 0 {
		t, err = expr.ParseAnyTime(s, loc)
	} else {
		err = fmt.Errorf("%q matches none of the layouts %s", s, strings.Join(layouts, ", "))
		for _, l := range layouts {
			if tt, perr := time.ParseInLocation(l, s, loc); perr == nil {
				t, err = tt, nil
				break
			}
		}
	}
	if err != nil {
		return record.Null, err
	}
	if k == record.KindDate {
		return record.Date(t), nil
	}
	return record.Timestamp(t), nil
}

func (n *cleanseNode) Flush(context.Context, Output) error { return nil }
