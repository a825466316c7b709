package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// RejectError fails a run whose error policy is fail; it names the row.
type RejectError struct{ Reject record.Reject }

func (e *RejectError) Error() string {
	return "row rejected (error_policy.on_reject is fail): " + describeReject(e.Reject)
}

// RatioError fails a run whose rejected rows exceed error_policy.max_reject_ratio.
type RatioError struct {
	Rejected, Read int64
	Max            float64
}

func (e *RatioError) Error() string {
	return fmt.Sprintf("%d of %d rows rejected (%.2f%%), more than error_policy.max_reject_ratio %.2f%%",
		e.Rejected, e.Read, 100*float64(e.Rejected)/float64(e.Read), 100*e.Max)
}

func describeReject(r record.Reject) string {
	var b strings.Builder
	if r.Node != "" {
		fmt.Fprintf(&b, "node %s: ", r.Node)
	}
	if r.Source != "" {
		b.WriteString(r.Source)
		if r.Pos > 0 {
			fmt.Fprintf(&b, " line %d", r.Pos)
		}
		b.WriteString(": ")
	} else if r.Pos > 0 {
		fmt.Fprintf(&b, "line %d: ", r.Pos)
	}
	if r.Field != "" {
		fmt.Fprintf(&b, "field %s: ", r.Field)
	}
	b.WriteString(r.Reason)
	return b.String()
}

// Fingerprint identifies a spec's content for checkpoints (schedule and description excluded).
func Fingerprint(s *pipeline.Spec) string {
	c := *s
	c.Schedule, c.Description = nil, ""
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:12])
}

// NewRunID returns a random run id.
func NewRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// counters are a node's live counters; destinations update theirs from their writer goroutine.
type counters struct {
	in, out, rejected, dedup, filtered, dropped, bytes atomic.Int64
}

func (c *counters) snapshot(n *pipeline.Node) NodeStats {
	return NodeStats{ID: n.ID, Kind: string(n.Kind), Type: n.Type, In: c.in.Load(), Out: c.out.Load(),
		Rejected: c.rejected.Load(), Deduplicated: c.dedup.Load(), Filtered: c.filtered.Load(),
		Dropped: c.dropped.Load(), Bytes: c.bytes.Load()}
}

// statDelta is what a parallel worker counted for one job; it is added to the shared counters when
// the job is released, so that counters saved in a checkpoint match the source positions in it.
type statDelta struct{ in, out, rejected, dedup, filtered, dropped, bytes int64 }

// take returns the counts and zeroes them (a worker's own counters).
func (c *counters) take() statDelta {
	return statDelta{c.in.Swap(0), c.out.Swap(0), c.rejected.Swap(0), c.dedup.Swap(0), c.filtered.Swap(0),
		c.dropped.Swap(0), c.bytes.Swap(0)}
}

func (c *counters) add(d statDelta) {
	c.in.Add(d.in)
	c.out.Add(d.out)
	c.rejected.Add(d.rejected)
	c.dedup.Add(d.dedup)
	c.filtered.Add(d.filtered)
	c.dropped.Add(d.dropped)
	c.bytes.Add(d.bytes)
}

func (c *counters) restore(s NodeStats) {
	c.in.Store(s.In)
	c.out.Store(s.Out)
	c.rejected.Store(s.Rejected)
	c.dedup.Store(s.Deduplicated)
	c.filtered.Store(s.Filtered)
	c.dropped.Store(s.Dropped)
	c.bytes.Store(s.Bytes)
}

type edge struct {
	to    *rnode
	input int // index of the input at the consumer
}

// rnode is a plan node at run time.
type rnode struct {
	p      *pipeline.Node
	stats  *counters // a parallel worker's clone has its own, added to the original's on release
	outs   []edge
	schema *record.Schema
	// origin names where rejected rows of this node came from, when a single source feeds it.
	origin string

	// sources
	readerMu sync.Mutex // guards reader, which a transient failure replaces while acks read it
	reader   connector.Reader
	state    json.RawMessage // after the last batch pushed through the DAG
	lookup   bool            // read to the end before other sources (feeds a join's lookup side)
	// transforms
	node        transform.Node
	endedInputs int
	out         *nodeOutput
	// destinations
	dest *destWorker
	// area is a transform.Spiller's budget and spill statistics; queued counts a source's batches
	// waiting for the driver.
	area   *transform.SpillArea
	queued atomic.Int64
	gov    *schemaGov // the schema-change policy (nil: the destination cannot describe its table)

	// In a parallel worker's clone of the DAG: collect receives what reaches destinations and the
	// rejected rows, to be released in source order; orig is the node cloned.
	collect *jobOut
	orig    *rnode
}

// runner is one run (or preview) of a plan.
type runner struct {
	plan    *pipeline.Plan
	opts    Options
	schemas schemaLog
	log     *slog.Logger
	nodes   []*rnode
	by      map[string]*rnode

	policy   pipeline.OnReject
	maxRatio *float64

	rejectMu  sync.Mutex
	rejectBuf []record.Reject
	rejected  atomic.Int64

	preview *previewState

	started     time.Time
	stopped     bool // Options.Stop ended the run
	checkpoints int
	sinceCommit int64
	stateful    []string
	// checkpointed are the stateful nodes whose state goes into checkpoints (transform.Checkpointed,
	// with a Checkpointer): they do not force a restart from the beginning.
	checkpointed []*rnode
	// tickers are the nodes that are transform.Ticker, in plan order.
	tickers []*rnode
	runID   string
	budget  int64 // the memory budget of the stateful transforms (0: none has one)
}

func newRunner(plan *pipeline.Plan, opts Options) *runner {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CommitRows <= 0 {
		opts.CommitRows = 100_000
	}
	if opts.CommitInterval <= 0 {
		opts.CommitInterval = 5 * time.Second
	}
	if opts.ProgressInterval <= 0 {
		opts.ProgressInterval = 500 * time.Millisecond
	}
	opts.Retry = opts.Retry.withDefaults()
	r := &runner{plan: plan, opts: opts, log: opts.Logger, by: map[string]*rnode{},
		policy: plan.OnReject(), maxRatio: plan.Spec.ErrorPolicy.MaxRejectRatio}
	for _, n := range plan.Nodes {
		rn := &rnode{p: n, stats: &counters{}}
		r.nodes = append(r.nodes, rn)
		r.by[n.ID] = rn
	}
	for _, rn := range r.nodes {
		for _, o := range rn.p.Outputs {
			c := r.by[o.ID]
			for i, in := range o.Inputs {
				if in.ID == rn.p.ID {
					rn.outs = append(rn.outs, edge{to: c, input: i})
				}
			}
		}
	}
	// origin: the single upstream source, named by its path config when it has one
	for _, rn := range r.nodes {
		srcs := map[string]bool{}
		upstreamSources(rn.p, srcs)
		if len(srcs) == 1 {
			for id := range srcs {
				rn.origin = id
				if p, ok := r.by[id].p.Config["path"].(string); ok && p != "" {
					rn.origin = p
				}
			}
		}
	}
	return r
}

func upstreamSources(n *pipeline.Node, into map[string]bool) {
	if n.Kind == pipeline.KindSource {
		into[n.ID] = true
		return
	}
	for _, in := range n.Inputs {
		upstreamSources(in, into)
	}
}

// markLookupSources finds the sources that feed a node's lookup inputs; they are read first.
func (r *runner) markLookupSources() error {
	for _, rn := range r.nodes {
		li, ok := rn.node.(transform.LookupInputs)
		if !ok {
			continue
		}
		lookupSide, probeSide := map[string]bool{}, map[string]bool{}
		isLookup := map[int]bool{}
		for _, i := range li.LookupInputs() {
			isLookup[i] = true
		}
		for i, in := range rn.p.Inputs {
			if isLookup[i] {
				upstreamSources(in, lookupSide)
			} else {
				upstreamSources(in, probeSide)
			}
		}
		for id := range lookupSide {
			if probeSide[id] {
				return fmt.Errorf("%s: source %q feeds both the lookup and the other side of %s; read it with two sources", rn.p.Path, id, rn.p.ID)
			}
			r.by[id].lookup = true
		}
	}
	return nil
}

// initNodes builds the transform nodes and initialises them with their input schemas, in plan order.
func (r *runner) initNodes() error {
	for _, rn := range r.nodes {
		switch rn.p.Kind {
		case pipeline.KindTransform:
			n, err := rn.p.Definition.New(configOrEmpty(rn.p.Config))
			if err != nil {
				return &NodeError{ID: rn.p.ID, Path: rn.p.Path, Err: err}
			}
			rn.node = n
			ins := make([]*record.Schema, len(rn.p.Inputs))
			for i, in := range rn.p.Inputs {
				ins[i] = r.by[in.ID].schema
			}
			s, err := n.Init(ins)
			if err != nil {
				return &NodeError{ID: rn.p.ID, Path: rn.p.Path, Err: err}
			}
			rn.schema = s
			rn.out = &nodeOutput{r: r, n: rn}
			if st, ok := n.(transform.Stateful); ok && st.Stateful() {
				if _, ok := n.(transform.Checkpointed); ok && r.opts.Checkpointer != nil {
					r.checkpointed = append(r.checkpointed, rn)
				} else {
					r.stateful = append(r.stateful, rn.p.ID)
				}
			}
			if _, ok := n.(transform.Ticker); ok {
				r.tickers = append(r.tickers, rn)
			}
			if _, ok := n.(transform.LookupInputs); ok {
				r.stateful = append(r.stateful, rn.p.ID)
			}
		case pipeline.KindDestination:
			s := r.by[rn.p.Inputs[0].ID].schema
			for _, in := range rn.p.Inputs[1:] {
				if o := r.by[in.ID].schema; !o.Equal(s) {
					return &NodeError{ID: rn.p.ID, Path: rn.p.Path, Err: fmt.Errorf("inputs %s (%s) and %s (%s) have different schemas; put a union before the destination",
						rn.p.Inputs[0].ID, s, in.ID, o)}
				}
			}
			rn.schema = s
		}
	}
	return r.markLookupSources()
}

func configOrEmpty(c map[string]any) map[string]any {
	if c == nil {
		return map[string]any{}
	}
	return c
}

// openSources opens every source reader with its state (nil: from the start).
func (r *runner) openSources(ctx context.Context, states map[string]json.RawMessage) error {
	for _, rn := range r.nodes {
		if rn.p.Kind != pipeline.KindSource {
			continue
		}
		rd, err := r.openReader(ctx, rn, states[rn.p.ID])
		if err != nil {
			return &NodeError{ID: rn.p.ID, Path: rn.p.Path, Err: fmt.Errorf("open %s source: %w", rn.p.Type, err)}
		}
		rn.reader = rd
		rn.state = states[rn.p.ID]
		rn.schema = rd.Schema()
		if rn.schema == nil {
			return fmt.Errorf("open source %s (%s): reader has no schema", rn.p.ID, rn.p.Type)
		}
	}
	return nil
}

func (r *runner) closeSources() {
	for _, rn := range r.nodes {
		if rn.reader != nil {
			if err := rn.reader.Close(); err != nil {
				r.log.Warn("close source", "node", rn.p.ID, "err", err)
			}
			rn.reader = nil
		}
	}
}

// nodeOutput is a transform's transform.Output.
type nodeOutput struct {
	r *runner
	n *rnode
	// ctx is the context of the current Process or Flush call.
	ctx context.Context
}

func (o *nodeOutput) Emit(b *record.Batch) error {
	if b == nil {
		return nil
	}
	if len(b.Rejects) > 0 { // a node may return rejects inside a batch too
		for _, rj := range b.Rejects {
			if err := o.Reject(rj); err != nil {
				return err
			}
		}
		b.Rejects = nil
	}
	if b.Len() == 0 {
		return nil
	}
	o.n.stats.out.Add(int64(b.Len()))
	if o.r.preview != nil {
		o.r.preview.sample(o.n, b)
	}
	return o.r.push(o.ctx, o.n, b)
}

func (o *nodeOutput) Reject(rj record.Reject) error {
	return o.r.reject(o.ctx, o.n, rj)
}

func (o *nodeOutput) Count(c transform.Counter, n int64) {
	switch c {
	case transform.Deduplicated:
		o.n.stats.dedup.Add(n)
	case transform.Filtered:
		o.n.stats.filtered.Add(n)
	case transform.Dropped:
		o.n.stats.dropped.Add(n)
	}
}

// push hands a batch emitted by n to every consumer. A batch going to several consumers is copied for
// all but the last, so no consumer sees another's changes.
func (r *runner) push(ctx context.Context, n *rnode, b *record.Batch) error {
	for i, e := range n.outs {
		bb := b
		if i < len(n.outs)-1 {
			bb = copyBatch(b)
		}
		if err := r.deliver(ctx, e, bb); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) deliver(ctx context.Context, e edge, b *record.Batch) error {
	c := e.to
	c.stats.in.Add(int64(b.Len()))
	switch c.p.Kind {
	case pipeline.KindTransform:
		prev := c.out.ctx
		c.out.ctx = ctx
		err := c.node.Process(ctx, e.input, b, c.out)
		c.out.ctx = prev
		if err != nil {
			return nodeErr(c, err)
		}
		return nil
	case pipeline.KindDestination:
		if r.preview != nil {
			r.preview.sample(c, b)
			return nil
		}
		if c.collect != nil {
			c.collect.outs = append(c.collect.outs, destOut{dest: c.orig, batch: b})
			return nil
		}
		return c.dest.send(ctx, b)
	}
	return nil
}

func nodeErr(n *rnode, err error) error {
	var re *RejectError
	if errors.As(err, &re) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%s %s (%s): %w", n.p.Kind, n.p.ID, n.p.Type, err)
}

func copyBatch(b *record.Batch) *record.Batch {
	w := b.Schema.Len()
	vals := make([]record.Value, len(b.Rows)*w)
	rows := make([]record.Row, len(b.Rows))
	for i, row := range b.Rows {
		r := record.Row(vals[i*w : (i+1)*w : (i+1)*w])
		copy(r, row)
		rows[i] = r
	}
	out := &record.Batch{Schema: b.Schema, Rows: rows, Bytes: b.Bytes}
	if b.Pos != nil {
		out.Pos = append([]int64(nil), b.Pos...)
	}
	return out
}

// reject applies the error policy to one rejected row. Safe for concurrent use.
func (r *runner) reject(ctx context.Context, n *rnode, rj record.Reject) error {
	if n.collect != nil { // a parallel worker: applied when the job is released, in source order
		if r.policy == pipeline.Fail {
			if rj.Node == "" {
				rj.Node = n.p.ID
			}
			if rj.Source == "" {
				rj.Source = n.origin
			}
			return &RejectError{Reject: rj}
		}
		n.collect.rejects = append(n.collect.rejects, rejectItem{n: n.orig, rj: rj})
		return nil
	}
	if rj.Node == "" {
		rj.Node = n.p.ID
	}
	if rj.Source == "" {
		rj.Source = n.origin
	}
	n.stats.rejected.Add(1)
	r.rejected.Add(1)
	if r.preview != nil {
		r.preview.reject(n, rj)
		return nil
	}
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
	if len(r.rejectBuf) >= 512 {
		return r.flushRejectsLocked(ctx)
	}
	return nil
}

func (r *runner) flushRejectsLocked(ctx context.Context) error {
	if len(r.rejectBuf) == 0 || r.opts.DeadLetters == nil {
		return nil
	}
	err := r.opts.DeadLetters.Put(ctx, r.rejectBuf)
	r.rejectBuf = r.rejectBuf[:0]
	if err != nil {
		return fmt.Errorf("dead-letter sink: %w", err)
	}
	return nil
}

// endSource propagates the end of a source: a transform whose inputs have all ended is flushed.
func (r *runner) ended(ctx context.Context, n *rnode) error {
	for _, e := range n.outs {
		c := e.to
		if c.p.Kind != pipeline.KindTransform {
			continue
		}
		c.endedInputs++
		if c.endedInputs < len(c.p.Inputs) {
			continue
		}
		c.out.ctx = ctx
		if r.keepsState(c) {
			r.log.Info("stream stopped: the node's open state goes into the final checkpoint for the next run", "node", c.p.ID)
		} else if err := c.node.Flush(ctx, c.out); err != nil {
			return nodeErr(c, err)
		}
		if err := r.ended(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// tickNodes gives the transform nodes that are transform.Ticker the time, in plan order.
func (r *runner) tickNodes(ctx context.Context) error {
	for _, n := range r.tickers {
		n.out.ctx = ctx
		if err := n.node.(transform.Ticker).Tick(ctx, r.opts.Now(), n.out); err != nil {
			return nodeErr(n, err)
		}
	}
	return nil
}

// keepsState reports whether n is a checkpointed node of a stream run that Options.Stop ended: it
// is not flushed (its input did not end); its state is saved in the final checkpoint instead.
func (r *runner) keepsState(n *rnode) bool {
	return r.stopped && r.unbounded() && slices.Contains(r.checkpointed, n)
}

// sourceQueue is how many batches the sources may have read ahead of the driver.
const sourceQueue = 4

// sourceItem is what a source goroutine hands the driver.
type sourceItem struct {
	n     *rnode
	batch *record.Batch
	state json.RawMessage
	err   error // io.EOF at the end
}

// readSource reads n until the end, ctx is done or limit rows (preview; 0: no limit) were read.
func (r *runner) readSource(ctx context.Context, n *rnode, limit int64, out chan<- sourceItem) {
	send := func(it sourceItem) bool {
		if it.batch != nil {
			n.queued.Add(1) // before the send: the driver counts it down when it takes it
		}
		select {
		case out <- it:
			return true
		case <-ctx.Done():
			if it.batch != nil {
				n.queued.Add(-1)
			}
			return false
		}
	}
	var rows int64
	src := &sourceReader{r: r, n: n, state: n.state}
	for {
		b, st, err := src.next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				send(sourceItem{n: n, err: io.EOF})
				return
			}
			send(sourceItem{n: n, err: err})
			return
		}
		if b == nil {
			continue
		}
		rows += int64(b.Len()) // before the send: the batch belongs to the driver after it
		if !send(sourceItem{n: n, batch: b, state: st}) {
			return
		}
		if limit > 0 && rows >= limit {
			send(sourceItem{n: n, err: io.EOF})
			return
		}
	}
}

// handleBatch pushes one source batch through the DAG.
func (r *runner) handleBatch(ctx context.Context, n *rnode, b *record.Batch) error {
	n.stats.bytes.Add(b.Bytes)
	for _, rj := range b.Rejects {
		if rj.Source == "" {
			rj.Source = n.origin
		}
		if err := r.reject(ctx, n, rj); err != nil {
			return err
		}
	}
	b.Rejects = nil
	if b.Len() == 0 {
		return nil
	}
	n.stats.out.Add(int64(b.Len()))
	if r.preview != nil {
		r.preview.sample(n, b)
	}
	return r.push(ctx, n, b)
}

// stop ends the sources that have not ended (Options.Stop): what they returned was pushed through;
// what they read since is dropped, and read again from the last checkpoint by the next run.
func (r *runner) stop(ctx context.Context, ended map[*rnode]bool) error {
	r.stopped = true
	r.log.Info("stop requested: finishing with what was read; the destinations commit and the sources acknowledge")
	for _, n := range r.nodes {
		if n.p.Kind == pipeline.KindSource && !ended[n] {
			ended[n] = true
			if err := r.ended(ctx, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// pump reads every source and pushes its batches through the DAG. Sources feeding a lookup input
// are read to the end first. tick is called after each batch and on each timer tick.
func (r *runner) pump(ctx context.Context, limit int64, tick func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	srcCtx, stopSources := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stopSources()
		cancel()
		wg.Wait()
	}()
	items := make(chan sourceItem, sourceQueue)
	start := func(lookup bool) int {
		n := 0
		for _, rn := range r.nodes {
			if rn.p.Kind == pipeline.KindSource && rn.lookup == lookup {
				n++
				wg.Add(1)
				go func() {
					defer wg.Done()
					r.readSource(srcCtx, rn, limit, items)
				}()
			}
		}
		return n
	}
	ended := map[*rnode]bool{}
	stopC := r.opts.Stop
	if tick == nil {
		stopC = nil // preview
	}
	active := start(true)
	secondPhase := false
	if active == 0 {
		active, secondPhase = start(false), true
	}
	var ticker *time.Ticker
	var tickC <-chan time.Time
	if tick != nil {
		ticker = time.NewTicker(min(r.opts.CommitInterval, r.opts.ProgressInterval))
		defer ticker.Stop()
		tickC = ticker.C
	}
	for active > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stopC:
			stopSources()
			wg.Wait()
			return r.stop(ctx, ended)
		case <-tickC:
			if err := r.tickNodes(ctx); err != nil {
				return err
			}
			if err := tick(ctx); err != nil {
				return err
			}
		case it := <-items:
			if it.batch != nil {
				it.n.queued.Add(-1)
			}
			switch {
			case it.err == io.EOF:
				active--
				ended[it.n] = true
				if err := r.ended(ctx, it.n); err != nil {
					return err
				}
			case it.err != nil:
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("source %s (%s): %w", it.n.p.ID, it.n.p.Type, it.err)
			default:
				r.sinceCommit += int64(it.batch.Len() + len(it.batch.Rejects))
				if err := r.handleBatch(ctx, it.n, it.batch); err != nil {
					return err
				}
				it.n.state = it.state
				if tick != nil {
					if err := tick(ctx); err != nil {
						return err
					}
				}
			}
			if active == 0 && !secondPhase {
				active, secondPhase = start(false), true
			}
		}
	}
	return nil
}
