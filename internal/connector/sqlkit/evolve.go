package sqlkit

import (
	"fmt"
	"strings"

	"github.com/dataaggregator/aggregator/internal/record"
)

// Column is a column of an existing destination table.
type Column struct {
	Name     string
	Native   string      // the database's type name, e.g. "bigint", "varchar(20)"
	Kind     record.Kind // what the native type holds
	Nullable bool
}

// Plan is what a writer must do to an existing table before loading rows of a schema.
type Plan struct {
	// Add lists the source fields the table lacks (ALTER TABLE ... ADD COLUMN).
	Add []record.Field
	// Target maps each source field (by index) to the kind its destination column stores.
	Target []record.Kind
}

// Compatible reports whether values of kind src can be stored in a column holding kind dst without
// losing information: the same kind, null into anything, int into float or decimal, float into
// decimal, date into timestamp, and anything but bytes into a text column. Strings go into any
// column: they are parsed row by row (untyped sources such as CSV), and a value that does not parse
// rejects its row only.
func Compatible(src, dst record.Kind) bool {
	switch {
	case src == dst, src == record.KindNull, src == record.KindString:
		return true
	case dst == record.KindString:
		return src != record.KindBytes
	case src == record.KindInt:
		return dst == record.KindFloat || dst == record.KindDecimal
	case src == record.KindFloat:
		return dst == record.KindDecimal
	case src == record.KindDecimal:
		return dst == record.KindFloat
	case src == record.KindDate:
		return dst == record.KindTimestamp
	}
	return false
}

// Evolve compares a source schema with an existing table's columns. New fields are to be added; a
// field whose kind the existing column cannot hold fails with an error naming the table, the column
// and both types. Column names match exactly (databases that fold case compare folded names).
func Evolve(table string, s *record.Schema, cols []Column, fold func(string) string) (Plan, error) {
	if fold == nil {
		fold = func(s string) string { return s }
	}
	byName := make(map[string]Column, len(cols))
	for _, c := range cols {
		byName[fold(c.Name)] = c
	}
	var p Plan
	var problems []string
	p.Target = make([]record.Kind, len(s.Fields))
	for i, f := range s.Fields {
		c, ok := byName[fold(f.Name)]
		if !ok {
			p.Add = append(p.Add, f)
			p.Target[i] = f.Kind
			continue
		}
		p.Target[i] = c.Kind
		if !Compatible(f.Kind, c.Kind) {
			problems = append(problems, fmt.Sprintf("column %q: the source type is %s but the destination column is %s (%s)", f.Name, f.Kind, c.Native, c.Kind))
		}
	}
	if len(problems) > 0 {
		return p, fmt.Errorf("table %s: incompatible schema change: %s", table, strings.Join(problems, "; "))
	}
	return p, nil
}

// Convert casts the value to the destination column's kind (see Compatible); the error names what
// failed. A string written to a json column must be valid JSON.
func Convert(v record.Value, dst record.Kind) (record.Value, error) {
	if v.IsNull() || v.Kind() == dst || dst == record.KindNull {
		return v, nil
	}
	if v.Kind() == record.KindString && dst == record.KindJSON {
		return record.ParseJSON([]byte(v.Str()))
	}
	return record.Cast(v, dst)
}
