package pipeline

import (
	"github.com/dataaggregator/aggregator/internal/transform"
)

// MaxParallelism is the most consumer instances a streaming pipeline deploys.
const MaxParallelism = 64

// Deployed reports whether the pipeline's runs are deployments: a streaming pipeline with
// parallelism, run as that many consumer instances of one consumer group across the workers.
func (p *Plan) Deployed() bool { return p.Spec.Parallelism > 0 }

// deployment checks what parallelism needs: every source is a stream whose readers share one
// consumer group (connector.Spec.ConsumerGroups, with its group parameter set), and no transform
// keeps state across records that the instances would each keep a part of.
func (v *validator) deployment() {
	if v.plan.Spec.Parallelism == 0 {
		return
	}
	for _, n := range v.plan.Sources {
		if n.Source == nil {
			continue
		}
		cs := n.ConnectorSpec
		switch {
		case !cs.Unbounded:
			v.c.add("parallelism", "source %q (%s) is not a stream: parallelism deploys consumer instances of a stream source (kafka, nats_jetstream, amqp); remove parallelism", n.ID, n.Type)
		case !cs.ConsumerGroups:
			v.c.add("parallelism", "source %q (%s) cannot share its stream between consumer instances (no consumer groups): use parallelism only with kafka, nats_jetstream or amqp, or remove it", n.ID, n.Type)
		case cs.GroupParam != "":
			if g, _ := n.Config[cs.GroupParam].(string); g == "" {
				v.c.add(n.Path+".config."+cs.GroupParam, "source %q: parallelism %d needs a consumer group the instances share: set %s", n.ID, v.plan.Spec.Parallelism, cs.GroupParam)
			}
		}
	}
	for _, n := range v.plan.Transforms {
		if n.Definition.New == nil {
			continue
		}
		node, err := n.Definition.New(n.Config)
		if err != nil {
			continue
		}
		if st, ok := node.(transform.Stateful); ok && st.Stateful() {
			v.c.add(n.Path, "transform %q (%s) keeps state across records, and each of the %d instances would keep only its share: remove parallelism or the transform", n.ID, n.Type, v.plan.Spec.Parallelism)
		}
	}
}
