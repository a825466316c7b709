package csv_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/record"
)

func exactKinds() map[record.Kind]conformance.Expect {
	m := map[record.Kind]conformance.Expect{}
	for _, k := range record.Kinds() {
		m[k] = conformance.Exact(k)
	}
	return m
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		conn *csv.Connector
		file string
	}{{"csv", csv.New(), "data.csv"}, {"tsv", csv.NewTSV(), "data.tsv"}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			conformance.Run(t, conformance.Harness{
				Connector: c.conn,
				NewTarget: func(t *testing.T) conformance.Target {
					cfg := map[string]any{"path": c.file}
					return conformance.Target{Env: connector.Env{FileRoots: []string{t.TempDir()}}, Source: cfg, Dest: cfg}
				},
				// A text format: the pipeline declares the types, and then every kind comes back exactly
				// (bytes travel as base64, NULL as an empty field, "" as a quoted empty field).
				TypedRead: true,
				Kinds:     exactKinds(),
				BadConfigs: []conformance.BadConfig{
					{Name: "escape_root", Config: func(tg conformance.Target) map[string]any { return map[string]any{"path": "../outside.csv"} }, Want: "outside the allowed file roots"},
					{Name: "bad_delimiter", Config: func(tg conformance.Target) map[string]any { return map[string]any{"path": c.file, "delimiter": ";;"} }, Want: "delimiter"},
					{Name: "missing_dir", Config: func(tg conformance.Target) map[string]any { return map[string]any{"path": "no/such/dir/x.csv"} }, Want: "no/such/dir"},
				},
			})
		})
	}
}
