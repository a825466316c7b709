package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Why a run's engine context was cancelled.
var (
	errCancelRequested = errors.New("cancelled by request")
	// errShutdown stops a run as a killed process would (engine.ErrInterrupted): destinations keep
	// what they staged, and the requeued run resumes from its last checkpoint.
	errShutdown = fmt.Errorf("the worker is shutting down: %w", engine.ErrInterrupted)
	errLostRun  = errors.New("the run is no longer owned by this worker")
)

// execution is a run executing in this process.
type execution struct {
	cancel context.CancelCauseFunc
}

// interrupt stops the run for a shutdown: its staged output is kept and it is requeued.
func (e *execution) interrupt() { e.cancel(errShutdown) }

// Execute claims the queued run and runs it to its end. It returns nil without doing anything when
// the run is no longer queued (another worker took it, or it was cancelled). When ctx is done before
// the run ends, the run is interrupted as for a shutdown: it goes back to the queue and resumes from
// its last checkpoint. Execute records the outcome in the store; its error is only for failures to
// claim.
func (s *Service) Execute(ctx context.Context, runID string) error {
	run, err := s.st.ClaimRun(ctx, runID, s.workerID)
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("claim run %s: %w", runID, err)
	}
	s.execute(ctx, run)
	return nil
}

func (s *Service) execute(parent context.Context, run store.Run) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	defer cancel(nil)
	ex := &execution{cancel: cancel}
	s.mu.Lock()
	s.active[run.ID] = ex
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.active, run.ID)
		s.mu.Unlock()
	}()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-parent.Done():
			ex.interrupt()
		case <-done:
		}
	}()

	rl := &runLog{st: s.st, runID: run.ID}
	log := s.log.With("run_id", run.ID, "pipeline_id", run.PipelineID)
	rl.add("info", "", fmt.Sprintf("run started: pipeline version %d, attempt %d, worker %s", run.PipelineVersion, run.Attempt, s.workerID),
		map[string]any{"trigger": run.Trigger, "actor": run.ActorName})
	s.publishStatus(run, "")

	plan, err := s.loadPlan(ctx, run)
	if err != nil {
		rl.add("error", "", "the pipeline cannot run: "+err.Error(), nil)
		s.finish(ctx, log, rl, run, store.RunFailed, err.Error(), nil)
		return
	}

	hbDone := make(chan struct{})
	go s.heartbeat(ctx, log, run, ex, hbDone)
	defer func() { <-hbDone }()

	cp := &storeCheckpointer{st: s.st, run: run, workerID: s.workerID,
		afterSave: func(ctx context.Context, _ *engine.Checkpoint) {
			if err := rl.flush(ctx); err != nil {
				log.WarnContext(ctx, "run log not written", "error", err)
			}
		}}
	if len(run.Checkpoint) > 0 {
		rl.add("info", "", "resuming from the last checkpoint of the interrupted attempt", nil)
	}
	engineLog := slog.New(&runLogHandler{next: s.log.Handler(), log: rl}).With("run_id", run.ID)
	res, runErr := engine.Run(ctx, plan, engine.Options{
		RunID: run.ID, Env: s.env, BatchSize: s.opts.BatchSize,
		CommitRows: s.opts.CommitRows, CommitInterval: s.opts.CommitInterval,
		Checkpointer: cp, DeadLetters: &storeSink{st: s.st, runID: run.ID},
		Progress: func(p engine.Progress) {
			s.events.Publish(Event{Type: EventProgress, RunID: run.ID, PipelineID: run.PipelineID,
				Status: store.RunRunning, Progress: &p, Time: time.Now().UTC()})
		},
		ProgressInterval: s.opts.ProgressInterval,
		Logger:           engineLog,
	})
	cancel(nil) // stop the heartbeat
	stats, _ := json.Marshal(res.Nodes)
	cause := context.Cause(ctx)
	switch {
	case runErr == nil:
		rl.add("info", "", fmt.Sprintf("run succeeded: %d rows read, %d written, %d rejected, %d checkpoints",
			res.RowsRead, res.RowsWritten, res.Rejected, res.Checkpoints), resultDetails(res))
		s.finish(ctx, log, rl, run, store.RunSucceeded, "", stats)
	case errors.Is(cause, errShutdown):
		rl.add("warn", "", "interrupted by a worker shutdown; queued again to resume from the last checkpoint", resultDetails(res))
		s.requeue(ctx, log, rl, run)
	case errors.Is(cause, errLostRun):
		rl.add("warn", "", "stopped: "+errLostRun.Error(), nil)
		s.flushLog(ctx, log, rl)
	case errors.Is(cause, errCancelRequested):
		rl.add("info", "", "run cancelled by request; destinations rolled back to their state before the run", resultDetails(res))
		s.finish(ctx, log, rl, run, store.RunCancelled, errCancelRequested.Error(), stats)
	default:
		rl.add("error", "", "run failed: "+runErr.Error(), resultDetails(res))
		s.finish(ctx, log, rl, run, store.RunFailed, runErr.Error(), stats)
	}
}

func resultDetails(res *engine.Result) map[string]any {
	return map[string]any{"rows_read": res.RowsRead, "rows_written": res.RowsWritten, "rejected": res.Rejected,
		"checkpoints": res.Checkpoints, "resumed": res.Resumed, "restarted": res.Restarted,
		"duration_ms": res.Finished.Sub(res.Started).Milliseconds()}
}

// loadPlan parses and validates the version the run records.
func (s *Service) loadPlan(ctx context.Context, run store.Run) (*pipeline.Plan, error) {
	v, err := s.st.GetPipelineVersion(ctx, run.PipelineID, run.PipelineVersion)
	if err != nil {
		return nil, fmt.Errorf("load pipeline version %d: %w", run.PipelineVersion, err)
	}
	spec, err := pipeline.Parse([]byte(v.Spec))
	if err != nil {
		return nil, err
	}
	return s.Plan(ctx, spec)
}

// heartbeat refreshes the run's heartbeat and turns a cancel request into a cancellation.
func (s *Service) heartbeat(ctx context.Context, log *slog.Logger, run store.Run, ex *execution, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(s.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cancelled, err := s.st.Heartbeat(ctx, run.ID, s.workerID)
		switch {
		case errors.Is(err, store.ErrConflict):
			ex.cancel(errLostRun)
			return
		case err != nil:
			if ctx.Err() == nil {
				log.WarnContext(ctx, "heartbeat failed", "error", err)
			}
		case cancelled:
			ex.cancel(errCancelRequested)
			return
		}
	}
}

// finish records the outcome when this worker still owns the attempt it ran.
func (s *Service) finish(ctx context.Context, log *slog.Logger, rl *runLog, run store.Run, status store.RunStatus, msg string, stats json.RawMessage) {
	ctx = context.WithoutCancel(ctx)
	s.flushLog(ctx, log, rl)
	fin, err := s.st.FinishRun(ctx, run.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{
		Status: status, Error: msg, NodeStats: stats, WorkerID: s.workerID, Attempt: run.Attempt,
	})
	if errors.Is(err, store.ErrConflict) {
		log.WarnContext(ctx, "run outcome not recorded: another worker owns the run now", "status", status)
		return
	}
	if err != nil {
		log.ErrorContext(ctx, "record run outcome", "status", status, "error", err)
		return
	}
	s.publishStatus(fin, msg)
}

func (s *Service) requeue(ctx context.Context, log *slog.Logger, rl *runLog, run store.Run) {
	ctx = context.WithoutCancel(ctx)
	s.flushLog(ctx, log, rl)
	r, err := s.st.RequeueRun(ctx, run.ID, s.workerID)
	if err != nil {
		log.ErrorContext(ctx, "requeue interrupted run", "error", err)
		return
	}
	s.publishStatus(r, "")
}

func (s *Service) flushLog(ctx context.Context, log *slog.Logger, rl *runLog) {
	if err := rl.flush(context.WithoutCancel(ctx)); err != nil {
		log.WarnContext(ctx, "run log not written", "error", err)
	}
}
