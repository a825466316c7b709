package ascode

import (
	"context"
	"fmt"
	"io"
)

// ApplyReport counts what apply did.
type ApplyReport struct {
	Created, Updated, Deleted, Marked int
}

// Apply carries out a plan in its order: connectors, transformations and pipelines created or
// updated (each marked as managed from its file), then, when the plan was made with Prune,
// deletions, pipelines first. It stops at the first refusal, naming the object and its file;
// what was applied before it stays applied, and applying again continues from there.
func Apply(ctx context.Context, srv Server, p *Plan, w io.Writer) (ApplyReport, error) {
	var rep ApplyReport
	for _, c := range p.Changes {
		id := c.ID
		switch c.Action {
		case Create:
			var err error
			if id, err = srv.Create(ctx, c.send); err != nil {
				return rep, fmt.Errorf("create %s %s (%s): %w", c.Kind, c.Name, c.Path, err)
			}
			rep.Created++
			fmt.Fprintf(w, "created %s %s\n", c.Kind, c.Name)
		case Update:
			if err := srv.Update(ctx, id, c.send); err != nil {
				return rep, fmt.Errorf("update %s %s (%s): %w", c.Kind, c.Name, c.Path, err)
			}
			rep.Updated++
			fmt.Fprintf(w, "updated %s %s\n", c.Kind, c.Name)
		case Delete:
			if !p.Pruned {
				continue
			}
			if err := srv.Delete(ctx, c.Kind, id); err != nil {
				return rep, fmt.Errorf("delete %s %s: %w", c.Kind, c.Name, err)
			}
			rep.Deleted++
			fmt.Fprintf(w, "deleted %s %s\n", c.Kind, c.Name)
			continue
		}
		if c.mark {
			if err := srv.Mark(ctx, c.Kind, id, c.Path); err != nil {
				return rep, fmt.Errorf("mark %s %s as managed from %s: %w", c.Kind, c.Name, c.Path, err)
			}
			rep.Marked++
		}
	}
	return rep, nil
}
