package engine

import (
	"context"
	"errors"
	"time"

	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Sample is what one node produced in a preview: its output schema, its first rows (for a
// destination: the rows it would write) and its first rejected rows.
type Sample struct {
	ID      string          `json:"id"`
	Kind    string          `json:"kind"`
	Type    string          `json:"type"`
	Schema  *record.Schema  `json:"schema"`
	Rows    []record.Row    `json:"rows"`
	Rejects []record.Reject `json:"rejects,omitempty"`
	Stats   NodeStats       `json:"stats"`
}

// PreviewResult holds a sample per node, in plan order.
type PreviewResult struct {
	Nodes []Sample `json:"nodes"`
}

type previewState struct {
	limit int
	by    map[*rnode]*Sample
}

func (p *previewState) sample(n *rnode, b *record.Batch) {
	s := p.by[n]
	for i := 0; i < b.Len() && len(s.Rows) < p.limit; i++ {
		s.Rows = append(s.Rows, append(record.Row(nil), b.Rows[i]...))
	}
}

func (p *previewState) reject(n *rnode, rj record.Reject) {
	if s := p.by[n]; len(s.Rejects) < p.limit {
		s.Rejects = append(s.Rejects, rj)
	}
}

// Preview reads the first rows (per source) and runs them through every node, keeping up to rows
// rows and rejects per node. Destinations are not opened: nothing is written. Rejected rows are
// sampled whatever the error policy. With an unbounded source (a stream), reading stops after
// Options.PreviewWait (default 10s) and the preview shows what arrived.
func Preview(ctx context.Context, plan *pipeline.Plan, opts Options, rows int) (*PreviewResult, error) {
	if rows <= 0 {
		rows = 20
	}
	opts.Checkpointer, opts.DeadLetters, opts.Progress = nil, nil, nil
	if opts.BatchSize <= 0 || opts.BatchSize > rows {
		opts.BatchSize = rows
	}
	r := newRunner(plan, opts)
	r.preview = &previewState{limit: rows, by: map[*rnode]*Sample{}}
	defer r.closeSources()
	if err := r.openSources(ctx, nil); err != nil {
		return nil, err
	}
	if err := r.initNodes(); err != nil {
		return nil, err
	}
	for _, n := range r.nodes {
		r.preview.by[n] = &Sample{ID: n.p.ID, Kind: string(n.p.Kind), Type: n.p.Type, Schema: n.schema, Rows: []record.Row{}}
	}
	pctx := ctx
	for _, n := range plan.Sources {
		if n.ConnectorSpec.Unbounded { // a stream may never deliver rows rows: show what came in time
			var cancel context.CancelFunc
			pctx, cancel = context.WithTimeout(ctx, opts.previewWait())
			defer cancel()
			break
		}
	}
	if err := r.pump(pctx, int64(rows), nil); err != nil && !(errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil) {
		return nil, err
	}
	out := &PreviewResult{}
	for _, n := range r.nodes {
		s := r.preview.by[n]
		s.Stats = n.stats.snapshot(n.p)
		out.Nodes = append(out.Nodes, *s)
	}
	return out, nil
}

// Schemas opens the sources and initialises every node, returning each node's schema by id: a
// deeper check than pipeline.Validate (field names in expressions, join keys) that reads only what
// sources need to know their schema. Nothing is written. Every node that fails is reported, as
// NodeErrors; nodes downstream of a failed one are skipped.
func Schemas(ctx context.Context, plan *pipeline.Plan, opts Options) (map[string]*record.Schema, error) {
	r := newRunner(plan, opts)
	defer r.closeSources()
	var errs NodeErrors
	failed := map[*rnode]bool{}
	for _, n := range r.nodes {
		one := &runner{plan: r.plan, opts: r.opts, log: r.log, nodes: []*rnode{n}, by: r.by}
		var err error
		switch n.p.Kind {
		case pipeline.KindSource:
			err = one.openSources(ctx, nil)
		default:
			skip := false
			for _, in := range n.p.Inputs {
				skip = skip || failed[r.by[in.ID]]
			}
			if skip {
				failed[n] = true
				continue
			}
			err = one.initNodes()
		}
		if err != nil {
			failed[n] = true
			var ne *NodeError
			if !errors.As(err, &ne) {
				ne = &NodeError{ID: n.p.ID, Path: n.p.Path, Err: err}
			}
			errs = append(errs, ne)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	out := make(map[string]*record.Schema, len(r.nodes))
	for _, n := range r.nodes {
		out[n.p.ID] = n.schema
	}
	return out, nil
}

func (o Options) previewWait() time.Duration {
	if o.PreviewWait > 0 {
		return o.PreviewWait
	}
	return 10 * time.Second
}
