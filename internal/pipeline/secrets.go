package pipeline

import (
	"fmt"

	"github.com/dataaggregator/aggregator/internal/configspec"
)

// InlineSecrets lists the secret parameters (passwords, connection URLs, tokens: those the connector's
// spec marks Secret, in nested objects too) written inline in the spec's source and destination configs. A stored pipeline is
// readable by roles that may not see credentials, so the server refuses them there: credentials
// belong in a saved connector, named with `connector:`. A config that names a saved connector is not
// inline and is not listed.
func (p *Plan) InlineSecrets() Problems {
	var out Problems
	check := func(path string, id string, config map[string]any) {
		n := p.Node(id)
		if n == nil {
			return
		}
		for _, name := range n.ConnectorSpec.Config.SecretPaths() {
			if v, ok := configspec.ValueAt(config, name); ok && v != nil && v != "" {
				pr := Problem{Path: path + ".config." + name,
					Message: fmt.Sprintf("a secret cannot be stored in a pipeline: save the credentials as a connector (POST /api/v1/connectors) and name it with `connector:` instead of type %q", n.Type)}
				if pos, ok := p.Spec.PositionOf(pr.Path); ok {
					pr.Line, pr.Column = pos.Line, pos.Column
				}
				out = append(out, pr)
			}
		}
	}
	for i, s := range p.Spec.Sources {
		if s.Connector == "" {
			check(fmt.Sprintf("sources[%d]", i), s.ID, s.Config)
		}
	}
	for i, d := range p.Spec.Destinations {
		if d.Connector == "" {
			check(fmt.Sprintf("destinations[%d]", i), d.ID, d.Config)
		}
	}
	return out
}
