package configspec

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Type is a parameter's JSON type.
type Type string

// Parameter types.
const (
	String  Type = "string"
	Integer Type = "integer"
	Number  Type = "number"
	Boolean Type = "boolean"
	Array   Type = "array"
	Object  Type = "object"
	// Any accepts any JSON value (used for free-form maps such as a lookup's static table).
	Any Type = "any"
)

// Param is one configuration parameter.
type Param struct {
	Name        string
	Type        Type
	Description string
	Required    bool
	// Secret marks a credential: the API never returns it, logs never show it, the UI draws a password field.
	Secret bool
	// PerPipeline marks a parameter that names what to read or write, or how (a table, a query, a
	// batch size), as opposed to where to connect and as whom: a pipeline that uses a saved
	// connector may set it beside `connector:`. Connection settings and secrets never are, so a
	// pipeline cannot send a saved connector's credentials to another address.
	PerPipeline bool
	Default     any
	Enum        []string
	// Pattern is a regular expression a string must match.
	Pattern string
	Min     *float64
	Max     *float64
	// Items describes array elements; Fields describes an object's keys (nil: any keys of type Items or any).
	Items  *Param
	Fields []Param
	// Examples are shown in docs and the UI.
	Examples []any
	// Variants make an object with Fields a tagged union: the string field named Discriminator (one
	// of Fields) picks the variant, and only that variant's fields may be given (the JSON Schema is a
	// oneOf). Fields stays the union of every variant's fields, so that secrets are found, split and
	// redacted at their paths whatever the variant.
	Variants      []Variant
	Discriminator string
}

// Variant is one shape of a tagged-union object: the fields it uses when its discriminator has Value.
type Variant struct {
	Value string
	Title string
	// Fields names the parameters (of the object's Fields) the variant uses, besides the
	// discriminator; Required those of them that it requires.
	Fields   []string
	Required []string
}

// Spec is a component's configuration: its parameters, in the order forms show them. Build it with
// Describe, which binds each parameter to a field of the component's config type, so that the one
// description also decodes.
type Spec struct {
	Params []Param
	// bind returns a Builder whose setters fill dst (nil: a Spec written as a bare Param list).
	bind func(dst any) (*Builder, error)
}

// Ptr returns a pointer to f, for Min and Max.
func Ptr(f float64) *float64 { return &f }

// FieldError is one problem with a configuration, at a path such as "fields[2].to".
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// Errors is every problem found; it is an error when not empty.
type Errors []FieldError

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Prefix returns the errors with prefix joined before each path ("sources[0].config").
func (es Errors) Prefix(prefix string) Errors {
	out := make(Errors, len(es))
	for i, e := range es {
		out[i] = FieldError{Path: JoinPath(prefix, e.Path), Message: e.Message}
	}
	return out
}

// Err returns nil for no errors, the Errors otherwise.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// JoinPath joins path segments: JoinPath("a", "b") is "a.b", JoinPath("a", "[0]") is "a[0]".
func JoinPath(prefix, p string) string {
	switch {
	case prefix == "":
		return p
	case p == "":
		return prefix
	case strings.HasPrefix(p, "["):
		return prefix + p
	}
	return prefix + "." + p
}

// Validate checks raw config against the spec and returns every problem (nil if none).
func (s Spec) Validate(raw map[string]any) Errors {
	var errs Errors
	validateObject(s.Params, raw, "", &errs, true)
	return errs
}

// Decode validates raw (every problem, with its path; unknown keys are errors), then fills dst, a
// pointer to the config type the Spec was described from, taking each missing parameter's default.
// A Spec that Describe did not build (a bare Param list) validates but cannot decode.
func (s Spec) Decode(raw map[string]any, dst any) error {
	if errs := s.Validate(raw); len(errs) > 0 {
		return errs
	}
	if s.bind == nil {
		return fmt.Errorf("configspec: cannot decode into %T: the spec binds no fields (build it with Describe)", dst)
	}
	b, err := s.bind(dst)
	if err != nil {
		return err
	}
	var errs Errors
	b.decode(raw, "", &errs)
	return errs.Err()
}

// WithDefaults returns a copy of raw with each missing top-level parameter that has a default set to it.
func (s Spec) WithDefaults(raw map[string]any) map[string]any {
	out := make(map[string]any, len(raw)+len(s.Params))
	for k, v := range raw {
		out[k] = v
	}
	for _, p := range s.Params {
		if _, ok := out[p.Name]; !ok && p.Default != nil {
			out[p.Name] = p.Default
		}
	}
	return out
}

// EachString calls fn with every string in v, a value decoded from JSON or YAML (maps and lists
// are walked, depth first).
func EachString(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case map[string]any:
		for _, e := range x {
			EachString(e, fn)
		}
	case []any:
		for _, e := range x {
			EachString(e, fn)
		}
	}
}

// Redacted is what a secret value is replaced with.
const Redacted = "********"

// Redact returns a copy of raw with every secret parameter's value replaced by Redacted.
func (s Spec) Redact(raw map[string]any) map[string]any {
	return redactObject(s.Params, raw)
}

// SecretNames returns the names of secret top-level parameters.
func (s Spec) SecretNames() []string {
	var out []string
	for _, p := range s.Params {
		if p.Secret {
			out = append(out, p.Name)
		}
	}
	return out
}

// PerPipelineNames returns the names of the top-level parameters marked PerPipeline.
func (s Spec) PerPipelineNames() []string {
	var out []string
	for _, p := range s.Params {
		if p.PerPipeline {
			out = append(out, p.Name)
		}
	}
	return out
}

// SecretPaths returns the dotted paths of every secret parameter, in nested objects too
// ("password", "auth.client_secret"), in declaration order.
func (s Spec) SecretPaths() []string {
	var out []string
	var walk func(prefix string, ps []Param)
	walk = func(prefix string, ps []Param) {
		for _, p := range ps {
			switch {
			case p.Secret:
				out = append(out, JoinPath(prefix, p.Name))
			case p.Type == Object && len(p.Fields) > 0:
				walk(JoinPath(prefix, p.Name), p.Fields)
			}
		}
	}
	walk("", s.Params)
	return out
}

// ParamAt returns the parameter at a dotted path ("auth.refresh_token") through nested objects.
func (s Spec) ParamAt(path string) (Param, bool) {
	ps := s.Params
	parts := strings.Split(path, ".")
	for i, name := range parts {
		j := slices.IndexFunc(ps, func(p Param) bool { return p.Name == name })
		if j < 0 {
			return Param{}, false
		}
		if i == len(parts)-1 {
			return ps[j], true
		}
		ps = ps[j].Fields
	}
	return Param{}, false
}

// ValueAt returns the value at a dotted path of a raw config, through nested objects.
func ValueAt(raw map[string]any, path string) (any, bool) {
	parts := strings.Split(path, ".")
	for _, name := range parts[:len(parts)-1] {
		m, ok := raw[name].(map[string]any)
		if !ok {
			return nil, false
		}
		raw = m
	}
	v, ok := raw[parts[len(parts)-1]]
	return v, ok
}

// SetValueAt sets the value at a dotted path of a raw config, creating the nested objects it goes
// through; it returns false when a value on the way is not an object.
func SetValueAt(raw map[string]any, path string, v any) bool {
	parts := strings.Split(path, ".")
	for _, name := range parts[:len(parts)-1] {
		next, ok := raw[name]
		if !ok || next == nil {
			next = map[string]any{}
			raw[name] = next
		}
		m, ok := next.(map[string]any)
		if !ok {
			return false
		}
		raw = m
	}
	raw[parts[len(parts)-1]] = v
	return true
}

// MergeSecrets fills secret values that an update left as Redacted (or absent) from the stored config,
// so a client can send back what it read without wiping credentials.
func (s Spec) MergeSecrets(update, stored map[string]any) map[string]any {
	out := make(map[string]any, len(update))
	for k, v := range update {
		out[k] = v
	}
	for _, p := range s.Params {
		if !p.Secret {
			continue
		}
		if v, ok := out[p.Name]; !ok || v == Redacted {
			if sv, ok := stored[p.Name]; ok {
				out[p.Name] = sv
			}
		}
	}
	return out
}

func redactObject(params []Param, raw map[string]any) map[string]any {
	if raw == nil {
		return nil
	}
	out := make(map[string]any, len(raw))
	for k, v := range raw {
		out[k] = v
	}
	for _, p := range params {
		v, ok := out[p.Name]
		if !ok {
			continue
		}
		switch {
		case p.Secret:
			out[p.Name] = Redacted
		case p.Type == Object && len(p.Fields) > 0:
			if m, ok := v.(map[string]any); ok {
				out[p.Name] = redactObject(p.Fields, m)
			}
		}
	}
	return out
}

func validateObject(params []Param, raw map[string]any, path string, errs *Errors, strict bool) {
	known := make(map[string]bool, len(params))
	for _, p := range params {
		known[p.Name] = true
		v, ok := raw[p.Name]
		if !ok || v == nil {
			if p.Required && p.Default == nil {
				*errs = append(*errs, FieldError{Path: JoinPath(path, p.Name), Message: "required"})
			}
			continue
		}
		validateValue(p, v, JoinPath(path, p.Name), errs)
	}
	if !strict {
		return
	}
	var unknown []string
	for k := range raw {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		msg := "unknown field"
		if near := nearest(k, params); near != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", near)
		}
		*errs = append(*errs, FieldError{Path: JoinPath(path, k), Message: msg})
	}
}

func validateValue(p Param, v any, path string, errs *Errors) {
	bad := func(format string, args ...any) {
		*errs = append(*errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	switch p.Type {
	case Any, "":
		return
	case String:
		s, ok := v.(string)
		if !ok {
			bad("must be a string, got %s", jsonKind(v))
			return
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
			bad("must be one of %s, got %q", strings.Join(p.Enum, ", "), s)
		}
		if p.Pattern != "" {
			if re, err := regexp.Compile(p.Pattern); err == nil && !re.MatchString(s) {
				bad("must match %s", p.Pattern)
			}
		}
		if p.Min != nil && float64(len(s)) < *p.Min {
			bad("must be at least %v characters", *p.Min)
		}
	case Integer, Number:
		f, ok := AsNumber(v)
		if !ok {
			bad("must be a number, got %s", jsonKind(v))
			return
		}
		if p.Type == Integer {
			if _, msg := exactInt(v); msg != "" {
				bad("%s", msg)
				return
			}
		}
		if p.Min != nil && f < *p.Min {
			bad("must be at least %v, got %v", *p.Min, f)
		}
		if p.Max != nil && f > *p.Max {
			bad("must be at most %v, got %v", *p.Max, f)
		}
	case Boolean:
		if _, ok := v.(bool); !ok {
			bad("must be true or false, got %s", jsonKind(v))
		}
	case Array:
		arr, ok := v.([]any)
		if !ok {
			bad("must be a list, got %s", jsonKind(v))
			return
		}
		if p.Min != nil && float64(len(arr)) < *p.Min {
			bad("must have at least %v items", *p.Min)
		}
		if p.Items != nil {
			for i, e := range arr {
				validateValue(*p.Items, e, fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	case Object:
		m, ok := v.(map[string]any)
		if !ok {
			bad("must be an object, got %s", jsonKind(v))
			return
		}
		if len(p.Fields) > 0 {
			validateObject(p.Fields, m, path, errs, true)
			if len(p.Variants) > 0 {
				validateVariant(p, m, path, errs)
			}
		} else if p.Items != nil {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				validateValue(*p.Items, m[k], JoinPath(path, k), errs)
			}
		}
	}
}

// validateVariant checks an object against the variant its discriminator picks: a field the
// variant does not use is an error naming the variant, a field it requires must be given.
func validateVariant(p Param, m map[string]any, path string, errs *Errors) {
	tag, _ := m[p.Discriminator].(string)
	i := slices.IndexFunc(p.Variants, func(v Variant) bool { return v.Value == tag })
	if i < 0 {
		if _, given := m[p.Discriminator]; !given {
			for _, f := range p.Fields {
				if f.Name == p.Discriminator && f.Default != nil {
					tag, _ = f.Default.(string)
				}
			}
			i = slices.IndexFunc(p.Variants, func(v Variant) bool { return v.Value == tag })
		}
		if i < 0 {
			return // the enum check of the discriminator has said what is wrong
		}
	}
	v := p.Variants[i]
	var extra []string
	for k, val := range m {
		if k != p.Discriminator && val != nil && !slices.Contains(v.Fields, k) && slices.ContainsFunc(p.Fields, func(f Param) bool { return f.Name == k }) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		*errs = append(*errs, FieldError{Path: JoinPath(path, k), Message: fmt.Sprintf("is not used when %s is %q (it is used by %s)", p.Discriminator, tag, strings.Join(variantsUsing(p, k), ", "))})
	}
	for _, k := range v.Required {
		if val, ok := m[k]; !ok || val == nil || val == "" {
			*errs = append(*errs, FieldError{Path: JoinPath(path, k), Message: fmt.Sprintf("required when %s is %q", p.Discriminator, tag)})
		}
	}
}

func variantsUsing(p Param, field string) []string {
	var out []string
	for _, v := range p.Variants {
		if slices.Contains(v.Fields, field) {
			out = append(out, fmt.Sprintf("%s %q", p.Discriminator, v.Value))
		}
	}
	return out
}

// AsNumber returns a decoded JSON or YAML number (float64, float32, int, int64, uint64 or
// json.Number) as a float64; ok is false for anything else.
func AsNumber(v any) (f float64, ok bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	if _, ok := AsNumber(v); ok {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// nearest returns the parameter name closest to k (edit distance <= 2), for "did you mean".
func nearest(k string, params []Param) string {
	best, bestD := "", 3
	for _, p := range params {
		if d := editDistance(strings.ToLower(k), strings.ToLower(p.Name)); d < bestD {
			best, bestD = p.Name, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
