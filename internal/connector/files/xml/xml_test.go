package xml_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	xmlconn "github.com/dataaggregator/aggregator/internal/connector/files/xml"
)

// Text: with the pipeline's declared types every kind comes back exactly (NULL is an absent element,
// "" an empty one, bytes base64).
func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, filetest.Harness(xmlconn.New(), map[string]any{"path": "data.xml", "record_path": "export/rows/row"},
		conformance.BadConfig{Name: "wrong_root", Config: func(conformance.Target) map[string]any {
			return map[string]any{"path": "data.xml", "record_path": "orders/order"}
		}, Want: "the root element is <export>"},
		conformance.BadConfig{Name: "one_level_path", Config: func(conformance.Target) map[string]any {
			return map[string]any{"path": "data.xml", "record_path": "orders"}
		}, Want: "record_path"},
	))
}
