package pipelines

import (
	"context"
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

// CheckDependencies returns the problems a save of raw as pipeline id ("" for a new pipeline) would
// have with its triggers.after (names that are no saved pipeline, a cycle), without saving: the
// editor shows them as the user types. A spec that does not parse has none here (its parse problems
// say enough).
func (s *Service) CheckDependencies(ctx context.Context, id string, raw []byte) (pipeline.Problems, error) {
	spec, err := pipeline.Parse(raw)
	if err != nil || len(spec.AfterNames()) == 0 {
		return nil, nil
	}
	err = s.o.Store.CheckDependencies(ctx, id, spec.Name, spec.AfterNames())
	if err == nil {
		return nil, nil
	}
	if ps, ok := pipeline.AsProblems(dependencyProblems(err, raw)); ok {
		return ps, nil
	}
	return nil, err
}
