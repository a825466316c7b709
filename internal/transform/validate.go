package transform

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/transform/expr"
)

type validateConfig struct {
	Rules []validateRule
}

type validateRule struct {
	Field      string
	Required   bool
	Type       string
	Regex      string
	Min        any
	Max        any
	Enum       []any
	MinLength  *int
	MaxLength  *int
	Unique     bool
	Expression string
	Action     string
	Message    string
}

var validateSpec = configspec.Describe(func(c *validateConfig, b *configspec.Builder) {
	configspec.List(b, &c.Rules, "rules", func(r *validateRule, b *configspec.Builder) {
		b.String(&r.Field, "field").Doc("The field checked (optional for an expression rule).")
		b.Bool(&r.Required, "required").Doc("The field must not be null (or empty text).")
		b.String(&r.Type, "type").Enum(kindEnum()...).Doc("The value must be of this type, or text that reads as it.")
		b.String(&r.Regex, "regex").Doc("Text must match this regular expression (RE2 syntax; anchor it with ^...$ for a full match).")
		b.Any(&r.Min, "min").Doc("Smallest allowed value (a number, or a date/timestamp text for date fields).")
		b.Any(&r.Max, "max").Doc("Largest allowed value.")
		b.AnyList(&r.Enum, "enum").Doc("Allowed values (compared as text).")
		b.IntPtr(&r.MinLength, "min_length").Min(0).Doc("Fewest characters.")
		b.IntPtr(&r.MaxLength, "max_length").Min(0).Doc("Most characters.")
		b.Bool(&r.Unique, "unique").Doc("No two rows of the run have the same value (a hash per distinct value is held).")
		b.String(&r.Expression, "expression").Doc("A boolean expression that must be true.")
		b.String(&r.Action, "action").Default("dead_letter").Enum("dead_letter", "drop", "fail").
			Doc("dead_letter: reject the row with the field and reason; drop: discard it (counted as dropped); fail: stop the run.")
		b.String(&r.Message, "message").Doc("Reason given instead of the generated one.")
	}).Required().Min(1).
		Doc("Checks applied to every row, in order. A rule may combine several checks on one field; the first that fails decides.")
})

func validateDefinition() Definition {
	return Definition{
		Spec: Spec{Name: "validate", Title: "Validate",
			Description: "Check rows against rules (required, type, regex, range, enum, length, unique, expression); per rule, dead-letter, drop or fail.",
			Config:      validateSpec, MinInputs: 1, MaxInputs: 1},
		New: newValidateNode,
	}
}

func newValidateNode(raw map[string]any) (Node, error) {
	var c validateConfig
	if err := decodeConfig(validateSpec, raw, &c); err != nil {
		return nil, err
	}
	var e errs
	for i, r := range c.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		if r.Action == "" {
			c.Rules[i].Action = "dead_letter"
		}
		if r.Field == "" && r.Expression == "" {
			e.add(path+".field", "required (unless the rule is an expression)")
		}
		if r.Field != "" && !r.Required && r.Type == "" && r.Regex == "" && r.Min == nil && r.Max == nil &&
			len(r.Enum) == 0 && r.MinLength == nil && r.MaxLength == nil && !r.Unique && r.Expression == "" {
			e.add(path, "has no check (set required, type, regex, min, max, enum, min_length, max_length, unique or expression)")
		}
		if r.Regex != "" {
			if _, err := regexp.Compile(r.Regex); err != nil {
				e.add(path+".regex", "invalid regular expression: %v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			}
		}
		if r.Expression != "" {
			if err := expr.CheckSyntax(r.Expression); err != nil {
				e.add(path+".expression", "%v", err)
			}
		}
		if r.MinLength != nil && r.MaxLength != nil && *r.MinLength > *r.MaxLength {
			e.add(path+".min_length", "is above max_length")
		}
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	return &validateNode{cfg: c}, nil
}

// check is one compiled check of a rule.
type check struct {
	rule   int
	name   string // required, type, regex, range, enum, length, unique, expression
	field  string
	idx    int // -1 for expression rules without a field
	action string
	msg    string

	kind     record.Kind
	re       *regexp.Regexp
	min, max record.Value
	numeric  bool // min/max compare numbers
	enum     map[string]bool
	minLen   int
	maxLen   int
	hasMin   bool
	hasMax   bool
	hasher   *keyHasher
	seen     *hashSet
	prog     *expr.Program
}

type validateNode struct {
	cfg    validateConfig
	schema *record.Schema
	checks []check
	keep   []bool
}

// Stateful when a rule checks uniqueness across the run.
func (n *validateNode) Stateful() bool {
	for _, r := range n.cfg.Rules {
		if r.Unique {
			return true
		}
	}
	return false
}

func (n *validateNode) Init(inputs []*record.Schema) (*record.Schema, error) {
	if err := singleInput("validate", inputs); err != nil {
		return nil, err
	}
	in := inputs[0]
	var e errs
	n.checks = n.checks[:0]
	for i, r := range n.cfg.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		base := check{rule: i, field: r.Field, idx: -1, action: r.Action, msg: r.Message}
		var fk record.Kind
		if r.Field != "" {
			base.idx = in.Index(r.Field)
			if base.idx < 0 {
				e.add(path+".field", "%s", unknownField(r.Field, in))
				continue
			}
			fk = in.Fields[base.idx].Kind
		}
		add := func(name string, f func(c *check) error) {
			c := base
			c.name = name
			if err := f(&c); err != nil {
				e.add(path, "%v", err)
				return
			}
			n.checks = append(n.checks, c)
		}
		if r.Required {
			add("required", func(*check) error { return nil })
		}
		if r.Type != "" {
			add("type", func(c *check) (err error) { c.kind, err = record.ParseKind(r.Type); return })
		}
		if r.Regex != "" {
			add("regex", func(c *check) (err error) { c.re, err = regexp.Compile(r.Regex); return })
		}
		if r.Min != nil || r.Max != nil {
			add("range", func(c *check) error { return rangeBounds(c, r.Min, r.Max, fk) })
		}
		if len(r.Enum) > 0 {
			add("enum", func(c *check) error {
				c.enum = make(map[string]bool, len(r.Enum))
				for _, x := range r.Enum {
					v, err := valueFromJSON(x, record.KindNull)
					if err != nil {
						return fmt.Errorf("enum: %w", err)
					}
					c.enum[v.String()] = true
				}
				return nil
			})
		}
		if r.MinLength != nil || r.MaxLength != nil {
			add("length", func(c *check) error {
				if r.MinLength != nil {
					c.minLen, c.hasMin = *r.MinLength, true
				}
				if r.MaxLength != nil {
					c.maxLen, c.hasMax = *r.MaxLength, true
				}
				return nil
			})
		}
		if r.Unique {
			add("unique", func(c *check) error {
				c.hasher, c.seen = newKeyHasher([]int{c.idx}), &hashSet{}
				return nil
			})
		}
		if r.Expression != "" {
			p, err := expr.Compile(r.Expression, in)
			if err != nil {
				e.add(path+".expression", "%v", err)
				continue
			}
			if kind, known := p.Kind(); known && kind != record.KindBool {
				e.add(path+".expression", "must be a boolean, but it is %s", kind)
				continue
			}
			add("expression", func(c *check) error { c.prog = p; return nil })
		}
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	n.schema = in
	return in, nil
}

func rangeBounds(c *check, lo, hi any, fk record.Kind) error {
	conv := func(x any) (record.Value, error) {
		switch fk {
		case record.KindDate, record.KindTimestamp:
			s, ok := x.(string)
			if !ok {
				return record.Null, fmt.Errorf("min and max of a %s field must be text such as \"2024-01-31\"", fk)
			}
			return record.Parse(s, fk)
		}
		v, err := valueFromJSON(x, record.KindNull)
		if err != nil {
			return record.Null, err
		}
		switch v.Kind() {
		case record.KindInt, record.KindFloat:
			c.numeric = true
			return v, nil
		case record.KindString:
			if f, err := strconv.ParseFloat(v.Str(), 64); err == nil {
				c.numeric = true
				return record.Float(f), nil
			}
			if fk == record.KindInt || fk == record.KindFloat || fk == record.KindDecimal {
				return record.Null, fmt.Errorf("%q is not a number, but the field is %s", v.Str(), fk)
			}
			return v, nil
		}
		return record.Null, fmt.Errorf("min and max must be numbers or text, got %v", x)
	}
	var err error
	if lo != nil {
		if c.min, err = conv(lo); err != nil {
			return fmt.Errorf("min: %w", err)
		}
		c.hasMin = true
	}
	if hi != nil {
		if c.max, err = conv(hi); err != nil {
			return fmt.Errorf("max: %w", err)
		}
		c.hasMax = true
	}
	return nil
}

// run returns "" when the check passes, else the reason.
func (c *check) run(row record.Row) string {
	var v record.Value
	if c.idx >= 0 {
		v = row[c.idx]
	}
	if c.name == "required" {
		if v.IsNull() || (v.Kind() == record.KindString && strings.TrimSpace(v.Str()) == "") {
			return "required"
		}
		return ""
	}
	if c.name != "expression" && v.IsNull() {
		return "" // only required looks at nulls
	}
	switch c.name {
	case "type":
		if v.Kind() == c.kind || (c.kind == record.KindFloat || c.kind == record.KindDecimal) && v.Kind() == record.KindInt {
			return ""
		}
		if v.Kind() == record.KindString {
			if _, err := record.Parse(v.Str(), c.kind); err == nil {
				return ""
			}
		}
		return fmt.Sprintf("type: %s is not %s", quoteValue(v), c.kind)
	case "regex":
		s := v.String()
		if c.re.MatchString(s) {
			return ""
		}
		return fmt.Sprintf("regex: %s does not match %s", quoteValue(v), c.re)
	case "range":
		x := v
		if c.numeric && v.Kind() == record.KindString {
			f, err := strconv.ParseFloat(strings.TrimSpace(v.Str()), 64)
			if err != nil {
				return fmt.Sprintf("range: %s is not a number", quoteValue(v))
			}
			x = record.Float(f)
		}
		if c.hasMin && record.Compare(x, c.min) < 0 {
			return fmt.Sprintf("range: %s is below the minimum %s", v.String(), c.min.String())
		}
		if c.hasMax && record.Compare(x, c.max) > 0 {
			return fmt.Sprintf("range: %s is above the maximum %s", v.String(), c.max.String())
		}
		return ""
	case "enum":
		if c.enum[v.String()] {
			return ""
		}
		return fmt.Sprintf("enum: %s is not one of the allowed values", quoteValue(v))
	case "length":
		l := utf8.RuneCountInString(v.String())
		if c.hasMin && l < c.minLen {
			return fmt.Sprintf("length: %d characters, fewer than %d", l, c.minLen)
		}
		if c.hasMax && l > c.maxLen {
			return fmt.Sprintf("length: %d characters, more than %d", l, c.maxLen)
		}
		return ""
	case "unique":
		if !c.seen.Add(c.hasher.sum(row)) {
			return fmt.Sprintf("unique: %s already appeared earlier in the run", quoteValue(v))
		}
		return ""
	case "expression":
		res, err := c.prog.Run(row)
		if err != nil {
			return "expression: " + err.Error()
		}
		if b, ok := res.(bool); ok && b {
			return ""
		}
		return fmt.Sprintf("expression: %s is not true", c.prog.Source())
	}
	return ""
}

func quoteValue(v record.Value) string {
	b, _ := json.Marshal(v.String())
	return string(b)
}

func (n *validateNode) Process(_ context.Context, _ int, in *record.Batch, out Output) error {
	if cap(n.keep) < len(in.Rows) {
		n.keep = make([]bool, len(in.Rows))
	}
	keep := n.keep[:len(in.Rows)]
	var dropped int64
	removed := false
	for i, row := range in.Rows {
		keep[i] = true
		for ci := range n.checks {
			c := &n.checks[ci]
			reason := c.run(row)
			if reason == "" {
				continue
			}
			if c.msg != "" {
				reason = c.msg
			}
			switch c.action {
			case "fail":
				where := fmt.Sprintf("row %d", in.PosOf(i))
				if in.PosOf(i) == 0 {
					where = fmt.Sprintf("row %d of a batch", i+1)
				}
				field := ""
				if c.field != "" {
					field = fmt.Sprintf(" field %q", c.field)
				}
				return fmt.Errorf("validate: %s%s failed rules[%d] (%s): %s", where, field, c.rule, c.name, reason)
			case "drop":
				dropped++
			default:
				if err := rejectRow(out, in, i, c.field, "validate: "+reason); err != nil {
					return err
				}
			}
			keep[i] = false
			removed = true
			break
		}
	}
	if dropped > 0 {
		out.Count(Dropped, dropped)
	}
	if removed {
		compact(in, keep)
	}
	return emitInPlace(out, in, n.schema)
}

func (n *validateNode) Flush(context.Context, Output) error { return nil }
