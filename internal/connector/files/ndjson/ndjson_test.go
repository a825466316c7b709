package ndjson_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	"github.com/dataaggregator/aggregator/internal/connector/files/ndjson"
	"github.com/dataaggregator/aggregator/internal/record"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	kinds := map[record.Kind]conformance.Expect{}
	for _, k := range record.Kinds() {
		kinds[k] = conformance.Exact(k)
	}
	conformance.Run(t, conformance.Harness{
		Connector: ndjson.New(),
		NewTarget: func(t *testing.T) conformance.Target {
			cfg := map[string]any{"path": "data.ndjson"}
			return conformance.Target{Env: connector.Env{FileRoots: []string{t.TempDir()}}, Source: cfg, Dest: cfg}
		},
		// JSON has no decimal, bytes, date or timestamp: with the pipeline's declared types they come
		// back exactly (decimals as exact numbers, bytes as base64 strings, dates and timestamps as text).
		TypedRead: true,
		Kinds:     kinds,
		BadConfigs: []conformance.BadConfig{
			{Name: "escape_root", Config: func(conformance.Target) map[string]any { return map[string]any{"path": "../x.ndjson"} }, Want: "outside the allowed file roots"},
			{Name: "bad_type", Config: func(conformance.Target) map[string]any {
				return map[string]any{"path": "data.ndjson", "types": map[string]any{"a": "complex"}}
			}, Want: "types.a"},
		},
	})
}
