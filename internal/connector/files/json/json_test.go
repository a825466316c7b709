package json_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	jsonconn "github.com/dataaggregator/aggregator/internal/connector/files/json"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", "data.items"} {
		t.Run("records_path="+path, func(t *testing.T) {
			t.Parallel()
			conformance.Run(t, filetest.Harness(jsonconn.New(), map[string]any{"path": "data.json", "records_path": path},
				conformance.BadConfig{Name: "wrong_records_path", Config: func(conformance.Target) map[string]any {
					return map[string]any{"path": "data.json", "records_path": "nope"}
				}, Want: "nope"},
			))
		})
	}
}
