package configspec

import (
	"fmt"
	"slices"
	"strings"
)

// JSONSchema returns the spec as a JSON Schema (draft 2020-12) object. Secret fields carry
// "writeOnly": true and "format": "password", which the UI draws as password inputs; parameters a
// pipeline may set beside a saved connector carry "x-per-pipeline": true.
func (s Spec) JSONSchema() map[string]any {
	return objectSchema(s.Params)
}

func objectSchema(params []Param) map[string]any {
	props := make(map[string]any, len(params))
	var required []string
	order := make([]string, 0, len(params))
	for _, p := range params {
		props[p.Name] = paramSchema(p)
		order = append(order, p.Name)
		if p.Required && p.Default == nil {
			required = append(required, p.Name)
		}
	}
	out := map[string]any{
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
		"x-order":              order,
	}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func paramSchema(p Param) map[string]any {
	m := map[string]any{}
	if p.Type != Any && p.Type != "" {
		m["type"] = string(p.Type)
	}
	if p.Description != "" {
		m["description"] = p.Description
	}
	if p.Default != nil {
		m["default"] = p.Default
	}
	if len(p.Enum) > 0 {
		m["enum"] = p.Enum
	}
	if p.Pattern != "" {
		m["pattern"] = p.Pattern
	}
	if len(p.Examples) > 0 {
		m["examples"] = p.Examples
	}
	if p.Secret {
		m["writeOnly"] = true
		m["format"] = "password"
		m["x-secret"] = true
	}
	if p.PerPipeline {
		m["x-per-pipeline"] = true
	}
	switch p.Type {
	case Integer, Number:
		if p.Min != nil {
			m["minimum"] = *p.Min
		}
		if p.Max != nil {
			m["maximum"] = *p.Max
		}
	case String:
		if p.Min != nil {
			m["minLength"] = int(*p.Min)
		}
	case Array:
		if p.Items != nil {
			m["items"] = paramSchema(*p.Items)
		}
		if p.Min != nil {
			m["minItems"] = int(*p.Min)
		}
	case Object:
		if len(p.Variants) > 0 {
			m["oneOf"] = variantSchemas(p)
			m["x-discriminator"] = p.Discriminator
		} else if len(p.Fields) > 0 {
			for k, v := range objectSchema(p.Fields) {
				m[k] = v
			}
		} else if p.Items != nil {
			m["additionalProperties"] = paramSchema(*p.Items)
		}
	}
	return m
}

// variantSchemas is a tagged union's oneOf: one object schema per variant, its discriminator a
// const (with the variant's title), its other properties the variant's fields.
func variantSchemas(p Param) []any {
	out := make([]any, 0, len(p.Variants))
	for _, v := range p.Variants {
		var fields []Param
		for _, f := range p.Fields {
			switch {
			case f.Name == p.Discriminator:
				f.Enum, f.Default, f.Required = nil, nil, true
				fields = append(fields, f)
			case slices.Contains(v.Fields, f.Name):
				f.Required = slices.Contains(v.Required, f.Name)
				fields = append(fields, f)
			}
		}
		s := objectSchema(fields)
		d := s["properties"].(map[string]any)[p.Discriminator].(map[string]any)
		d["const"], d["default"] = v.Value, v.Value
		if v.Title != "" {
			s["title"] = v.Title
		}
		out = append(out, s)
	}
	return out
}

// variantNotes returns p's fields, each one that a tagged union uses in some variants only
// documented with them.
func variantNotes(p Param) []Param {
	if len(p.Variants) == 0 {
		return p.Fields
	}
	out := make([]Param, len(p.Fields))
	for i, f := range p.Fields {
		out[i] = f
		if f.Name == p.Discriminator {
			continue
		}
		var in []string
		for _, v := range p.Variants {
			if slices.Contains(v.Fields, f.Name) {
				in = append(in, v.Value)
			}
		}
		list := in[0]
		if n := len(in); n > 1 {
			list = strings.Join(in[:n-1], ", ") + " or " + in[n-1]
		}
		out[i].Description = strings.TrimSpace(f.Description + fmt.Sprintf(" Used when %s is %s.", p.Discriminator, list))
	}
	return out
}

// Markdown renders the parameters as a Markdown table (name, type, required, default, description),
// for docs generated from the same spec.
func (s Spec) Markdown() string {
	var b strings.Builder
	b.WriteString("| parameter | type | required | default | description |\n|---|---|---|---|---|\n")
	var walk func(prefix string, ps []Param)
	walk = func(prefix string, ps []Param) {
		for _, p := range ps {
			name := prefix + p.Name
			req := ""
			if p.Required {
				req = "yes"
			}
			def := ""
			if p.Default != nil {
				def = fmt.Sprintf("`%v`", p.Default)
			}
			desc := p.Description
			if len(p.Enum) > 0 {
				desc += " One of: " + strings.Join(p.Enum, ", ") + "."
			}
			if p.Secret {
				desc += " Secret: never returned by the API."
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", name, p.Type, req, def, strings.ReplaceAll(desc, "|", "\\|"))
			if p.Type == Object && len(p.Fields) > 0 {
				walk(name+".", variantNotes(p))
			}
			if p.Type == Array && p.Items != nil && p.Items.Type == Object && len(p.Items.Fields) > 0 {
				walk(name+"[].", p.Items.Fields)
			}
		}
	}
	walk("", s.Params)
	return b.String()
}
