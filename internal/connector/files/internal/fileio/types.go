package fileio

import (
	"fmt"
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
