package pipeline

import (
	"context"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
)

// streamConn is a stream source double: with groups it shares its stream through the config's
// "group", without (a replication slot) it cannot.
type streamConn struct {
	fakeConn
	groups bool
}

func (c streamConn) Spec() connector.Spec {
	s := connector.Spec{Name: c.name, Source: true, Destination: true, Unbounded: true, ConsumerGroups: c.groups,
		WriteModes: []connector.WriteMode{connector.Append},
		Config:     configspec.Spec{Params: []configspec.Param{{Name: "topic", Type: configspec.String}, {Name: "group", Type: configspec.String}}}}
	if c.groups {
		s.GroupParam = "group"
	}
	return s
}

func TestParallelism(t *testing.T) {
	t.Parallel()
	cr, err := connector.NewRegistry(fakeConn{name: "csv"}, streamConn{fakeConn{name: "kafka"}, true}, streamConn{fakeConn{name: "cdc"}, false})
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t)
	env.Connectors = cr
	spec := func(src, par string) string {
		return "version: 1\nname: p\nsources: [" + src + "]\ndestinations: [{id: d, type: csv, inputs: [s], config: {path: b.csv}}]\nparallelism: " + par + "\n"
	}
	const kafka = `{id: s, type: kafka, config: {topic: t, group: g}}`
	tests := []struct {
		name, src, par, want string
	}{
		{"deployed", kafka, "4", ""},
		{"zero", kafka, "0", "parallelism: must be from 1 to 64, got 0"},
		{"too many", kafka, "65", "parallelism: must be from 1 to 64, got 65"},
		{"not a number", kafka, "many", `parallelism: must be a whole number from 1 to 64, got the string "many"`},
		{"not a stream", `{id: s, type: csv, config: {path: a.csv}}`, "2", `parallelism: source "s" (csv) is not a stream`},
		{"no consumer groups", `{id: s, type: cdc, config: {topic: t}}`, "2", `parallelism: source "s" (cdc) cannot share its stream between consumer instances`},
		{"group not set", `{id: s, type: kafka, config: {topic: t}}`, "2", `sources[0].config.group: source "s": parallelism 2 needs a consumer group the instances share: set group`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(spec(tt.src, tt.par)))
			var p *Plan
			if err == nil {
				p, err = Validate(context.Background(), s, env)
			}
			if tt.want == "" {
				if err != nil || !p.Deployed() || p.Spec.Parallelism != 4 {
					t.Fatalf("err %v, want a deployment of 4", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}
