package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/runner"
	"github.com/dataaggregator/aggregator/internal/schemachange"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Partitioned runs. A run whose source asks for partitioning (pipeline.Plan.Partitioned) is split
// by the worker that claims it: the source's Partitioner cuts its key into ranges, and one store
// transaction records a chunk per range (store.Chunk) with one ChunkArgs job each. The run then
// stays running, without a lease of its own, while any worker of any process runs its chunks, each
// an engine run over the same plan with the source restricted to the chunk's range, under the same
// machinery as a run: a lease (heartbeats that also carry the run's cancel request), a checkpoint
// of its own to resume from after a take-over, a fence by worker and attempt before every commit,
// retries of retryable failures with the pipeline's backoff. The engine run of chunk i is named
// "<run id>#<i>", so exactly-once markers (connector.MarkedWriter) and staging objects are the
// chunk's own. Whoever ends the last chunk records the run's outcome in the same transaction,
// under the run's row lock (exactly once however many processes run): succeeded when every chunk
// succeeded, else failed (a chunk failed for good: the queued chunks are cancelled and the running
// ones stop at their next heartbeat) or cancelled.

// EventChunk carries the state of one chunk of a partitioned run (Event.Chunk): when it starts,
// with its progress, and when it ends or is queued again.
const EventChunk = "run.chunk"

// ChunkEvent is the state of a chunk in an EventChunk.
type ChunkEvent struct {
	Idx           int             `json:"idx"`
	Status        store.RunStatus `json:"status"`
	Attempt       int             `json:"attempt"`
	WorkerID      string          `json:"worker_id,omitempty"`
	RowsRead      int64           `json:"rows_read"`
	RowsWritten   int64           `json:"rows_written"`
	RowsPerSecond float64         `json:"rows_per_second,omitempty"`
	Error         string          `json:"error,omitempty"`
}

// ChunkArgs is the River job of one chunk of a partitioned run: "run chunk Idx of RunID if it is
// still queued". A chunk has one job per attempt; a job whose chunk is not queued does nothing.
type ChunkArgs struct {
	RunID string `json:"run_id"`
	Idx   int    `json:"idx"`
}

// Kind is the River job kind.
func (ChunkArgs) Kind() string { return "run_chunk" }

// InsertOpts puts chunk jobs in QueueRuns, like runs.
func (ChunkArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueRuns, MaxAttempts: 25}
}

// chunkKey names a chunk in the active map and is the engine run id of the chunk.
func chunkKey(runID string, idx int) string { return fmt.Sprintf("%s#%d", runID, idx) }

// split partitions a claimed run when its source asks for it: it records the chunks and their jobs
// in one transaction and reports true (the run's job is done). It reports false for a run that is
// not partitioned, with its plan (nil when planning failed: execute then fails the run with the
// problems), so that a run is planned once.
func (q *River) split(ctx context.Context, run store.Run, pol Policy) (*pipeline.Plan, bool) {
	if run.ReplayOf != "" {
		return nil, false
	}
	plan, err := q.svc.loadPlan(ctx, run)
	if err != nil {
		return nil, false
	}
	if plan.Deployed() {
		q.deploy(ctx, run, pol, plan)
		return nil, true
	}
	src := plan.Partitioned()
	if src == nil {
		return plan, false
	}
	p, ok := src.Source.(connector.Partitioner)
	if !ok {
		return plan, false
	}
	// the queued event first (see Service.enqueuing)
	q.svc.enqueuing.Lock()
	//lint:ignore SA2001 the lock is a barrier: taking it is the point, nothing is guarded
	q.svc.enqueuing.Unlock()
	q.svc.publishStatus(run, "")
	ranges, err := p.Partitions(ctx, q.svc.env, src.Config, connector.ReadRequest{Stream: src.Stream, Mode: src.Sync.Mode})
	if err == nil && len(ranges) == 0 {
		err = fmt.Errorf("source %s: the partitioner returned no key range", src.ID)
	}
	if err == nil {
		err = q.svc.st.InTx(ctx, func(tx *store.Tx) error {
			chunks := make([]store.Chunk, len(ranges))
			jobs := make([]river.InsertManyParams, len(ranges))
			for i, r := range ranges {
				chunks[i] = store.Chunk{Idx: i, Field: r.Field, Lo: r.Lo, Hi: r.Hi}
				jobs[i] = river.InsertManyParams{Args: ChunkArgs{RunID: run.ID, Idx: i}}
			}
			if err := tx.CreateChunks(ctx, run.ID, chunks); err != nil {
				return err
			}
			if _, err := q.client.InsertManyTx(ctx, tx.SQL(), jobs); err != nil {
				return fmt.Errorf("insert chunk jobs: %w", err)
			}
			return tx.EndAttempt(ctx, run.ID, run.Attempt, "partitioned", fmt.Sprintf("split into %d chunks", len(ranges)))
		})
	}
	if err != nil {
		why := fmt.Sprintf("split source %s into chunks: %v", src.ID, err)
		q.svc.runLogLine(ctx, run.ID, "error", why)
		q.record(ctx, run, pol, outcome{status: store.RunFailed, err: why, retryable: Retryable(err)})
		return nil, true
	}
	desc := make([]string, 0, min(len(ranges), 4))
	for i, r := range ranges[:min(len(ranges), 4)] {
		desc = append(desc, fmt.Sprintf("%d: %s", i, r))
	}
	if len(ranges) > 4 {
		desc = append(desc, "...")
	}
	q.svc.runLogLine(ctx, run.ID, "info", fmt.Sprintf("partitioned by %s into %d chunks that run in parallel on the queue's workers (%s)",
		ranges[0].Field, len(ranges), strings.Join(desc, "; ")))
	for i := range ranges {
		q.svc.publishChunk(run, ChunkEvent{Idx: i, Status: store.RunQueued})
	}
	return nil, true
}

// chunkWorker executes chunk jobs.
type chunkWorker struct {
	river.WorkerDefaults[ChunkArgs]
	q *River
}

// Timeout: none from River; a chunk's limit is its pipeline's policy.timeout.
func (w *chunkWorker) Timeout(*river.Job[ChunkArgs]) time.Duration { return -1 }

func (w *chunkWorker) Work(ctx context.Context, job *river.Job[ChunkArgs]) error {
	return w.q.workChunk(ctx, job.Args.RunID, job.Args.Idx, job.CreatedAt)
}

// RunChunkJob does what a chunk's job does, in the caller's goroutine (tests use it).
func (q *River) RunChunkJob(ctx context.Context, runID string, idx int) error {
	return q.workChunk(ctx, runID, idx, q.opts.Now())
}

// workChunk claims a queued chunk of a running run, executes it under a lease and records the
// outcome.
func (q *River) workChunk(jobCtx context.Context, runID string, idx int, queuedAt time.Time) error {
	c, err := q.svc.st.GetChunk(jobCtx, runID, idx)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted with its run
	}
	if err != nil {
		return fmt.Errorf("load chunk %d of run %s: %w", idx, runID, err)
	}
	if c.Status != store.RunQueued {
		return nil
	}
	claimed, err := q.svc.st.ClaimChunk(jobCtx, runID, idx, q.opts.WorkerID)
	switch {
	case errors.Is(err, store.ErrConflict):
		// the run has a cancel request, or ended: settle it (cancels the queued chunks)
		if run, err := q.svc.st.GetRun(jobCtx, runID); err == nil && run.Status == store.RunRunning && run.CancelRequested {
			q.svc.cancelChunks(jobCtx, runID)
		}
		return nil
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("claim chunk %d of run %s: %w", idx, runID, err)
	}
	run, err := q.svc.st.GetRun(jobCtx, runID)
	if err != nil {
		return fmt.Errorf("load run %s: %w", runID, err)
	}
	pol, err := q.svc.policyOf(jobCtx, run)
	if err != nil {
		pol = Policy{RunPolicy: (*pipeline.Policy)(nil).Effective()}
	}
	q.stats.waited(q.opts.Now().Sub(queuedAt))
	q.running.Add(1)
	defer q.running.Add(-1)
	start := time.Now()
	q.executeChunk(jobCtx, run, claimed, pol)
	q.stats.ran(time.Since(start))
	return nil
}

// executeChunk runs a claimed chunk under a lease and records its outcome (as execute does for a
// run). A cancel request of the run, the run's end or a failed sibling stops the chunk (cancelled);
// the loss of the chunk to another worker stops it (lost).
func (q *River) executeChunk(jobCtx context.Context, run store.Run, c store.Chunk, pol Policy) {
	drain := make(chan struct{}) // closed: an instance of a deployment stops cleanly
	var drainOnce sync.Once
	beat := func(ctx context.Context) (bool, error) {
		stop, err := q.svc.st.ChunkHeartbeat(ctx, c.RunID, c.Idx, q.opts.WorkerID, c.Attempt)
		if strings.HasPrefix(stop, "deployment ") {
			drainOnce.Do(func() { close(drain) })
			return false, err
		}
		return stop != "", err
	}
	ctx, out := q.underLease(jobCtx, chunkKey(run.ID, c.Idx), pol, beat, []any{"run_id", c.RunID, "chunk", c.Idx}, func(ctx context.Context) outcome {
		return q.svc.executeChunk(ctx, run, c, drain)
	})
	q.recordChunk(ctx, run, c, pol, out)
}

// recordChunk writes the outcome of a chunk's attempt: back to the queue (interrupted, or a
// retryable failure within policy.retries), or its end, which may settle the run.
func (q *River) recordChunk(ctx context.Context, run store.Run, c store.Chunk, pol Policy, out outcome) {
	label := fmt.Sprintf("chunk %d (%s)", c.Idx, chunkRange(c))
	switch {
	case out.lost:
		q.log.WarnContext(ctx, "the chunk was taken over by another worker (this one had stopped sending heartbeats); this attempt stopped without committing or recording anything",
			"run_id", run.ID, "chunk", c.Idx, "attempt", c.Attempt)
		return
	case out.review != nil:
		if err := q.svc.pauseChunk(ctx, run, c, out); err != nil && !errors.Is(err, store.ErrConflict) {
			q.log.ErrorContext(ctx, "pause run for a chunk's schema review", "run_id", run.ID, "chunk", c.Idx, "error", err)
		}
		return
	case out.interrupted:
		if err := q.requeueChunk(ctx, run, c, c.WorkerID, out.err, time.Time{}); err != nil && !errors.Is(err, store.ErrConflict) {
			q.log.ErrorContext(ctx, "requeue interrupted chunk", "run_id", run.ID, "chunk", c.Idx, "error", err)
		}
		return
	case out.status == store.RunFailed && out.retryable && c.Attempt <= pol.Retries:
		delay := pol.backoff(c.Attempt)
		why := fmt.Sprintf("%s: attempt %d failed with a retryable error: %s; retry %d of %d in %s (the other chunks go on)",
			label, c.Attempt, out.err, c.Attempt, pol.Retries, delay.Round(time.Millisecond))
		if err := q.requeueChunk(ctx, run, c, c.WorkerID, why, q.opts.Now().Add(delay)); err != nil {
			if !errors.Is(err, store.ErrConflict) {
				q.log.ErrorContext(ctx, "requeue chunk for a retry", "run_id", run.ID, "chunk", c.Idx, "error", err)
			}
			return
		}
		q.svc.runLogLine(ctx, run.ID, "warn", why)
		return
	}
	read, written := statsRows(out.stats)
	end := store.ChunkEnd{Status: out.status, Error: out.err, NodeStats: out.stats, RowsRead: read, RowsWritten: written,
		WorkerID: q.opts.WorkerID, Attempt: c.Attempt}
	if err := q.svc.endChunk(ctx, run.ID, c, end); err != nil {
		if errors.Is(err, store.ErrConflict) {
			q.log.WarnContext(ctx, "chunk outcome not recorded: another worker owns the chunk now", "run_id", run.ID, "chunk", c.Idx, "status", out.status)
			return
		}
		q.log.ErrorContext(ctx, "record chunk outcome", "run_id", run.ID, "chunk", c.Idx, "error", err)
	}
}

// pauseChunk parks a chunk whose destination's schema changes await a review: the chunk goes back
// to queued without a job (it wrote nothing: the engine rolled its destinations back) and, in the
// same transaction under the run's lock, the run pauses awaiting approval with the chunk's diff,
// unless another chunk paused it first. The running chunks go on (ChunkHeartbeat does not stop
// them); queued chunks are not claimed while the run waits. The approval queues every queued chunk
// again (Service.decide); a rejection cancels them.
func (s *Service) pauseChunk(ctx context.Context, run store.Run, c store.Chunk, out outcome) error {
	raw, err := json.Marshal(out.review)
	if err != nil {
		return err
	}
	var paused, fin *store.Run
	after := func() {}
	status, why := store.RunQueued, "awaiting approval of schema changes"
	s.enqueuing.RLock()
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.LockRun(ctx, run.ID)
		if err != nil {
			return err
		}
		if cur.Status.Terminal() || cur.CancelRequested {
			// the run ended (its review was rejected while this chunk ran) or is being cancelled:
			// nothing will queue the chunk again, so it ends here, cancelled
			status, why = store.RunCancelled, "cancelled: the run ended while this chunk found schema changes to review: "+out.err
			if err := tx.EndChunk(ctx, run.ID, c.Idx, store.ChunkEnd{Status: status, Error: why, NodeStats: out.stats,
				WorkerID: c.WorkerID, Attempt: c.Attempt}); err != nil {
				return err
			}
			fin, after, err = s.settle(ctx, tx, cur)
			return err
		}
		if rv, _ := ReviewOf(cur); cur.Status == store.RunRunning && out.review != nil && approvedAlready(rv, out.review) {
			// the chunk started before the approval of these very changes: it runs again, with them
			if cq, ok := s.queue.(chunkQueue); ok {
				status, why = store.RunQueued, "the schema changes it found were approved meanwhile: it runs again with them"
				if err := tx.EndChunk(ctx, run.ID, c.Idx, store.ChunkEnd{Status: status, Error: why, NodeStats: out.stats,
					WorkerID: c.WorkerID, Attempt: c.Attempt}); err != nil {
					return err
				}
				return cq.EnqueueChunks(ctx, tx, run.ID, []int{c.Idx})
			}
		}
		if err := tx.EndChunk(ctx, run.ID, c.Idx, store.ChunkEnd{Status: store.RunQueued, Error: "awaiting approval of schema changes: " + out.err,
			NodeStats: out.stats, WorkerID: c.WorkerID, Attempt: c.Attempt}); err != nil {
			return err
		}
		if cur.Status == store.RunRunning {
			r, err := tx.PauseChunkedRun(ctx, run.ID, raw)
			if err != nil {
				return err
			}
			paused = &r
		}
		return nil
	})
	s.enqueuing.RUnlock()
	if err != nil {
		return err
	}
	s.publishChunk(run, ChunkEvent{Idx: c.Idx, Status: status, Attempt: c.Attempt, Error: why})
	s.finished(ctx, fin)
	after()
	if paused != nil {
		s.runLogLine(ctx, run.ID, "warn", fmt.Sprintf("run paused: chunk %d (%s) needs a review of schema changes: %s", c.Idx, chunkRange(c), out.err))
		s.publishStatus(*paused, out.err)
	}
	return nil
}

// approvedAlready says whether the run's review rv approved every change that need asks about
// (same destination, column, kind and new type).
func approvedAlready(rv, need *SchemaReview) bool {
	if rv == nil || rv.Status != ReviewApproved || len(need.Changes) == 0 {
		return false
	}
	for _, c := range need.Changes {
		if !slices.ContainsFunc(rv.Approved[need.Node], func(a schemachange.Change) bool {
			return a.Column == c.Column && a.Kind == c.Kind && a.NewType == c.NewType
		}) {
			return false
		}
	}
	return true
}

// requeueChunk puts a running chunk owned by worker ("" any) in attempt c.Attempt back in the
// queue with a new job due at at (zero: now), in one transaction; the chunk resumes from its own
// checkpoint.
func (q *River) requeueChunk(ctx context.Context, run store.Run, c store.Chunk, worker, reason string, at time.Time) error {
	err := q.svc.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.EndChunk(ctx, c.RunID, c.Idx, store.ChunkEnd{Status: store.RunQueued, Error: reason, WorkerID: worker, Attempt: c.Attempt}); err != nil {
			return err
		}
		opts := &river.InsertOpts{}
		if !at.IsZero() {
			opts.ScheduledAt = at
		}
		if _, err := q.client.InsertTx(ctx, tx.SQL(), ChunkArgs{RunID: c.RunID, Idx: c.Idx}, opts); err != nil {
			return fmt.Errorf("insert job of chunk %d of run %s: %w", c.Idx, c.RunID, err)
		}
		return nil
	})
	if err == nil {
		q.svc.publishChunk(run, ChunkEvent{Idx: c.Idx, Status: store.RunQueued, Attempt: c.Attempt, Error: reason})
	}
	return err
}

// checkStaleChunks deals with running chunks whose heartbeat is older than Lease, as CheckLeases
// does with runs: a chunk of a run that was cancelled or ended stops, one that has had its
// attempts fails (and with it the run), any other is queued again to resume from its checkpoint.
func (q *River) checkStaleChunks(ctx context.Context) error {
	stale, err := q.svc.st.FindStaleChunks(ctx, q.opts.Now().Add(-q.opts.Lease))
	if err != nil {
		return err
	}
	for _, c := range stale {
		run, err := q.svc.st.GetRun(ctx, c.RunID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return err
		}
		why := fmt.Sprintf("chunk %d (%s): worker %s stopped sending heartbeats (last %s): the process died, was killed, paused or hung",
			c.Idx, chunkRange(c), c.WorkerID, heartbeatText(c.HeartbeatAt))
		pol, _ := q.svc.policyOf(ctx, run)
		limit := max(q.opts.MaxAttempts, pol.Retries+1)
		var end store.ChunkEnd
		switch {
		case run.CancelRequested || run.Status != store.RunRunning:
			end = store.ChunkEnd{Status: store.RunCancelled, Error: "cancelled (its worker had stopped)"}
		case c.Attempt >= limit && !isInstance(c): // an instance of a deployment always runs again
			end = store.ChunkEnd{Status: store.RunFailed, Error: fmt.Sprintf("gave up after %d attempts (RUN_MAX_ATTEMPTS %d); %s", c.Attempt, limit, why)}
		}
		if end.Status != "" {
			end.WorkerID, end.Attempt = c.WorkerID, c.Attempt
			if err := q.svc.endChunk(ctx, run.ID, c, end); err != nil && !errors.Is(err, store.ErrConflict) {
				return err
			}
			continue
		}
		err = q.requeueChunk(ctx, run, c, c.WorkerID, why, time.Time{})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		q.svc.runLogLine(ctx, run.ID, "warn", fmt.Sprintf("%s; chunk queued again (attempt %d of %d) to resume from its last checkpoint", why, c.Attempt+1, limit))
		q.log.WarnContext(ctx, "took over a stale chunk", "run_id", run.ID, "chunk", c.Idx, "worker", c.WorkerID)
	}
	return nil
}

// endChunk ends a running chunk (fenced by end.WorkerID and end.Attempt) and, in the same
// transaction under the run's lock, cancels the queued chunks when it failed and settles the run
// when no chunk is left to run. It publishes what changed.
func (s *Service) endChunk(ctx context.Context, runID string, c store.Chunk, end store.ChunkEnd) error {
	var fin *store.Run
	var run store.Run
	after := func() {}
	s.enqueuing.RLock()
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if run, err = tx.LockRun(ctx, runID); err != nil {
			return err
		}
		if err := tx.EndChunk(ctx, runID, c.Idx, end); err != nil {
			return err
		}
		if end.Status == store.RunFailed {
			if _, err := tx.CancelQueuedChunks(ctx, runID, fmt.Sprintf("cancelled: chunk %d failed", c.Idx)); err != nil {
				return err
			}
		}
		fin, after, err = s.settle(ctx, tx, run)
		return err
	})
	s.enqueuing.RUnlock()
	if err != nil {
		return err
	}
	s.publishChunk(run, ChunkEvent{Idx: c.Idx, Status: end.Status, Attempt: end.Attempt, WorkerID: end.WorkerID,
		RowsRead: end.RowsRead, RowsWritten: end.RowsWritten, Error: end.Error})
	level := "info"
	if end.Status != store.RunSucceeded {
		level = "warn"
	}
	msg := fmt.Sprintf("chunk %d (%s) %s: %d rows read, %d written", c.Idx, chunkRange(c), end.Status, end.RowsRead, end.RowsWritten)
	if end.Error != "" {
		msg += ": " + end.Error
	}
	s.runLogLine(ctx, runID, level, msg)
	s.finished(ctx, fin)
	after()
	return nil
}

// cancelChunks cancels the queued chunks of a partitioned run with a cancel request and settles it
// when none runs (Service.Cancel; the running chunks stop at their next heartbeat).
func (s *Service) cancelChunks(ctx context.Context, runID string) {
	var fin *store.Run
	var run store.Run
	var n int
	after := func() {}
	s.enqueuing.RLock()
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if run, err = tx.LockRun(ctx, runID); err != nil {
			return err
		}
		if n, err = tx.CancelQueuedChunks(ctx, runID, errCancelRequested.Error()); err != nil {
			return err
		}
		fin, after, err = s.settle(ctx, tx, run)
		return err
	})
	s.enqueuing.RUnlock()
	if err != nil {
		s.log.WarnContext(ctx, "cancel chunks", "run_id", runID, "error", err)
		return
	}
	if n > 0 {
		chunks, _ := s.st.ListChunks(ctx, runID)
		for _, c := range chunks {
			if c.Status == store.RunCancelled {
				s.publishChunk(run, ChunkEvent{Idx: c.Idx, Status: c.Status, Attempt: c.Attempt, Error: c.Error})
			}
		}
	}
	s.finished(ctx, fin)
	after()
}

// finished publishes and logs the outcome settle recorded (nil: none).
func (s *Service) finished(ctx context.Context, fin *store.Run) {
	if fin == nil {
		return
	}
	msg := "run " + string(fin.Status) + ": every chunk ended"
	if fin.Error != "" {
		msg += "; " + fin.Error
	}
	s.runLogLine(ctx, fin.ID, map[bool]string{true: "info", false: "error"}[fin.Status == store.RunSucceeded], msg)
	s.publishStatus(*fin, fin.Error)
}

// settle records the outcome of a partitioned run (run, locked by tx) when none of its chunks is
// queued or running, and returns it (nil when chunks are left, or the run already ended) with what
// to do once tx has committed. A success starts the dependent pipelines in tx (triggers.after), as
// the success of any run does: the caller holds s.enqueuing for reading.
func (s *Service) settle(ctx context.Context, tx *store.Tx, run store.Run) (*store.Run, func(), error) {
	none := func() {}
	if run.Status != store.RunRunning {
		return nil, none, nil
	}
	chunks, err := tx.ListChunks(ctx, run.ID)
	if err != nil {
		return nil, none, err
	}
	if len(chunks) == 0 {
		return nil, none, nil
	}
	status, why := store.RunSucceeded, ""
	instances := isInstance(chunks[0])
	if instances && someActive(chunks) {
		return nil, none, s.rejoinStopped(ctx, tx, run.ID, chunks)
	}
	for _, c := range chunks {
		switch c.Status {
		case store.RunQueued, store.RunRunning:
			return nil, none, nil
		case store.RunFailed:
			if status != store.RunFailed {
				status, why = store.RunFailed, fmt.Sprintf("chunk %d of %d (%s) failed: %s", c.Idx, len(chunks), chunkRange(c), c.Error)
			}
		case store.RunCancelled:
			if status == store.RunSucceeded {
				status, why = store.RunCancelled, errCancelRequested.Error()
			}
		}
	}
	if instances {
		d, err := tx.GetDeployment(ctx, run.ID)
		if err != nil {
			return nil, none, err
		}
		if status, why, err = s.settleDeployment(ctx, tx, run, d, status, why); err != nil || status == "" {
			return nil, none, err
		}
	}
	fin, after, err := s.finishRunTx(ctx, tx, run.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{Status: status, Error: why, NodeStats: SumChunkStats(chunks)})
	if err != nil {
		return nil, none, err
	}
	return &fin, after, nil
}

func someActive(chunks []store.Chunk) bool {
	for _, c := range chunks {
		if c.Status == store.RunQueued || c.Status == store.RunRunning {
			return true
		}
	}
	return false
}

// rejoinStopped queues again the instances of a running deployment that stopped cleanly while
// others still run: an instance that saw a pause and was still draining when a resume came ends
// after the resume queued the others again, and would otherwise stay stopped until every instance
// ended. A failed or cancelled instance is left for settle, which ends the run when the others end.
func (s *Service) rejoinStopped(ctx context.Context, tx *store.Tx, runID string, chunks []store.Chunk) error {
	stopped := false
	for _, c := range chunks {
		switch c.Status {
		case store.RunFailed, store.RunCancelled:
			return nil
		case store.RunSucceeded:
			stopped = true
		}
	}
	if !stopped {
		return nil
	}
	d, err := tx.GetDeployment(ctx, runID)
	if err != nil || d.State != store.DeploymentRunning {
		return err
	}
	return s.requeueInstances(ctx, tx, runID, "queued again: the deployment is running")
}

// SumChunkStats adds up the node counters of a run's chunks (the run's own counters).
func SumChunkStats(chunks []store.Chunk) json.RawMessage {
	var sum []engine.NodeStats
	at := map[string]int{}
	for _, c := range chunks {
		var ns []engine.NodeStats
		if len(c.NodeStats) == 0 || json.Unmarshal(c.NodeStats, &ns) != nil {
			continue
		}
		for _, n := range ns {
			i, ok := at[n.ID]
			if !ok {
				at[n.ID] = len(sum)
				sum = append(sum, engine.NodeStats{ID: n.ID, Kind: n.Kind, Type: n.Type})
				i = len(sum) - 1
			}
			t := &sum[i]
			t.In += n.In
			t.Out += n.Out
			t.Rejected += n.Rejected
			t.Deduplicated += n.Deduplicated
			t.Filtered += n.Filtered
			t.Dropped += n.Dropped
			t.Bytes += n.Bytes
		}
	}
	if sum == nil {
		return nil
	}
	b, _ := json.Marshal(sum)
	return b
}

// statsRows is rows read (by sources) and written (by destinations) in node counters.
func statsRows(raw json.RawMessage) (read, written int64) {
	var ns []engine.NodeStats
	if len(raw) == 0 || json.Unmarshal(raw, &ns) != nil {
		return 0, 0
	}
	return nodeRows(ns)
}

func nodeRows(ns []engine.NodeStats) (read, written int64) {
	for _, n := range ns {
		switch n.Kind {
		case string(pipeline.KindSource):
			read += n.Out
		case string(pipeline.KindDestination):
			written += n.Out
		}
	}
	return read, written
}

// chunkRange is a chunk's key range as messages show it.
func chunkRange(c store.Chunk) string {
	if isInstance(c) {
		return "consumer instance"
	}
	return connector.KeyRange{Field: c.Field, Lo: c.Lo, Hi: c.Hi}.String()
}

func (s *Service) publishChunk(run store.Run, ce ChunkEvent) {
	s.publish(Event{Type: EventChunk, RunID: run.ID, PipelineID: run.PipelineID, Status: store.RunRunning, Chunk: &ce, Time: s.now()})
}

// chunkCheckpointer keeps a chunk's checkpoints on its row, fenced by its worker and attempt. Load
// returns the chunk's own checkpoint (a resumed chunk continues from it), never another run's.
type chunkCheckpointer struct {
	st        *store.Store
	c         store.Chunk
	afterSave func(ctx context.Context)
}

func (k *chunkCheckpointer) Load(context.Context) (*engine.Checkpoint, error) {
	if len(k.c.Checkpoint) == 0 {
		return nil, nil
	}
	var cp engine.Checkpoint
	if err := json.Unmarshal(k.c.Checkpoint, &cp); err != nil {
		return nil, fmt.Errorf("decode checkpoint of chunk %d: %w", k.c.Idx, err)
	}
	return &cp, nil
}

func (k *chunkCheckpointer) Save(ctx context.Context, cp *engine.Checkpoint) error {
	raw, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	stats, err := json.Marshal(cp.Stats)
	if err != nil {
		return fmt.Errorf("encode node stats: %w", err)
	}
	read, written := nodeRows(cp.Stats)
	if err := k.st.SaveChunkCheckpoint(ctx, k.c.RunID, k.c.Idx, k.c.WorkerID, k.c.Attempt, raw, stats, read, written); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("%w: %w", errLostRun, err)
		}
		return err
	}
	if k.afterSave != nil {
		k.afterSave(ctx)
	}
	return nil
}

// chunkSink is the run's dead-letter sink for a chunk: the chunks of a run write their dead letters
// at once, so a resumed chunk cannot rewind the run's dead letters to its token (it would delete
// its siblings'); a chunk taken over may keep a dead letter twice (at least once).
type chunkSink struct{ s *storeSink }

func (k chunkSink) Put(ctx context.Context, rejects []record.Reject) error {
	return k.s.Put(ctx, rejects)
}
func (k chunkSink) Commit(ctx context.Context) (json.RawMessage, error) {
	return nil, k.s.flush(ctx)
}

// executeChunk runs one claimed chunk with the engine and reports how it ended (execute for a
// chunk): the plan of the run's version, the source restricted to the chunk's range, the engine
// run named after the chunk, the chunk's checkpoints, the run's dead letters and log.
func (s *Service) executeChunk(ctx context.Context, run store.Run, c store.Chunk, drain <-chan struct{}) outcome {
	label := fmt.Sprintf("chunk %d (%s)", c.Idx, chunkRange(c))
	rl := &runLog{st: s.st, runID: run.ID, now: s.now, publish: func(l LogLine) {
		s.publish(Event{Type: EventLog, RunID: run.ID, PipelineID: run.PipelineID, Status: store.RunRunning, Log: &l, Time: l.Time})
	}}
	log := s.log.With("run_id", run.ID, "chunk", c.Idx)
	defer s.flushLog(context.WithoutCancel(ctx), log, rl)
	rl.add("info", "", fmt.Sprintf("%s started: attempt %d, worker %s", label, c.Attempt, c.WorkerID), nil)
	s.publishChunk(run, ChunkEvent{Idx: c.Idx, Status: store.RunRunning, Attempt: c.Attempt, WorkerID: c.WorkerID, RowsRead: c.RowsRead, RowsWritten: c.RowsWritten})

	plan, err := s.loadPlan(ctx, run)
	if err != nil {
		rl.add("error", "", label+": the pipeline cannot run: "+err.Error(), nil)
		return outcome{status: store.RunFailed, err: err.Error()}
	}
	var ranges map[string]connector.KeyRange
	var stop <-chan struct{}
	if isInstance(c) {
		stop = drain
	} else {
		src := plan.Partitioned()
		if src == nil {
			err := errors.New("the pipeline version no longer has a partitioned source")
			return outcome{status: store.RunFailed, err: err.Error()}
		}
		ranges = map[string]connector.KeyRange{src.ID: {Field: c.Field, Lo: c.Lo, Hi: c.Hi}}
	}
	if len(c.Checkpoint) > 0 {
		rl.add("info", "", label+": resuming from its last checkpoint", nil)
	}
	cp := &chunkCheckpointer{st: s.st, c: c, afterSave: func(ctx context.Context) {
		if err := rl.flush(ctx); err != nil {
			log.WarnContext(ctx, "run log not written", "error", err)
		}
	}}
	schemas, err := s.schemaInputs(ctx, run)
	if err != nil {
		rl.add("error", "", label+": the pipeline cannot run: "+err.Error(), nil)
		return outcome{status: store.RunFailed, err: err.Error()}
	}
	engineLog := slog.New(&runLogHandler{next: s.log.Handler(), log: rl}).With("run_id", run.ID, "chunk", c.Idx)
	var rate runner.RateMeter
	inst := newInstanceReporter(s, run, c.Idx, c.WorkerID, c.Attempt)
	inst.save = func(raw json.RawMessage) {
		if err := s.st.SaveChunkPositions(context.WithoutCancel(ctx), run.ID, c.Idx, c.WorkerID, c.Attempt, raw); err != nil && !errors.Is(err, store.ErrConflict) {
			log.Warn("instance positions not saved", "error", err)
		}
	}
	opts := engine.Options{
		RunID: chunkKey(run.ID, c.Idx), Env: s.env, BatchSize: s.opts.BatchSize,
		MemoryBudget: s.opts.MemoryBudget, SpillDir: s.opts.SpillDir, SpillLimit: s.opts.SpillLimit,
		CommitRows: s.opts.CommitRows, CommitInterval: s.opts.CommitInterval,
		Ranges: ranges, Stop: stop,
		Checkpointer: cp, DeadLetters: chunkSink{s: &storeSink{st: s.st, runID: run.ID}},
		Fence: func(ctx context.Context) error {
			if err := s.st.CheckChunkOwner(ctx, run.ID, c.Idx, c.WorkerID, c.Attempt); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return fmt.Errorf("%w: %w", errLostRun, err)
				}
				return err
			}
			return nil
		},
		Progress: func(p engine.Progress) {
			perSec, _ := rate.Update(s.now(), p.RowsRead)
			inst.progress(p, perSec)
			s.publishChunk(run, ChunkEvent{Idx: c.Idx, Status: store.RunRunning, Attempt: c.Attempt, WorkerID: c.WorkerID,
				RowsRead: p.RowsRead, RowsWritten: p.RowsWritten, RowsPerSecond: perSec})
		},
		ProgressInterval: max(s.opts.ProgressInterval, time.Second),
		Positions:        inst.positions,
		PositionInterval: s.opts.PositionInterval,
		Logger:           engineLog,
		Schemas:          schemas,
	}
	res, runErr := engine.Run(ctx, plan, opts)
	stats, _ := json.Marshal(res.Nodes)
	cause := context.Cause(ctx)
	s.auditSchemaDecisions(context.WithoutCancel(ctx), run, res.SchemaDecisions)
	for _, d := range res.SchemaDecisions {
		for i, ch := range d.Changes {
			rl.add("info", d.Node, fmt.Sprintf("%s: schema change (%s): %s: %s", label, d.Policy, ch, d.Actions[i]),
				map[string]any{"column": ch.Column, "kind": ch.Kind, "against": ch.Against})
		}
	}
	rv := pendingReview(run, runErr, s.now())
	switch {
	case runErr == nil:
		if isInstance(c) {
			rl.add("info", "", fmt.Sprintf("%s stopped: its destinations committed and its positions are committed (%d rows read, %d written)", label, res.RowsRead, res.RowsWritten), resultDetails(res))
		}
		return outcome{status: store.RunSucceeded, stats: stats}
	case errors.Is(cause, errShutdown):
		rl.add("warn", "", label+": interrupted by a worker shutdown; queued again to resume from its last checkpoint", resultDetails(res))
		return outcome{interrupted: true, err: "interrupted by the shutdown of worker " + c.WorkerID}
	case errors.Is(cause, errLostRun), errors.Is(runErr, errLostRun), errors.Is(runErr, store.ErrConflict):
		rl.add("warn", "", label+": stopped: the chunk is no longer owned by this worker", nil)
		return outcome{lost: true}
	case rv != nil && cause == nil:
		rl.add("warn", rv.Node, fmt.Sprintf("%s paused: %d schema change(s) of destination %s await approval; the chunk wrote nothing to it and runs once they are approved",
			label, len(rv.Changes), rv.Node), nil)
		return outcome{review: rv, err: runErr.Error(), stats: stats}
	case errors.As(cause, new(*timeoutError)):
		return outcome{status: store.RunFailed, err: cause.Error(), stats: stats}
	case errors.Is(cause, errCancelRequested):
		return outcome{status: store.RunCancelled, err: "stopped: the run was cancelled or another chunk failed", stats: stats}
	default:
		return outcome{status: store.RunFailed, err: runErr.Error(), stats: stats, retryable: Retryable(runErr)}
	}
}
