package excel_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	"github.com/dataaggregator/aggregator/internal/connector/files/excel"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
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
	h := filetest.Harness(excel.New(), map[string]any{"path": "book.xlsx", "sheet": "Data"},
		conformance.BadConfig{Name: "missing_sheet", Config: func(conformance.Target) map[string]any {
			return map[string]any{"path": "book.xlsx", "sheet": "Nope"}
		}, Want: `no sheet "Nope" (sheets: Data)`},
	)
	h.Kinds[record.KindString] = conformance.AsFunc(record.KindString, emptyIsNull)
	h.Kinds[record.KindBytes] = conformance.AsFunc(record.KindBytes, emptyIsNull)
	h.LargeRows = 12_000 // xlsx is slow to build; still twelve batches
	conformance.Run(t, h)
}
