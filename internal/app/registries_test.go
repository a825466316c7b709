package app

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/dataaggregator/aggregator/internal/config"
)

func TestRegistriesOfferEveryConnectorAndTransformation(t *testing.T) {
	conns, trs, err := Registries()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"csv", "tsv", "json", "ndjson", "xml", "excel", "parquet", "postgres", "mysql", "sqlserver", "kafka", "rest", "nats_jetstream", "amqp", "postgres_cdc", "mqtt", "hubspot", "salesforce"} {
		if !slices.Contains(conns.Names(), name) {
			t.Errorf("connector %q missing (have %v)", name, conns.Names())
		}
	}
	for _, name := range []string{"map", "expression", "filter", "validate", "cleanse", "dedup", "union", "join", "aggregate"} {
		if !slices.Contains(trs.Names(), name) {
			t.Errorf("transformation %q missing (have %v)", name, trs.Names())
		}
	}
	for _, s := range conns.Specs() {
		if !s.Source && !s.Destination {
			t.Errorf("connector %q is neither a source nor a destination", s.Name)
		}
	}
}

// mustComponents builds the components of cfg with a discarding logger.
func mustComponents(t *testing.T, cfg config.Config) *Components {
	t.Helper()
	c, err := NewComponents(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
