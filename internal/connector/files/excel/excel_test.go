package excel_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	"github.com/dataaggregator/aggregator/internal/connector/files/excel"
	"github.com/dataaggregator/aggregator/internal/record"
)

// emptyIsNull: Excel has no empty text distinct from a blank cell, so "" (and empty bytes) come back NULL.
func emptyIsNull(v record.Value) (record.Value, error) {
	if v.Str() == "" {
		return record.Null, nil
	}
	return v, nil
}

func TestConformance(t *testing.T) {
	t.Parallel()
	kinds := map[record.Kind]conformance.Expect{}
	for _, k := range record.Kinds() {
		kinds[k] = conformance.Exact(k)
	}
	kinds[record.KindString] = conformance.AsFunc(record.KindString, emptyIsNull)
	kinds[record.KindBytes] = conformance.AsFunc(record.KindBytes, emptyIsNull)
	conformance.Run(t, conformance.Harness{
		Connector: excel.New(),
		NewTarget: func(t *testing.T) conformance.Target {
			cfg := map[string]any{"path": "book.xlsx", "sheet": "Data"}
			return conformance.Target{Env: connector.Env{FileRoots: []string{t.TempDir()}}, Source: cfg, Dest: cfg}
		},
		TypedRead: true,
		Kinds:     kinds,
		LargeRows: 12_000, // xlsx is slow to build; still twelve batches
		BadConfigs: []conformance.BadConfig{
			{Name: "escape_root", Config: func(conformance.Target) map[string]any { return map[string]any{"path": "../x.xlsx"} }, Want: "outside the allowed file roots"},
			{Name: "missing_sheet", Config: func(conformance.Target) map[string]any { return map[string]any{"path": "book.xlsx", "sheet": "Nope"} }, Want: `no sheet "Nope" (sheets: Data)`},
		},
	})
}
