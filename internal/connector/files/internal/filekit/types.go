package filekit

import (
	"fmt"
	"iter"
	"sort"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Overrides merges the config's per-field type names ("types: {id: int}") with the engine's
// ReadRequest.Overrides, which win. A bad type name is a ConfigError naming the field.
func Overrides(cfg map[string]string, req map[string]record.Kind) (map[string]record.Kind, error) {
	if len(cfg) == 0 && len(req) == 0 {
		return nil, nil
	}
	out := make(map[string]record.Kind, len(cfg)+len(req))
	names := make([]string, 0, len(cfg))
	for n := range cfg {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		k, err := record.ParseKind(cfg[n])
		if err != nil {
			return nil, connector.ConfigError(fmt.Errorf("types.%s: %w", n, err))
		}
		out[n] = k
	}
	for n, k := range req {
		out[n] = k
	}
	return out, nil
}

// UniqueNames makes column names usable as field names: an empty name becomes col_N (1-based), a
// repeated one gets a _2, _3 suffix.
func UniqueNames(names []string) []string {
	out := make([]string, len(names))
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		if n == "" {
			n = fmt.Sprintf("col_%d", i+1)
		}
		base := n
		for j := 2; seen[n]; j++ {
			n = fmt.Sprintf("%s_%d", base, j)
		}
		seen[n] = true
		out[i] = n
	}
	return out
}

// TextSchema infers the schema of a text format (CSV, XML, sheet cells) whose fields are names: the
// texts of the sample rows (read only when inferRows > 0) decide each type, overrides win. Every field
// is nullable, and with inferRows 0 a field without an override is a string. It returns the schema and
// its field kinds; name is what errors call the file.
func TextSchema(name string, names []string, overrides map[string]record.Kind, inferRows int, rows iter.Seq[[]string]) (*record.Schema, []record.Kind, error) {
	inf := record.NewInferrer(names, overrides)
	if inferRows > 0 {
		for row := range rows {
			inf.Observe(row)
		}
	}
	fields := inf.Fields()
	kinds := make([]record.Kind, len(fields))
	for i := range fields {
		fields[i].Nullable = true
		if _, ok := overrides[fields[i].Name]; !ok && inferRows == 0 {
			fields[i].Kind = record.KindString
		}
		kinds[i] = fields[i].Kind
	}
	schema, err := record.NewSchema(fields...)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return schema, kinds, nil
}

// Declared appends to names, in name order, each overridden field that is not among them: a field
// named in types but absent from the sample is added to the schema.
func Declared(names []string, overrides map[string]record.Kind) []string {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		seen[n] = true
	}
	var extra []string
	for n := range overrides {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	return append(names, extra...)
}
