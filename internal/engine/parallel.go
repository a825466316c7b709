package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// Parallel processing: when no node keeps state across batches, each worker runs its own instance of
// every transformation node on whole source batches, and the driver releases the results to the
// destinations in the order the sources produced them. Order matters: a checkpoint names a source
// position, so every row before it must have reached the destinations, and nothing after it.

type destOut struct {
	dest  *rnode
	batch *record.Batch
}

type rejectItem struct {
	n  *rnode
	rj record.Reject
}

// jobOut is what one source batch produced.
type jobOut struct {
	outs    []destOut
	rejects []rejectItem
	stats   []statDelta // per node, in plan order
}

type job struct {
	seq   uint64
	rows  int64
	src   *rnode
	batch *record.Batch
	state json.RawMessage
}

type jobResult struct {
	job
	out jobOut
	err error
}

// parallelWorkers returns how many workers to use: 1 when a node is stateful or has lookup inputs
// (batches must then meet one node instance, in order).
func (r *runner) parallelWorkers() int {
	if len(r.stateful) > 0 || len(r.checkpointed) > 0 || len(r.tickers) > 0 || r.preview != nil {
		return 1
	}
	w := r.opts.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return w
}

// worker is a clone of the DAG with its own node instances.
type worker struct {
	r     *runner
	by    map[*rnode]*rnode // original -> clone
	nodes []*rnode
	out   jobOut
}

func (r *runner) newWorker() (*worker, error) {
	w := &worker{r: r, by: map[*rnode]*rnode{}}
	for _, rn := range r.nodes {
		c := &rnode{p: rn.p, stats: &counters{}, schema: rn.schema, origin: rn.origin, orig: rn, collect: &w.out}
		if rn.p.Kind == pipeline.KindTransform {
			n, err := rn.p.Definition.New(configOrEmpty(rn.p.Config))
			if err != nil {
				return nil, &NodeError{ID: rn.p.ID, Path: rn.p.Path, Err: err}
			}
			ins := make([]*record.Schema, len(rn.p.Inputs))
			for i, in := range rn.p.Inputs {
				ins[i] = r.by[in.ID].schema
			}
			if _, err := n.Init(ins); err != nil {
				return nil, &NodeError{ID: rn.p.ID, Path: rn.p.Path, Err: err}
			}
			c.node = n
			c.out = &nodeOutput{r: r, n: c}
		}
		w.by[rn] = c
		w.nodes = append(w.nodes, c)
	}
	for _, rn := range r.nodes {
		c := w.by[rn]
		for _, e := range rn.outs {
			c.outs = append(c.outs, edge{to: w.by[e.to], input: e.input})
		}
	}
	return w, nil
}

func (w *worker) process(ctx context.Context, j job) jobResult {
	w.out = jobOut{}
	err := w.r.handleBatch(ctx, w.by[j.src], j.batch)
	w.takeStats()
	return jobResult{job: j, out: w.out, err: err}
}

func (w *worker) takeStats() {
	w.out.stats = make([]statDelta, len(w.nodes))
	for i, c := range w.nodes {
		w.out.stats[i] = c.stats.take()
	}
}

// flush ends every source in the worker's clone, flushing its nodes; what they emit is returned.
func (w *worker) flush(ctx context.Context) (jobOut, error) {
	w.out = jobOut{}
	for _, c := range w.nodes {
		if c.p.Kind == pipeline.KindSource {
			if err := w.r.ended(ctx, c); err != nil {
				return jobOut{}, err
			}
		}
	}
	w.takeStats()
	return w.out, nil
}

// release applies a job's rejects and sends its batches to the destinations, in source order.
func (r *runner) release(ctx context.Context, o jobOut) error {
	for i, d := range o.stats {
		r.nodes[i].stats.add(d)
	}
	for _, ri := range o.rejects {
		if err := r.reject(ctx, ri.n, ri.rj); err != nil {
			return err
		}
	}
	for _, d := range o.outs {
		if err := d.dest.dest.send(ctx, d.batch); err != nil {
			return err
		}
	}
	return nil
}

// pumpParallel is pump with n workers running the transformation nodes.
func (r *runner) pumpParallel(ctx context.Context, n int, tick func(ctx context.Context) error) error {
	workers := make([]*worker, n)
	for i := range workers {
		w, err := r.newWorker()
		if err != nil {
			return err
		}
		workers[i] = w
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	maxInflight := 2 * n
	jobs := make(chan job, maxInflight)
	results := make(chan jobResult, maxInflight)
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res := w.process(ctx, j)
				select {
				case results <- res:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	items := make(chan sourceItem, sourceQueue)
	srcCtx, stopSources := context.WithCancel(ctx)
	var srcWG sync.WaitGroup
	active := 0
	for _, rn := range r.nodes {
		if rn.p.Kind == pipeline.KindSource {
			active++
			srcWG.Add(1)
			go func() {
				defer srcWG.Done()
				r.readSource(srcCtx, rn, 0, items)
			}()
		}
	}
	defer srcWG.Wait()
	defer stopSources()
	stopC := r.opts.Stop
	ticker := time.NewTicker(min(r.opts.CommitInterval, r.opts.ProgressInterval))
	defer ticker.Stop()

	var next, released uint64 // next sequence number to hand out, and to release
	pending := map[uint64]jobResult{}
	inflight := 0
	var itemsC <-chan sourceItem = items
	defer close(jobs)
	for active > 0 || inflight > 0 {
		if inflight >= maxInflight || active == 0 {
			itemsC = nil // wait for results before reading on
		} else {
			itemsC = items
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stopC:
			// the batches handed out are released; the sources read no more
			stopC, active, r.stopped = nil, 0, true
			stopSources()
			r.log.Info("stop requested: finishing with what was read; the destinations commit and the sources acknowledge")
		case <-ticker.C:
			if err := tick(ctx); err != nil {
				return err
			}
		case it := <-itemsC:
			if it.batch != nil {
				it.n.queued.Add(-1)
			}
			switch {
			case errors.Is(it.err, io.EOF):
				active--
			case it.err != nil:
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("source %s (%s): %w", it.n.p.ID, it.n.p.Type, it.err)
			default:
				jobs <- job{seq: next, rows: int64(it.batch.Len() + len(it.batch.Rejects)), src: it.n, batch: it.batch, state: it.state}
				next++
				inflight++
			}
		case res := <-results:
			pending[res.seq] = res
			for {
				jr, ok := pending[released]
				if !ok {
					break
				}
				delete(pending, released)
				released++
				inflight--
				if jr.err != nil {
					return jr.err
				}
				if err := r.release(ctx, jr.out); err != nil {
					return err
				}
				jr.src.state = jr.state
				r.sinceCommit += jr.rows
				if err := tick(ctx); err != nil {
					return err
				}
			}
		}
	}
	// Every batch is released; end the sources in each worker (stateless nodes rarely emit here).
	for _, w := range workers {
		o, err := w.flush(ctx)
		if err != nil {
			return err
		}
		if err := r.release(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

var _ transform.Output = (*nodeOutput)(nil)
