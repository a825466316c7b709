package pipeline

import (
	"fmt"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// Partitioned returns the source that asks for a partitioned run (its connector is Partitionable
// and its config sets `partition`), or nil. Validate allows at most one.
func (p *Plan) Partitioned() *Node {
	for _, n := range p.Sources {
		if n.Source != nil && connector.WantsPartitions(n.ConnectorSpec, n.Config) {
			return n
		}
	}
	return nil
}

// partition checks what a partitioned run needs: its chunks run at once, each an engine run over
// the same plan with the source restricted to one key range, so the pipeline reads that one source
// only, in full_refresh, through stateless transforms, into destinations that several writers can
// fill at once (upsert or append into a database or stream; no overwrite swap, no single file).
func (v *validator) partition() {
	src := v.plan.Partitioned()
	if src == nil {
		return
	}
	why := fmt.Sprintf("source %q is partitioned (%s.config.%s): its chunks run at once on several workers", src.ID, src.Path, connector.PartitionParam)
	for _, n := range v.plan.Sources {
		if n != src && n.Source != nil {
			v.c.add(n.Path, "%s; a partitioned pipeline reads that one source only (each chunk would read %q whole)", why, n.ID)
		}
	}
	if src.Sync.Mode == connector.Incremental {
		v.c.add(src.Path+".sync.mode", "%s; partitioned runs read full_refresh only", why)
	}
	for _, n := range v.plan.Transforms {
		if n.Definition.New == nil {
			continue
		}
		node, err := n.Definition.New(n.Config)
		if err != nil {
			continue // reported by transform()
		}
		if st, ok := node.(transform.Stateful); ok && st.Stateful() {
			v.c.add(n.Path, "%s; transform %q (%s) keeps state across the whole run, which chunks cannot share: remove partition or the transform", why, n.ID, n.Type)
		}
	}
	for _, n := range v.plan.Destinations {
		if n.Destination == nil {
			continue
		}
		switch {
		case n.Write.Mode == connector.Overwrite:
			v.c.add(n.Path+".write.mode", "destination %q: %s; overwrite replaces the whole table once per run and cannot take rows from several chunks: use upsert (exactly once) or append", n.ID, why)
		case n.ConnectorSpec.Category == "file":
			v.c.add(n.Path+".type", "destination %q: %s; a %s file is written by one writer in order: write to a database, or remove partition", n.ID, why, n.Type)
		}
	}
}
