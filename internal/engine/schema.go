package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/schemachange"
)

// SchemaInput is what a destination's schema-change policy compares with and what was approved.
type SchemaInput struct {
	// Previous is the snapshot of the destination's last successful run (nil: none).
	Previous *schemachange.Snapshot
	// Approved are the changes a reviewer approved for this run (policy review).
	Approved []schemachange.Change
}

// schemaGov applies a destination's schema-change policy (internal/schemachange): before the writer
// opens (or, when the schema is not known then, before its first batch) it describes the table,
// classifies the changes, records the decision, stops the run on refused or pending changes,
// changes column types it applies, and under quarantine filters the batches through a Gate. A
// schema that changes during the run (a change capture stream) is classified again.
type schemaGov struct {
	r      *runner
	n      *rnode
	ti     connector.TargetInspector
	policy schemachange.Policy
	in     SchemaInput
	target connector.Target
	key    []string
	seen   *record.Schema // the input schema last governed
	gate   *schemachange.Gate
	// opened: the writer is open; DDL goes through it from then on (its own evolve adds columns,
	// connector.ColumnWidener changes their types)
	opened bool
	w      connector.Writer
}

// newSchemaGov is nil when the destination cannot describe its table (policies other than evolve
// are refused for it when the pipeline is validated).
func (r *runner) newSchemaGov(n *rnode) *schemaGov {
	ti, ok := n.p.Destination.(connector.TargetInspector)
	if !ok {
		return nil
	}
	return &schemaGov{r: r, n: n, ti: ti, policy: n.p.Write.SchemaChanges.OrDefault(), in: r.opts.Schemas[n.p.ID]}
}

// open governs the schema the writer is opened with (req.Schema; nothing when unknown) and returns
// the request to open it with.
func (g *schemaGov) open(ctx context.Context, req connector.WriteRequest) (connector.WriteRequest, error) {
	if req.Schema == nil {
		return req, nil
	}
	s, err := g.govern(ctx, req, req.Schema)
	if err != nil {
		return req, err
	}
	g.opened = true
	req.Schema = s
	return req, nil
}

// govern classifies schema s and applies the decision; it returns the schema the writer gets.
func (g *schemaGov) govern(ctx context.Context, req connector.WriteRequest, s *record.Schema) (*record.Schema, error) {
	// the table is described before the writer opens, and again during the run while it did not
	// exist then (the writer created it); after that the governor keeps it as the changes it
	// applies leave it (track)
	if g.seen == nil || !g.opened || !g.target.Exists {
		t, err := g.ti.InspectTarget(ctx, g.r.env(g.n), configOrEmpty(g.n.p.Config), req)
		if err != nil {
			return nil, fmt.Errorf("destination %s (%s): describe the table for schema_changes: %w", g.n.p.ID, g.n.p.Type, err)
		}
		g.target = t
		g.key = g.n.p.Write.Key
		if len(g.key) == 0 {
			g.key = t.Key
		}
	}
	g.seen = s
	changes := schemachange.Classify(g.in.Previous, s, g.key, &g.target, g.target.Fold)
	d := schemachange.Decide(g.n.p.ID, g.target.Name, g.policy, changes, g.in.Approved)
	if len(changes) > 0 {
		g.r.recordSchemaDecision(d)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	var alter []record.Field
	for _, c := range d.Of(schemachange.Apply) {
		if (c.Kind == schemachange.Widened || c.Kind == schemachange.Incompatible) && c.Against == schemachange.AgainstDestination {
			if i := s.Index(c.Column); i >= 0 {
				alter = append(alter, s.Fields[i])
			}
		}
	}
	if len(alter) > 0 && g.target.Exists {
		if g.opened {
			// the schema changed during the run: the writer holds the table (its transaction), so
			// it changes the types itself
			wd, ok := g.w.(connector.ColumnWidener)
			if !ok {
				return nil, fmt.Errorf("destination %s (%s): the schema changed during the run and a column type must change, which this destination cannot do while it writes; the run stops so that the next one changes it before writing", g.n.p.ID, g.target.Name)
			}
			if err := wd.WidenColumns(ctx, alter); err != nil {
				return nil, fmt.Errorf("destination %s (%s): apply schema changes during the run: %w", g.n.p.ID, g.n.p.Type, err)
			}
		} else if err := g.ti.AlterColumns(ctx, g.r.env(g.n), configOrEmpty(g.n.p.Config), req, alter); err != nil {
			return nil, fmt.Errorf("destination %s (%s): apply schema changes: %w", g.n.p.ID, g.n.p.Type, err)
		}
		g.r.log.Info("changed destination column types", "node", g.n.p.ID, "table", g.target.Name, "columns", len(alter))
	}
	g.track(d)
	g.r.setSnapshot(g.n.p.ID, schemachange.Snapshot{Schema: s, Key: g.key})
	g.gate = nil
	if len(d.Of(schemachange.Quarantined)) > 0 {
		g.gate = schemachange.NewGate(d, g.target, g.target.Fold)
		return g.gate.Schema(s), nil
	}
	return s, nil
}

// track keeps the table as the applied changes leave it (columns added, types changed), so that a
// schema that changes again during the run is compared with the table as it now is.
func (g *schemaGov) track(d schemachange.Decision) {
	if !g.target.Exists {
		return
	}
	fold := g.target.Fold
	if fold == nil {
		fold = func(s string) string { return s }
	}
	for _, c := range d.Of(schemachange.Apply) {
		if c.Against != schemachange.AgainstDestination || g.seen == nil {
			continue
		}
		i := g.seen.Index(c.Column)
		if i < 0 {
			continue
		}
		f := g.seen.Fields[i]
		col := connector.TargetColumn{Name: f.Name, Native: c.NewType, Kind: f.Kind, Nullable: true}
		switch c.Kind {
		case schemachange.Added:
			g.target.Columns = append(g.target.Columns, col)
		case schemachange.Widened, schemachange.Incompatible:
			for j := range g.target.Columns {
				if fold(g.target.Columns[j].Name) == fold(c.Column) {
					col.Nullable = g.target.Columns[j].Nullable
					g.target.Columns[j] = col
				}
			}
		}
	}
}

// batch governs a batch before the writer w gets it: its schema when it changed, and the gate.
func (g *schemaGov) batch(ctx context.Context, w connector.Writer, b *record.Batch) (*record.Batch, []connector.RowProblem, error) {
	g.w = w
	if g.seen == nil || (b.Schema != g.seen && !b.Schema.Equal(g.seen)) {
		req := connector.WriteRequest{Stream: g.n.p.Stream, Mode: g.n.p.Write.Mode, Key: g.n.p.Write.Key, Schema: b.Schema, Node: g.n.p.ID, RunID: g.r.runID}
		if _, err := g.govern(ctx, req, b.Schema); err != nil {
			return nil, nil, err
		}
		g.opened = true
	} else if b.Schema != g.seen {
		g.seen = b.Schema
	}
	if g.gate == nil {
		return b, nil, nil
	}
	out, bad := g.gate.Filter(b)
	return out, bad, nil
}

// schemaLog is what a run decided about schema changes and the schemas its destinations received.
type schemaLog struct {
	mu        sync.Mutex
	decisions []schemachange.Decision
	snapshots map[string]schemachange.Snapshot
}

func (r *runner) recordSchemaDecision(d schemachange.Decision) {
	r.schemas.mu.Lock()
	defer r.schemas.mu.Unlock()
	r.schemas.decisions = append(r.schemas.decisions, d)
}

func (r *runner) setSnapshot(node string, s schemachange.Snapshot) {
	r.schemas.mu.Lock()
	defer r.schemas.mu.Unlock()
	if r.schemas.snapshots == nil {
		r.schemas.snapshots = map[string]schemachange.Snapshot{}
	}
	r.schemas.snapshots[node] = s
}
