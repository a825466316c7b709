package parquet_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	"github.com/dataaggregator/aggregator/internal/connector/files/parquet"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	h := filetest.Harness(parquet.New(), map[string]any{"path": "data.parquet"},
		conformance.BadConfig{Name: "bad_type", Config: func(conformance.Target) map[string]any {
			return map[string]any{"path": "data.parquet", "types": map[string]any{"a": "complex"}}
		}, Want: "types.a"},
		conformance.BadConfig{Name: "tiny_page_cap", Config: func(conformance.Target) map[string]any {
			return map[string]any{"path": "data.parquet", "max_page_bytes": 10}
		}, Want: "max_page_bytes"},
	)
	conformance.Run(t, h)
}
