package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// RecorderStore is what the Recorder needs from the metadata store (*store.Store implements it).
type RecorderStore interface {
	AddMetrics(ctx context.Context, b store.MetricBatch) error
	GetRun(ctx context.Context, id string) (store.Run, error)
	CountDeadLetters(ctx context.Context, runID string) (int, error)
}

var _ RecorderStore = (*store.Store)(nil)

// Defaults of RecorderOptions.
const (
	DefaultFlushInterval = 10 * time.Second
	DefaultMaxPending    = 100_000
)

// RecorderOptions configure NewRecorder.
type RecorderOptions struct {
	Store RecorderStore
	// FlushInterval is how often Run writes what was recorded (DefaultFlushInterval when 0).
	FlushInterval time.Duration
	// MaxPending bounds the points kept in memory while the store refuses writes (DefaultMaxPending
	// when 0).
	MaxPending int
	Logger     *slog.Logger
	// Clock; time.Now when nil (events carry their own time; the clock dates nothing else).
	Clock func() time.Time
}

// counts are the cumulative counters of a run, a chunk or a node.
type counts struct{ in, out, rejected, bytes int64 }

// delta returns cur - last, or cur when the counter restarted (a new attempt counts from 0).
func delta(cur, last int64) int64 {
	if cur < last {
		return cur
	}
	return cur - last
}

func (c counts) minus(last counts) counts {
	return counts{delta(c.in, last.in), delta(c.out, last.out), delta(c.rejected, last.rejected), delta(c.bytes, last.bytes)}
}

func (c counts) plus(d counts) counts {
	return counts{c.in + d.in, c.out + d.out, c.rejected + d.rejected, c.bytes + d.bytes}
}

// remainder is what final holds beyond what was counted (never negative).
func (c counts) remainder(counted counts) counts {
	return counts{max(0, c.in-counted.in), max(0, c.out-counted.out), max(0, c.rejected-counted.rejected), max(0, c.bytes-counted.bytes)}
}

func (c counts) zero() bool { return c == counts{} }

// runState is what the recorder remembers of a run between its events.
type runState struct {
	pipelineID  string
	started     bool
	progress    counts            // last cumulative counters of its progress events
	chunks      map[int]counts    // last cumulative counters of each chunk's events
	nodes       map[string]counts // last cumulative counters of each node (progress events)
	counted     counts            // what was added for the run so far
	nodeCounted map[string]counts
	lags        map[int]int64 // latest lag of each consumer instance
	seen        time.Time
}

type pointKey struct {
	pipeline string
	minute   int64
}

type nodeKey struct {
	pipeline, node string
	minute         int64
}

type finishedRun struct {
	id, pipelineID string
	status         store.RunStatus
	at             time.Time
	counted        counts
	nodeCounted    map[string]counts
}

// Recorder turns run events into metric points. Build it with NewRecorder, give it to the runs
// service as Options.Metrics, and run Run until the process stops. Publish never blocks on the
// store.
type Recorder struct {
	opts RecorderOptions
	log  *slog.Logger

	mu       sync.Mutex
	runs     map[string]*runState
	points   map[pointKey]*store.MetricPoint
	nodes    map[nodeKey]*store.MetricNodePoint
	finished []finishedRun
	done     map[string]time.Time // runs whose end was recorded lately (a repeated end is ignored)
	pending  store.MetricBatch    // a batch the store refused, written again with the next one

	// ended is signalled when a run ends, so that Run writes its figures at once (the dashboard
	// refetches on the end event and should find them) instead of at the next tick.
	ended chan struct{}

	flushMu sync.Mutex
}

var _ runs.Publisher = (*Recorder)(nil)

// NewRecorder builds a recorder.
func NewRecorder(opts RecorderOptions) (*Recorder, error) {
	if opts.Store == nil {
		return nil, errors.New("metrics: RecorderOptions.Store is required")
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{opts: opts, log: log, runs: map[string]*runState{}, points: map[pointKey]*store.MetricPoint{},
		nodes: map[nodeKey]*store.MetricNodePoint{}, done: map[string]time.Time{}, ended: make(chan struct{}, 1)}, nil
}

func minuteOf(t time.Time) int64 {
	u := t.Unix()
	return u - ((u%60)+60)%60
}

// point returns the 1-minute point of a pipeline at t (mu held).
func (r *Recorder) point(pipelineID string, t time.Time) *store.MetricPoint {
	k := pointKey{pipelineID, minuteOf(t)}
	p := r.points[k]
	if p == nil {
		p = &store.MetricPoint{PipelineID: pipelineID, Bucket: time.Unix(k.minute, 0).UTC()}
		r.points[k] = p
	}
	return p
}

func (r *Recorder) addCounts(pipelineID string, t time.Time, d counts) {
	if d.zero() {
		return
	}
	p := r.point(pipelineID, t)
	p.RowsIn += d.in
	p.RowsOut += d.out
	p.RowsRejected += d.rejected
	p.Bytes += d.bytes
}

func (r *Recorder) addNode(pipelineID, node string, t time.Time, d counts) {
	if d.zero() {
		return
	}
	k := nodeKey{pipelineID, node, minuteOf(t)}
	p := r.nodes[k]
	if p == nil {
		p = &store.MetricNodePoint{PipelineID: pipelineID, Node: node, Bucket: time.Unix(k.minute, 0).UTC()}
		r.nodes[k] = p
	}
	p.RowsIn += d.in
	p.RowsOut += d.out
	p.RowsRejected += d.rejected
	p.Bytes += d.bytes
}

func (r *Recorder) state(e runs.Event) *runState {
	rs := r.runs[e.RunID]
	if rs == nil {
		rs = &runState{pipelineID: e.PipelineID, chunks: map[int]counts{}, nodes: map[string]counts{},
			nodeCounted: map[string]counts{}, lags: map[int]int64{}}
		r.runs[e.RunID] = rs
	}
	rs.seen = e.Time
	return rs
}

// nodeCounts are a node's counters as the run's totals count them: a source's rows in are what it
// read (emitted and rejected), a destination's rows out what it wrote.
func nodeCounts(n engine.NodeStats) counts {
	c := counts{in: n.In, out: n.Out, rejected: n.Rejected, bytes: n.Bytes}
	if n.Kind == "source" {
		c.in = n.Out + n.Rejected
	}
	return c
}

// runTotals are a run's totals from its nodes' counters (the definitions of engine.Progress).
func runTotals(nodes []engine.NodeStats) counts {
	var c counts
	for _, n := range nodes {
		switch n.Kind {
		case "source":
			c.in += n.Out + n.Rejected
			c.bytes += n.Bytes
		case "destination":
			c.out += n.Out
		}
		c.rejected += n.Rejected
	}
	return c
}

// Publish records one run event (runs.Publisher). It only updates memory.
func (r *Recorder) Publish(e runs.Event) {
	if e.RunID == "" || e.PipelineID == "" {
		return
	}
	if e.Time.IsZero() {
		e.Time = r.opts.Clock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ended := r.done[e.RunID]; ended {
		return
	}
	switch e.Type {
	case runs.EventProgress:
		if e.Progress == nil {
			return
		}
		rs := r.state(e)
		p := e.Progress
		cur := counts{p.RowsRead, p.RowsWritten, p.Rejected, p.BytesRead}
		d := cur.minus(rs.progress)
		rs.progress = cur
		rs.counted = rs.counted.plus(d)
		r.addCounts(rs.pipelineID, e.Time, d)
		for _, n := range p.Nodes {
			nc := nodeCounts(n)
			nd := nc.minus(rs.nodes[n.ID])
			rs.nodes[n.ID] = nc
			rs.nodeCounted[n.ID] = rs.nodeCounted[n.ID].plus(nd)
			r.addNode(rs.pipelineID, n.ID, e.Time, nd)
		}
	case runs.EventChunk:
		if e.Chunk == nil {
			return
		}
		rs := r.state(e)
		cur := counts{in: e.Chunk.RowsRead, out: e.Chunk.RowsWritten}
		if cur.zero() {
			return // a chunk's status change, not its progress
		}
		d := cur.minus(rs.chunks[e.Chunk.Idx])
		rs.chunks[e.Chunk.Idx] = cur
		rs.counted = rs.counted.plus(d)
		r.addCounts(rs.pipelineID, e.Time, d)
	case runs.EventInstance:
		if e.Instance == nil {
			return
		}
		rs := r.state(e)
		var lag int64
		known := false
		for _, p := range e.Instance.Partitions {
			if p.Lag >= 0 {
				lag += p.Lag
				known = true
			}
		}
		if !known {
			return
		}
		rs.lags[e.Instance.Idx] = lag
		var total int64
		for _, l := range rs.lags {
			total += l
		}
		pt := r.point(rs.pipelineID, e.Time)
		pt.StreamLag = max(pt.StreamLag, total)
	case runs.EventStatus:
		switch {
		case e.Status == store.RunRunning:
			rs := r.state(e)
			if !rs.started {
				rs.started = true
				r.point(rs.pipelineID, e.Time).RunsStarted++
			}
		case e.Status.Terminal():
			f := finishedRun{id: e.RunID, pipelineID: e.PipelineID, status: e.Status, at: e.Time}
			if rs := r.runs[e.RunID]; rs != nil {
				f.counted, f.nodeCounted = rs.counted, rs.nodeCounted
				delete(r.runs, e.RunID)
			}
			r.finished = append(r.finished, f)
			r.done[e.RunID] = e.Time
			select {
			case r.ended <- struct{}{}:
			default: // a flush is already due
			}
		}
	}
}

// Run flushes every FlushInterval and as soon as a run ends, until ctx ends, then flushes once
// more (within 10 seconds).
func (r *Recorder) Run(ctx context.Context) {
	t := time.NewTicker(r.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ended:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.log.WarnContext(ctx, "metrics not written; kept for the next flush", "error", err)
			}
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := r.Flush(fctx); err != nil {
				r.log.WarnContext(fctx, "metrics not written at shutdown", "error", err)
			}
			cancel()
			return
		case <-t.C:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.log.WarnContext(ctx, "metrics not written; kept for the next flush", "error", err)
			}
		}
	}
}

// staleRun is how long a run's state is kept without an event (its end was lost).
const staleRun = 24 * time.Hour

// Flush writes what was recorded since the last flush in one transaction. The runs that ended are
// read from the store first (their final counters, times and dead letters). On error everything
// is kept for the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	points, nodes, finished, batch := r.points, r.nodes, r.finished, r.pending
	r.points, r.nodes, r.finished, r.pending = map[pointKey]*store.MetricPoint{}, map[nodeKey]*store.MetricNodePoint{}, nil, store.MetricBatch{}
	now := r.opts.Clock()
	for id, at := range r.done {
		if now.Sub(at) > time.Hour {
			delete(r.done, id)
		}
	}
	for id, rs := range r.runs {
		if now.Sub(rs.seen) > staleRun {
			delete(r.runs, id)
		}
	}
	r.mu.Unlock()

	var errs []error
	var unread []finishedRun
	extra := map[pointKey]*store.MetricPoint{}
	for _, f := range finished {
		run, err := r.opts.Store.GetRun(ctx, f.id)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile: nothing to record
		}
		if err != nil {
			errs = append(errs, err)
			unread = append(unread, f)
			continue
		}
		dl, err := r.opts.Store.CountDeadLetters(ctx, f.id)
		if err != nil {
			errs = append(errs, err)
			unread = append(unread, f)
			continue
		}
		mr, pt, nps := finishFigures(run, f, int64(dl))
		batch.Runs = append(batch.Runs, mr)
		k := pointKey{pt.PipelineID, minuteOf(pt.Bucket)}
		if x := extra[k]; x != nil {
			x.Add(pt)
		} else {
			extra[k] = &pt
		}
		batch.Nodes = append(batch.Nodes, nps...)
	}
	for _, p := range points {
		batch.Points = append(batch.Points, *p)
	}
	for _, p := range extra {
		batch.Points = append(batch.Points, *p)
	}
	for _, p := range nodes {
		batch.Nodes = append(batch.Nodes, *p)
	}
	if len(unread) > 0 {
		r.mu.Lock()
		r.finished = append(unread, r.finished...)
		r.mu.Unlock()
	}
	if batch.Empty() {
		return errors.Join(errs...)
	}
	if err := r.opts.Store.AddMetrics(ctx, batch); err != nil {
		r.keep(batch)
		return errors.Join(append(errs, err)...)
	}
	return errors.Join(errs...)
}

// keep holds a batch the store refused for the next flush, dropping the oldest points beyond
// MaxPending.
func (r *Recorder) keep(b store.MetricBatch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending.Points = append(r.pending.Points, b.Points...)
	r.pending.Nodes = append(r.pending.Nodes, b.Nodes...)
	r.pending.Runs = append(r.pending.Runs, b.Runs...)
	dropped := 0
	if n := len(r.pending.Points) - r.opts.MaxPending; n > 0 {
		r.pending.Points, dropped = r.pending.Points[n:], dropped+n
	}
	if n := len(r.pending.Nodes) - r.opts.MaxPending; n > 0 {
		r.pending.Nodes, dropped = r.pending.Nodes[n:], dropped+n
	}
	if n := len(r.pending.Runs) - r.opts.MaxPending; n > 0 {
		r.pending.Runs, dropped = r.pending.Runs[n:], dropped+n
	}
	if dropped > 0 {
		r.log.Warn("metrics dropped: the store refused writes for too long", "dropped", dropped)
	}
}

// finishFigures are what a finished run adds: its figures row, a point at the minute it finished
// (its outcome, duration, dead letters and the counts its events did not carry) and its nodes'
// remaining counts.
func finishFigures(run store.Run, f finishedRun, deadLetters int64) (store.MetricRun, store.MetricPoint, []store.MetricNodePoint) {
	at := f.at
	if run.FinishedAt != nil {
		at = *run.FinishedAt
	}
	var nodes []engine.NodeStats
	if len(run.NodeStats) > 0 {
		_ = json.Unmarshal(run.NodeStats, &nodes) // unreadable stats: the counted figures stand
	}
	final := runTotals(nodes)
	rest := final.remainder(f.counted)
	total := f.counted.plus(rest)
	status := run.Status
	if !status.Terminal() {
		status = f.status
	}
	pt := store.MetricPoint{PipelineID: run.PipelineID, Bucket: at, RowsIn: rest.in, RowsOut: rest.out, RowsRejected: rest.rejected,
		Bytes: rest.bytes, DeadLetters: deadLetters}
	switch status {
	case store.RunSucceeded:
		pt.RunsSucceeded = 1
	case store.RunFailed:
		pt.RunsFailed = 1
	case store.RunCancelled:
		pt.RunsCancelled = 1
	}
	mr := store.MetricRun{RunID: run.ID, PipelineID: run.PipelineID, Status: status, StartedAt: run.StartedAt, FinishedAt: at,
		RowsIn: total.in, RowsOut: total.out, RowsRejected: total.rejected, Bytes: total.bytes, DeadLetters: deadLetters}
	if run.StartedAt != nil {
		d := max(0, at.Sub(*run.StartedAt).Milliseconds())
		mr.DurationMs = &d
		pt.DurationMsSum, pt.DurationCount = d, 1
	}
	var nps []store.MetricNodePoint
	for _, n := range nodes {
		rest := nodeCounts(n).remainder(f.nodeCounted[n.ID])
		if !rest.zero() {
			nps = append(nps, store.MetricNodePoint{PipelineID: run.PipelineID, Node: n.ID, Bucket: at,
				RowsIn: rest.in, RowsOut: rest.out, RowsRejected: rest.rejected, Bytes: rest.bytes})
		}
	}
	return mr, pt, nps
}
