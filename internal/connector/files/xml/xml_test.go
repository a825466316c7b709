package xml_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	xmlconn "github.com/dataaggregator/aggregator/internal/connector/files/xml"
	"github.com/dataaggregator/aggregator/internal/record"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	kinds := map[record.Kind]conformance.Expect{}
	for _, k := range record.Kinds() {
		kinds[k] = conformance.Exact(k)
	}
	conformance.Run(t, conformance.Harness{
		Connector: xmlconn.New(),
		NewTarget: func(t *testing.T) conformance.Target {
			cfg := map[string]any{"path": "data.xml", "record_path": "export/rows/row"}
			return conformance.Target{Env: connector.Env{FileRoots: []string{t.TempDir()}}, Source: cfg, Dest: cfg}
		},
		// Text: with the pipeline's declared types every kind comes back exactly (NULL is an absent
		// element, "" an empty one, bytes base64).
		TypedRead: true,
		Kinds:     kinds,
		BadConfigs: []conformance.BadConfig{
			{Name: "escape_root", Config: func(conformance.Target) map[string]any { return map[string]any{"path": "../x.xml"} }, Want: "outside the allowed file roots"},
			{Name: "wrong_root", Config: func(conformance.Target) map[string]any {
				return map[string]any{"path": "data.xml", "record_path": "orders/order"}
			}, Want: "the root element is <export>"},
			{Name: "one_level_path", Config: func(conformance.Target) map[string]any {
				return map[string]any{"path": "data.xml", "record_path": "orders"}
			}, Want: "record_path"},
		},
	})
}
