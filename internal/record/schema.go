package record

import (
	"fmt"
	"strings"
)

// Field is one column of a schema.
type Field struct {
	Name     string `json:"name"`
	Kind     Kind   `json:"type"`
	Nullable bool   `json:"nullable"`
	// Precision and Scale describe decimals when the source knows them (0 when unknown).
	Precision int `json:"precision,omitempty"`
	Scale     int `json:"scale,omitempty"`
	// Native is the source's own type name (e.g. "timestamptz", "varchar(20)"), for information.
	Native string `json:"native,omitempty"`
}

// Schema is an ordered list of uniquely named fields. Build it with NewSchema; treat it as immutable
// once built (batches share it).
type Schema struct {
	Fields []Field `json:"fields"`
	index  map[string]int
}

// NewSchema builds a schema; it fails on an empty or duplicate field name.
func NewSchema(fields ...Field) (*Schema, error) {
	s := &Schema{Fields: fields, index: make(map[string]int, len(fields))}
	for i, f := range fields {
		if f.Name == "" {
			return nil, fmt.Errorf("field %d: empty name", i)
		}
		if j, dup := s.index[f.Name]; dup {
			return nil, fmt.Errorf("field %d: duplicate name %q (also field %d)", i, f.Name, j)
		}
		s.index[f.Name] = i
	}
	return s, nil
}

// MustSchema is NewSchema for schemas known to be valid (tests, literals); it panics on error.
func MustSchema(fields ...Field) *Schema {
	s, err := NewSchema(fields...)
	if err != nil {
		panic(err)
	}
	return s
}

// Len is the number of fields.
func (s *Schema) Len() int { return len(s.Fields) }

// Index returns the position of the named field, or -1.
func (s *Schema) Index(name string) int {
	if s.index == nil {
		s.index = make(map[string]int, len(s.Fields))
		for i, f := range s.Fields {
			s.index[f.Name] = i
		}
	}
	if i, ok := s.index[name]; ok {
		return i
	}
	return -1
}

// Field returns the named field.
func (s *Schema) Field(name string) (Field, bool) {
	i := s.Index(name)
	if i < 0 {
		return Field{}, false
	}
	return s.Fields[i], true
}

// Names returns the field names in order.
func (s *Schema) Names() []string {
	out := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		out[i] = f.Name
	}
	return out
}

// Equal reports whether two schemas have the same field names, kinds and nullability in order.
func (s *Schema) Equal(o *Schema) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil || len(s.Fields) != len(o.Fields) {
		return false
	}
	for i := range s.Fields {
		a, b := s.Fields[i], o.Fields[i]
		if a.Name != b.Name || a.Kind != b.Kind || a.Nullable != b.Nullable {
			return false
		}
	}
	return true
}

// String renders the schema as "name type, name type?" (? marks nullable).
func (s *Schema) String() string {
	var b strings.Builder
	for i, f := range s.Fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Name)
		b.WriteByte(' ')
		b.WriteString(f.Kind.String())
		if f.Nullable {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// Require checks that every named field exists; the error names the missing ones and what there is.
func (s *Schema) Require(names ...string) error {
	var missing []string
	for _, n := range names {
		if s.Index(n) < 0 {
			missing = append(missing, fmt.Sprintf("%q", n))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("unknown field %s (fields are: %s)", strings.Join(missing, ", "), strings.Join(s.Names(), ", "))
	}
	return nil
}
