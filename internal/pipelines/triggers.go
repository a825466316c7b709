package pipelines

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/store"
)

// A spec's triggers.after is resolved when it is saved (store.Pipeline.After): the store refuses
// names that are no live pipeline and cycles, in the transaction of the save, and this file turns
// its *store.DependencyError into problems at triggers.after[i].

// draftAfter is the triggers.after of a draft's spec when it parses (nil otherwise: a draft whose
// spec does not parse runs after nothing).
func draftAfter(raw []byte) []string {
	spec, err := pipeline.Parse(raw)
	if err != nil {
		return nil
	}
	return spec.AfterNames()
}

// dependencyProblems turns a *store.DependencyError into pipeline.Problems at triggers.after[i]
// (with the line and column of the name); other errors are returned as they are.
func dependencyProblems(err error, raw []byte) error {
	var de *store.DependencyError
	if !errors.As(err, &de) {
		return err
	}
	spec, _ := pipeline.Parse(raw)
	after := spec.AfterNames()
	index := func(name string) string {
		for i, n := range after {
			if strings.EqualFold(strings.TrimSpace(n), strings.TrimSpace(name)) {
				return fmt.Sprintf("triggers.after[%d]", i)
			}
		}
		return "triggers.after"
	}
	var ps pipeline.Problems
	add := func(path, msg string) {
		p := pipeline.Problem{Path: path, Message: msg}
		if spec != nil {
			if pos, ok := spec.PositionOf(path); ok {
				p.Line, p.Column = pos.Line, pos.Column
			}
		}
		ps = append(ps, p)
	}
	for _, n := range de.Unknown {
		add(index(n), fmt.Sprintf("no saved pipeline is named %q", n))
	}
	if len(de.Cycle) > 1 {
		add(index(de.Cycle[1]), "the pipelines would run after each other in a cycle: "+strings.Join(de.Cycle, " -> "))
	}
	return ps
}
