package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Injection is one row put back into a plan at the node that rejected it (a dead letter being
// replayed). Values are the row's fields as text, as the dead letter holds them, possibly edited;
// they are parsed into the types of the node's input schema. Source and Pos say where the row came
// from originally and stay on it if it is rejected again.
type Injection struct {
	Node   string
	Source string
	Pos    int64
	Values map[string]string
}

// ReplayError refuses a replay before anything was written: the plan cannot take the rows back as
// they are (a node on their way needs the whole run, or a destination replaces its content).
type ReplayError struct {
	Node   string
	Reason string
}

func (e *ReplayError) Error() string { return "cannot replay through node " + e.Node + ": " + e.Reason }

// Replay runs rows through the plan from the node that rejected each of them to the destinations
// downstream: a row rejected by a transform or a destination enters that node again; a row a source
// rejected (it could not be read) enters the source's consumers, as if the source had emitted it.
// Sources are opened for their schemas but not read. Only the destinations the rows can reach are
// opened; rows rejected again (or whose values do not parse, or whose node is no longer in the plan)
// go to the error policy with their reasons, as in a run. Without a Checkpointer; Progress is
// reported as in Run.
//
// A replay is refused (*ReplayError, nothing written) when a node on the rows' way keeps state
// across the whole run (aggregate, dedup, a unique rule, the lookup side of a join): rows replayed on
// their own would give a different result than the run did. It is refused as well when a reached
// destination overwrites its content (write mode overwrite): it would keep only the replayed rows.
func Replay(ctx context.Context, plan *pipeline.Plan, opts Options, rows []Injection) (*Result, error) {
	opts.Checkpointer = nil
	r := newRunner(plan, opts)
	res, err := r.replay(ctx, rows)
	res.Finished = r.opts.Now()
	res.Nodes = r.stats()
	res.RowsRead = int64(len(rows))
	for _, n := range r.nodes {
		if n.p.Kind == pipeline.KindDestination {
			res.RowsWritten += n.stats.out.Load()
		}
	}
	res.Rejected = r.rejected.Load()
	switch {
	case err == nil:
		res.Status = Succeeded
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		res.Status, res.Error = Cancelled, "cancelled"
	default:
		res.Status, res.Error = Failed, err.Error()
	}
	r.progress(true)
	return res, err
}

// entry is where an injected row enters: a consumer's input, or (for a row a source rejected) the
// source's outputs.
type entry struct {
	n     *rnode
	input int // the consumer's input index; -1 for a source
}

// replayEntry finds where a row rejected by node id enters the plan and the schema its values are
// parsed with. For a node with several inputs, the first input whose schema has every field of the
// row is taken.
func (r *runner) replayEntry(id string, values map[string]string) (entry, *record.Schema, error) {
	n := r.by[id]
	if n == nil {
		return entry{}, nil, fmt.Errorf("node %q is no longer in the pipeline", id)
	}
	switch n.p.Kind {
	case pipeline.KindSource:
		return entry{n: n, input: -1}, n.schema, nil
	case pipeline.KindDestination:
		return entry{n: n, input: 0}, n.schema, nil
	}
	for i, in := range n.p.Inputs {
		s := r.by[in.ID].schema
		if hasFields(s, values) {
			return entry{n: n, input: i}, s, nil
		}
	}
	return entry{n: n, input: 0}, r.by[n.p.Inputs[0].ID].schema, nil
}

func hasFields(s *record.Schema, values map[string]string) bool {
	for k := range values {
		if s.Index(k) < 0 {
			return false
		}
	}
	return true
}

// reachable marks the nodes rows entering at e pass through (e's node itself for a consumer).
func (r *runner) reachable(e entry, into map[*rnode]bool) {
	var walk func(n *rnode)
	walk = func(n *rnode) {
		if into[n] {
			return
		}
		into[n] = true
		for _, o := range n.outs {
			walk(o.to)
		}
	}
	if e.input >= 0 {
		walk(e.n)
		return
	}
	for _, o := range e.n.outs {
		walk(o.to)
	}
}

// parseRow builds a row of s from text values; an unknown field or a value that does not parse is
// an error naming the field.
func parseRow(s *record.Schema, values map[string]string) (record.Row, string, error) {
	for k := range values {
		if s.Index(k) < 0 {
			return nil, k, fmt.Errorf("unknown field %q (fields are: %s)", k, strings.Join(s.Names(), ", "))
		}
	}
	row := make(record.Row, s.Len())
	for i, f := range s.Fields {
		txt, ok := values[f.Name]
		if !ok {
			row[i] = record.Null
			continue
		}
		v, err := record.Parse(txt, f.Kind)
		if err != nil {
			return nil, f.Name, err
		}
		row[i] = v
	}
	return row, "", nil
}

func (r *runner) replay(ctx context.Context, rows []Injection) (res *Result, err error) {
	r.started = r.opts.Now()
	r.runID = r.opts.RunID
	if r.runID == "" {
		r.runID = NewRunID()
	}
	res = &Result{Started: r.started, RunID: r.runID}

	defer r.closeSources()
	if err := r.openSources(ctx, nil); err != nil {
		return res, err
	}
	if err := r.initNodes(); err != nil {
		return res, err
	}

	// Where each row enters, grouped into one batch per entry in the order rows came.
	type group struct {
		e     entry
		batch *record.Batch
	}
	var groups []*group
	byEntry := map[entry]*group{}
	type lost struct {
		rj record.Reject
		n  *rnode // nil: the node is gone
	}
	var unplaced []lost
	reached := map[*rnode]bool{}
	for _, in := range rows {
		e, s, err := r.replayEntry(in.Node, in.Values)
		if err != nil {
			unplaced = append(unplaced, lost{rj: record.Reject{Node: in.Node, Source: in.Source, Pos: in.Pos,
				Reason: "replay: " + err.Error(), Values: in.Values}})
			continue
		}
		if len(in.Values) == 0 {
			unplaced = append(unplaced, lost{n: e.n, rj: record.Reject{Node: in.Node, Source: in.Source, Pos: in.Pos,
				Reason: "replay: the row has no field values (the reader kept only its raw input); give its values to replay it"}})
			continue
		}
		row, field, err := parseRow(s, in.Values)
		if err != nil {
			unplaced = append(unplaced, lost{n: e.n, rj: record.Reject{Node: in.Node, Source: in.Source, Pos: in.Pos, Field: field,
				Reason: "replay: " + err.Error(), Values: in.Values}})
			continue
		}
		g := byEntry[e]
		if g == nil {
			g = &group{e: e, batch: &record.Batch{Schema: s}}
			byEntry[e] = g
			groups = append(groups, g)
			r.reachable(e, reached)
		}
		g.batch.Rows = append(g.batch.Rows, row)
		g.batch.Pos = append(g.batch.Pos, in.Pos)
	}
	for _, n := range r.nodes {
		if !reached[n] {
			continue
		}
		if slices.Contains(r.stateful, n.p.ID) || slices.Contains(r.checkpointed, n) {
			return res, &ReplayError{Node: n.p.ID, Reason: fmt.Sprintf("the %s node keeps state across the whole run (or reads a lookup input); "+
				"rows replayed on their own would not give the run's result. Run the pipeline again instead", n.p.Type)}
		}
		if n.p.Kind == pipeline.KindDestination && n.p.Write.Mode == connector.Overwrite {
			return res, &ReplayError{Node: n.p.ID, Reason: "the destination's write mode is overwrite: it would keep only the replayed rows. " +
				"Use upsert (or append) to replay into it"}
		}
	}

	// The destinations the rows can reach.
	var workers []*destWorker
	defer func() {
		if err == nil {
			return
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		for _, d := range workers {
			d.stop()
			if aerr := d.w.Abort(actx); aerr != nil {
				r.log.Warn("abort destination", "node", d.n.p.ID, "err", aerr)
			}
		}
	}()
	wctx, cancelWriters := context.WithCancel(ctx)
	defer cancelWriters()
	for _, n := range r.nodes {
		if n.p.Kind != pipeline.KindDestination || !reached[n] {
			continue
		}
		req := connector.WriteRequest{Stream: n.p.Stream, Mode: n.p.Write.Mode, Key: n.p.Write.Key, Schema: n.schema,
			RunID: r.runID, Node: n.p.ID}
		if n.gov = r.newSchemaGov(n); n.gov != nil {
			if req, err = n.gov.open(ctx, req); err != nil {
				return res, err
			}
		}
		w, err := r.openWriter(ctx, n, req)
		if err != nil {
			return res, fmt.Errorf("open destination %s (%s): %w", n.p.ID, n.p.Type, err)
		}
		n.dest = newDestWorker(wctx, r, n, w, 0, 0)
		workers = append(workers, n.dest)
	}
	r.progress(false)

	for _, l := range unplaced {
		n := l.n
		if n == nil { // the node is gone: the row stays a dead letter under its old node id
			if err := r.rejectUnplaced(ctx, l.rj); err != nil {
				return res, err
			}
			continue
		}
		if err := r.reject(ctx, n, l.rj); err != nil {
			return res, err
		}
	}
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if g.e.input < 0 {
			g.e.n.stats.out.Add(int64(g.batch.Len()))
			err = r.push(ctx, g.e.n, g.batch)
		} else {
			err = r.deliver(ctx, edge{to: g.e.n, input: g.e.input}, g.batch)
		}
		if err != nil {
			return res, err
		}
	}
	// Flush the reached transforms in plan order (upstream first).
	for _, n := range r.nodes {
		if n.p.Kind != pipeline.KindTransform || !reached[n] {
			continue
		}
		n.out.ctx = ctx
		if err := n.node.Flush(ctx, n.out); err != nil {
			return res, nodeErr(n, err)
		}
	}
	if err := r.checkpoint(ctx, false); err != nil {
		return res, err
	}
	for _, d := range workers {
		d.stop()
	}
	for _, d := range workers {
		if err := d.finish(ctx); err != nil {
			return res, err
		}
	}
	workers = nil
	return res, nil
}

// rejectUnplaced applies the error policy to a row whose node is no longer in the plan.
func (r *runner) rejectUnplaced(ctx context.Context, rj record.Reject) error {
	r.rejected.Add(1)
	switch r.policy {
	case pipeline.Fail:
		return &RejectError{Reject: rj}
	case pipeline.Drop:
		return nil
	}
	if r.opts.DeadLetters == nil {
		return nil
	}
	r.rejectMu.Lock()
	defer r.rejectMu.Unlock()
	r.rejectBuf = append(r.rejectBuf, rj)
	return nil
}
