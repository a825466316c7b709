package rest

import (
	"testing"

	"github.com/google/uuid"

	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	"github.com/dataaggregator/aggregator/internal/connector/rest/internal/apitest"
	"github.com/dataaggregator/aggregator/internal/record"
)

// The REST connector passes the conformance suite against a JSON API that stores what it is sent
// and pages through it with a next URL.
func TestConformance(t *testing.T) {
	t.Parallel()
	_, srv := apitest.Serve(t)
	kinds := map[record.Kind]conformance.Expect{}
	for _, k := range record.Kinds() {
		kinds[k] = conformance.Exact(k)
	}
	conformance.Run(t, conformance.Harness{
		Connector: New(),
		NewTarget: func(t *testing.T) conformance.Target {
			u := srv.URL + "/t_" + uuid.NewString()
			return conformance.Target{Env: guardEnv(t),
				Source: map[string]any{"url": u, "params": map[string]any{"limit": 700}, "records_path": "data",
					"pagination": map[string]any{"type": "next_url", "path": "next"}},
				Dest: map[string]any{"url": u, "batch_size": 1}}
		},
		TypedRead: true,
		Kinds:     kinds,
		BadConfigs: []conformance.BadConfig{
			{Name: "metadata_address", Config: func(conformance.Target) map[string]any {
				return map[string]any{"url": "http://169.254.169.254/latest/meta-data/"}
			}, Want: "not allowed for any connector"},
			{Name: "records_path_matches_nothing", Config: func(tg conformance.Target) map[string]any {
				return map[string]any{"url": tg.Source["url"], "records_path": "items"}
			}, Want: `records_path matches nothing in the body: "items"; the body has the keys data, next`},
		},
	})
}
