package filetest

import (
	"path/filepath"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/conformance"
	"github.com/dataaggregator/aggregator/internal/record"
)

// ExactKinds expects every record kind to come back exactly.
func ExactKinds() map[record.Kind]conformance.Expect {
	m := map[record.Kind]conformance.Expect{}
	for _, k := range record.Kinds() {
		m[k] = conformance.Exact(k)
	}
	return m
}

// Harness is the conformance harness of a file connector: each target is a fresh file root with cfg
// as its source and destination config; the read is typed (the pipeline declares the types) and every
// kind comes back exactly (a format that cannot changes Kinds); a path escaping the root is refused,
// besides the format's own bad configs.
func Harness(c connector.Connector, cfg map[string]any, bad ...conformance.BadConfig) conformance.Harness {
	path, _ := cfg["path"].(string)
	escape := conformance.BadConfig{Name: "escape_root", Config: func(conformance.Target) map[string]any {
		return map[string]any{"path": "../x" + filepath.Ext(path)}
	}, Want: "outside the allowed file roots"}
	return conformance.Harness{
		Connector: c,
		NewTarget: func(t *testing.T) conformance.Target {
			return conformance.Target{Env: connector.Env{FileRoots: []string{t.TempDir()}}, Source: cfg, Dest: cfg}
		},
		TypedRead:  true,
		Kinds:      ExactKinds(),
		BadConfigs: append([]conformance.BadConfig{escape}, bad...),
	}
}
