package configspec

import (
	"fmt"
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
		if len(p.Fields) > 0 {
			for k, v := range objectSchema(p.Fields) {
				m[k] = v
			}
		} else if p.Items != nil {
			m["additionalProperties"] = paramSchema(*p.Items)
		}
	}
	return m
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
				walk(name+".", p.Fields)
			}
			if p.Type == Array && p.Items != nil && p.Items.Type == Object && len(p.Items.Fields) > 0 {
				walk(name+"[].", p.Items.Fields)
			}
		}
	}
	walk("", s.Params)
	return b.String()
}
