package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// abortTimeout bounds the clean-up (Abort, Close) of a failed or cancelled run.
const abortTimeout = 30 * time.Second

// Run executes the plan to the end of its (bounded) sources, or until ctx is cancelled. It returns
// the result in every case; the error says why a run failed (a *RejectError or *RatioError for the
// error policy, ctx.Err() when cancelled).
func Run(ctx context.Context, plan *pipeline.Plan, opts Options) (*Result, error) {
	r := newRunner(plan, opts)
	res, err := r.run(ctx)
	res.Finished = r.opts.Now()
	res.Nodes = r.stats()
	for _, n := range r.nodes {
		switch n.p.Kind {
		case pipeline.KindSource:
			res.RowsRead += n.stats.out.Load() + n.stats.rejected.Load()
		case pipeline.KindDestination:
			res.RowsWritten += n.stats.out.Load()
		}
	}
	res.Rejected = r.rejected.Load()
	res.Checkpoints = r.checkpoints
	res.Stopped = r.stopped
	r.schemas.mu.Lock()
	res.SchemaDecisions, res.Schemas = r.schemas.decisions, r.schemas.snapshots
	r.schemas.mu.Unlock()
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

func (r *runner) stats() []NodeStats {
	out := make([]NodeStats, len(r.nodes))
	for i, n := range r.nodes {
		out[i] = n.stats.snapshot(n.p)
		if n.area != nil {
			out[i].StateBytes, out[i].SpilledBytes = n.area.StateBytes(), n.area.SpilledBytes()
		}
	}
	return out
}

func (r *runner) progress(done bool) {
	if r.opts.Progress == nil {
		return
	}
	p := Progress{RunID: r.runID, Elapsed: r.opts.Now().Sub(r.started), Checkpoints: r.checkpoints,
		Nodes: r.stats(), Rejected: r.rejected.Load(), Done: done, MemoryBudget: r.budget}
	if !done {
		p.Buffers = r.buffers()
	}
	for _, n := range p.Nodes {
		switch n.Kind {
		case string(pipeline.KindSource):
			p.RowsRead += n.Out + n.Rejected
			p.BytesRead += n.Bytes
		case string(pipeline.KindDestination):
			p.RowsWritten += n.Out
		}
	}
	r.opts.Progress(p)
}

func (r *runner) run(ctx context.Context) (res *Result, err error) {
	r.started = r.opts.Now()
	res = &Result{Started: r.started}
	fp := Fingerprint(r.plan.Spec)

	var cp *Checkpoint
	if r.opts.Checkpointer != nil {
		if cp, err = r.opts.Checkpointer.Load(ctx); err != nil {
			return res, fmt.Errorf("load checkpoint: %w", err)
		}
	}
	resume := cp != nil && !cp.Complete && cp.Fingerprint == fp
	states := map[string]json.RawMessage{}
	switch {
	case resume:
		r.runID = cp.RunID
		maps.Copy(states, cp.Sources)
		res.Resumed = true
	case cp != nil && !cp.Complete:
		r.log.Warn("the pipeline changed since the interrupted run; starting from the beginning", "run", cp.RunID)
		res.Restarted = true
	case cp != nil && cp.Complete:
		for _, n := range r.plan.Sources { // incremental and stream sources continue from the last run
			if (n.Sync.Mode == connector.Incremental || n.ConnectorSpec.Unbounded) && cp.Sources[n.ID] != nil {
				states[n.ID] = cp.Sources[n.ID]
			}
		}
	}
	if r.runID == "" {
		r.runID = r.opts.RunID
		if r.runID == "" {
			r.runID = NewRunID()
		}
	}
	res.RunID = r.runID

	defer r.closeSources()
	if err := r.openSources(ctx, states); err != nil {
		return res, err
	}
	defer r.reportPositions(ctx)()
	if err := r.initNodes(); err != nil {
		return res, err
	}
	defer r.setupSpill()()
	if len(r.stateful) > 0 {
		if resume {
			r.log.Info("resuming a pipeline with stateful nodes restarts it from the beginning", "nodes", r.stateful, "run", r.runID)
			res.Resumed, res.Restarted = false, true
		} else if r.opts.Checkpointer != nil {
			r.log.Debug("pipeline has stateful nodes: if interrupted, it restarts from the beginning", "nodes", r.stateful)
		}
	}
	if err := r.restoreNodes(cp, resume); err != nil {
		return res, err
	}
	if resume && len(r.stateful) == 0 {
		for _, st := range cp.Stats {
			if n := r.by[st.ID]; n != nil {
				n.stats.restore(st)
			}
		}
		for _, st := range cp.Stats {
			r.rejected.Add(st.Rejected)
		}
	}

	// Destinations.
	var workers []*destWorker
	defer func() {
		if err == nil {
			return
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		interrupted := errors.Is(context.Cause(ctx), ErrInterrupted)
		for _, d := range workers {
			d.stop()
			if interrupted {
				// like a killed process: what was committed and staged stays for the resume
				continue
			}
			if aerr := d.w.Abort(actx); aerr != nil {
				r.log.Warn("abort destination", "node", d.n.p.ID, "err", aerr)
			}
		}
	}()
	wctx, cancelWriters := context.WithCancel(ctx)
	defer cancelWriters()
	for _, n := range r.nodes {
		if n.p.Kind != pipeline.KindDestination {
			continue
		}
		req := connector.WriteRequest{Stream: n.p.Stream, Mode: n.p.Write.Mode, Key: n.p.Write.Key, Schema: n.schema,
			RunID: r.runID, Node: n.p.ID, Resume: resume}
		if n.gov = r.newSchemaGov(n); n.gov != nil {
			if req, err = n.gov.open(ctx, req); err != nil {
				return res, err
			}
		}
		w, err := r.openWriter(ctx, n, req)
		if err != nil {
			return res, fmt.Errorf("open destination %s (%s): %w", n.p.ID, n.p.Type, err)
		}
		if resume {
			if tok := cp.Destinations[n.p.ID]; tok != nil {
				rw, ok := w.(connector.ResumableWriter)
				if !ok {
					_ = w.Abort(ctx)
					return res, fmt.Errorf("open destination %s (%s): the checkpoint holds a commit token but the writer cannot resume", n.p.ID, n.p.Type)
				}
				if err := rw.ResumeAt(ctx, tok); err != nil {
					_ = w.Abort(ctx)
					return res, &ResumeError{ID: n.p.ID, Type: n.p.Type, Err: err}
				}
			}
		}
		var delivered, skip int64
		if mw, ok := w.(connector.MarkedWriter); ok && resume {
			if delivered, skip, err = r.reconcile(ctx, n, mw, cp); err != nil {
				_ = w.Abort(ctx)
				return res, err
			}
		}
		n.dest = newDestWorker(wctx, r, n, w, delivered, skip)
		workers = append(workers, n.dest)
	}
	if resume && r.opts.DeadLetters != nil && cp.DeadLetters != nil {
		if rs, ok := r.opts.DeadLetters.(ResumableSink); ok {
			if err := rs.ResumeAt(ctx, cp.DeadLetters); err != nil {
				return res, fmt.Errorf("resume dead-letter sink: %w", err)
			}
		}
	}
	// The first checkpoint: where this run starts (a kill before the next one rewinds to here).
	if err := r.checkpoint(ctx, true); err != nil {
		return res, err
	}

	lastCommit, lastProgress := r.opts.Now(), r.opts.Now()
	tick := func(ctx context.Context) error {
		now := r.opts.Now()
		if r.sinceCommit >= r.opts.CommitRows || now.Sub(lastCommit) >= r.opts.CommitInterval {
			if err := r.checkpoint(ctx, len(r.stateful) == 0); err != nil {
				return err
			}
			lastCommit = r.opts.Now()
		}
		if now.Sub(lastProgress) >= r.opts.ProgressInterval {
			r.progress(false)
			lastProgress = now
		}
		return nil
	}
	r.progress(false)
	if w := r.parallelWorkers(); w > 1 {
		err = r.pumpParallel(ctx, w, tick)
	} else {
		err = r.pump(ctx, 0, tick)
	}
	if err != nil {
		return res, err
	}
	if err := r.checkpoint(ctx, len(r.stateful) == 0); err != nil {
		return res, err
	}
	for _, d := range workers {
		d.stop()
	}
	if r.opts.Fence != nil {
		if err := r.opts.Fence(ctx); err != nil {
			return res, err
		}
	}
	for _, d := range workers {
		if err := d.finish(ctx); err != nil {
			return res, err
		}
	}
	workers = nil
	final, err := r.newCheckpoint(fp)
	if err != nil {
		return res, err
	}
	final.Complete = true
	if r.opts.Checkpointer != nil {
		if err := r.opts.Checkpointer.Save(ctx, final); err != nil {
			return res, fmt.Errorf("save final checkpoint: %w", err)
		}
	}
	r.ack(ctx, final)
	return res, nil
}

func (r *runner) newCheckpoint(fp string) (*Checkpoint, error) {
	cp := &Checkpoint{Version: 1, RunID: r.runID, Pipeline: r.plan.Spec.Name, Fingerprint: fp,
		Sources: map[string]json.RawMessage{}, SavedAt: r.opts.Now().UTC(), Stats: r.stats()}
	for _, n := range r.nodes {
		if n.p.Kind == pipeline.KindSource && n.state != nil {
			cp.Sources[n.p.ID] = n.state
		}
	}
	for _, n := range r.checkpointed {
		st, err := n.node.(transform.Checkpointed).State()
		if err != nil {
			return nil, nodeErr(n, fmt.Errorf("save state: %w", err))
		}
		if cp.Nodes == nil {
			cp.Nodes = map[string]json.RawMessage{}
		}
		cp.Nodes[n.p.ID] = st
	}
	return cp, nil
}

// restoreNodes gives the checkpointed nodes their state from cp: when the run resumes from it, and
// when cp is the final checkpoint of a stopped stream run of the same spec (the open windows go on).
func (r *runner) restoreNodes(cp *Checkpoint, resume bool) error {
	if cp == nil || len(r.checkpointed) == 0 {
		return nil
	}
	carry := cp.Complete && r.unbounded()
	if !resume && !carry {
		return nil
	}
	if !resume && cp.Fingerprint != Fingerprint(r.plan.Spec) {
		if len(cp.Nodes) > 0 {
			r.log.Warn("the pipeline changed since the stream was stopped: the state its nodes held (open windows, remembered keys) is dropped", "nodes", slices.Collect(maps.Keys(cp.Nodes)))
		}
		return nil
	}
	for _, n := range r.checkpointed {
		st, ok := cp.Nodes[n.p.ID]
		if !ok {
			continue
		}
		if err := n.node.(transform.Checkpointed).Restore(st); err != nil {
			return &NodeError{ID: n.p.ID, Path: n.p.Path, Err: fmt.Errorf("restore state from the checkpoint of run %s: %w", cp.RunID, err)}
		}
	}
	return nil
}

// commitGrace bounds, when the run is cancelled during a checkpoint, the wait for a commit already
// asked of a destination and then the storing of the dead letters of the rows committed.
const commitGrace = 30 * time.Second

// checkpoint commits every destination and the dead-letter sink, checks the reject ratio, and (when
// save is true and there is a Checkpointer) saves a checkpoint naming exactly what was committed.
func (r *runner) checkpoint(ctx context.Context, save bool) error {
	r.sinceCommit = 0
	if r.opts.Fence != nil {
		if err := r.opts.Fence(ctx); err != nil {
			return err
		}
	}
	tokens := map[string]json.RawMessage{}
	delivered := map[string]int64{}
	for _, n := range r.nodes {
		if n.dest == nil {
			continue
		}
		res, err := n.dest.commit(ctx)
		if err != nil {
			return err
		}
		if res.token != nil {
			tokens[n.p.ID] = res.token
		}
		if res.delivered >= 0 {
			delivered[n.p.ID] = res.delivered
		}
	}
	var dlTok json.RawMessage
	if r.opts.DeadLetters != nil {
		// The destinations have committed the rows around these rejects: a cancel arriving now must
		// not drop the rejects (a cancelled run is not resumed to write them again).
		dctx, stop := context.WithTimeout(context.WithoutCancel(ctx), commitGrace)
		defer stop()
		r.rejectMu.Lock()
		err := r.flushRejectsLocked(dctx)
		r.rejectMu.Unlock()
		if err != nil {
			return err
		}
		if dlTok, err = r.opts.DeadLetters.Commit(dctx); err != nil {
			return fmt.Errorf("dead-letter sink: commit: %w", err)
		}
	}
	if err := r.checkRatio(); err != nil {
		return err
	}
	if !save {
		return nil
	}
	cp, err := r.newCheckpoint(Fingerprint(r.plan.Spec))
	if err != nil {
		return err
	}
	if r.opts.Checkpointer == nil {
		r.ack(ctx, cp) // nothing to save: the destinations' commit is what makes the position durable
		return nil
	}
	cp.Destinations, cp.DeadLetters, cp.Delivered = tokens, dlTok, delivered
	if err := r.opts.Checkpointer.Save(ctx, cp); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	r.checkpoints++
	r.ack(ctx, cp)
	return nil
}

// unbounded reports whether a source of the plan is a stream.
func (r *runner) unbounded() bool {
	for _, n := range r.plan.Sources {
		if n.ConnectorSpec.Unbounded {
			return true
		}
	}
	return false
}

func (r *runner) checkRatio() error {
	if r.maxRatio == nil {
		return nil
	}
	var read int64
	for _, n := range r.nodes {
		if n.p.Kind == pipeline.KindSource {
			read += n.stats.out.Load() + n.stats.rejected.Load()
		}
	}
	rej := r.rejected.Load()
	if read > 0 && float64(rej)/float64(read) > *r.maxRatio {
		return &RatioError{Rejected: rej, Read: read, Max: *r.maxRatio}
	}
	return nil
}

// reconcile compares a marked destination's committed marker with the checkpoint the run resumes
// from. It returns the rows delivered to the destination at the checkpoint and how many of the rows
// the resumed run replays the destination already committed (the process died between its commit and
// the checkpoint save); those are skipped. A pipeline with stateful nodes restarts from the beginning,
// so everything the destination committed is skipped.
func (r *runner) reconcile(ctx context.Context, n *rnode, mw connector.MarkedWriter, cp *Checkpoint) (delivered, skip int64, err error) {
	if len(r.stateful) == 0 {
		delivered = cp.Delivered[n.p.ID]
	}
	m, ok, err := mw.Committed(ctx)
	if err != nil {
		return 0, 0, &ResumeError{ID: n.p.ID, Type: n.p.Type, Err: fmt.Errorf("read commit marker: %w", err)}
	}
	if r.unbounded() {
		// A stream does not replay in the same order (partitions interleave as they arrive), so
		// nothing can be skipped by count: what the destination committed after the checkpoint is
		// written again (an upsert by key makes that exact). The count goes on from the marker.
		if ok && m.Rows > delivered {
			r.log.Info("destination committed rows after the last checkpoint; a stream re-delivers them", "node", n.p.ID, "rows", m.Rows-delivered, "run", r.runID)
			delivered = m.Rows
		}
		return delivered, 0, nil
	}
	switch {
	case !ok && delivered > 0:
		return 0, 0, &ResumeError{ID: n.p.ID, Type: n.p.Type, Err: fmt.Errorf(
			"the checkpoint counts %d rows committed in run %s but the destination holds no commit marker for it (removed?); the run must start afresh", delivered, r.runID)}
	case !ok:
		return 0, 0, nil
	case m.Rows < delivered:
		return 0, 0, &ResumeError{ID: n.p.ID, Type: n.p.Type, Err: fmt.Errorf(
			"the destination's commit marker counts %d rows of run %s, fewer than the %d of the checkpoint; the run must start afresh", m.Rows, r.runID, delivered)}
	}
	if skip = m.Rows - delivered; skip > 0 {
		r.log.Info("destination committed rows after the last checkpoint; the resumed run skips them", "node", n.p.ID, "rows", skip, "run", r.runID)
	}
	return delivered, skip, nil
}

// positionTimeout bounds one Positions call of a source.
const positionTimeout = 5 * time.Second

// reportPositions starts the goroutine that reports the sources' positions every PositionInterval
// (Options.Positions) and returns what stops it and waits for it (before the sources close).
func (r *runner) reportPositions(ctx context.Context) func() {
	if r.opts.Positions == nil {
		return func() {}
	}
	var srcs []*rnode
	for _, n := range r.nodes {
		if _, ok := n.currentReader().(connector.PositionReporter); ok && n.p.Kind == pipeline.KindSource {
			srcs = append(srcs, n)
		}
	}
	if len(srcs) == 0 {
		return func() {}
	}
	every := r.opts.PositionInterval
	if every <= 0 {
		every = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			out := make([]SourcePositions, 0, len(srcs))
			for _, n := range srcs {
				out = append(out, n.positions(ctx))
			}
			if ctx.Err() != nil {
				return
			}
			r.opts.Positions(out)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// positions asks the source's current reader for its positions (under readerMu: a reopen does not
// close it meanwhile).
func (n *rnode) positions(ctx context.Context) SourcePositions {
	sp := SourcePositions{Node: n.p.ID}
	n.readerMu.Lock()
	defer n.readerMu.Unlock()
	pr, ok := n.reader.(connector.PositionReporter)
	if !ok {
		sp.Error = "the source is reconnecting"
		return sp
	}
	pctx, cancel := context.WithTimeout(ctx, positionTimeout)
	defer cancel()
	ps, err := pr.Positions(pctx)
	if err != nil {
		sp.Error = err.Error()
	}
	sp.Partitions = ps
	return sp
}
