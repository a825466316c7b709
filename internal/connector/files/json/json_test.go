package json_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	jsonconn "github.com/dataaggregator/aggregator/internal/connector/files/json"
	"github.com/dataaggregator/aggregator/internal/record"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	kinds := map[record.Kind]conformance.Expect{}
	for _, k := range record.Kinds() {
		kinds[k] = conformance.Exact(k)
	}
	for _, path := range []string{"", "data.items"} {
		t.Run("records_path="+path, func(t *testing.T) {
			t.Parallel()
			conformance.Run(t, conformance.Harness{
				Connector: jsonconn.New(),
				NewTarget: func(t *testing.T) conformance.Target {
					cfg := map[string]any{"path": "data.json", "records_path": path}
					return conformance.Target{Env: connector.Env{FileRoots: []string{t.TempDir()}}, Source: cfg, Dest: cfg}
				},
				TypedRead: true,
				Kinds:     kinds,
				BadConfigs: []conformance.BadConfig{
					{Name: "escape_root", Config: func(conformance.Target) map[string]any { return map[string]any{"path": "../x.json"} }, Want: "outside the allowed file roots"},
					{Name: "wrong_records_path", Config: func(conformance.Target) map[string]any {
						return map[string]any{"path": "data.json", "records_path": "nope"}
					}, Want: "nope"},
				},
			})
		})
	}
}
