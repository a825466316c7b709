package engine

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/pipeline"
)

// Sources are asked for spare row slots only when a transform could use them: without transforms
// they would be memory in every batch in flight for nothing.
func TestReadRequestAsksForSpareSlotsOnlyWithTransforms(t *testing.T) {
	t.Parallel()
	n := &rnode{p: &pipeline.Node{ID: "in"}}
	without := &runner{plan: &pipeline.Plan{}}
	if got := without.readRequest(n, nil).Spare; got != 0 {
		t.Errorf("Spare without transforms = %d, want 0", got)
	}
	with := &runner{plan: &pipeline.Plan{Transforms: []*pipeline.Node{{ID: "x"}}}}
	if got := with.readRequest(n, nil).Spare; got != spareSlots {
		t.Errorf("Spare with a transform = %d, want %d", got, spareSlots)
	}
}
