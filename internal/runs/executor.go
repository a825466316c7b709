package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/runner"
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

// outcome is how an attempt ended, for the queue to record.
type outcome struct {
	status      store.RunStatus // succeeded, failed or cancelled
	err         string
	stats       json.RawMessage
	outputs     json.RawMessage // what the file destinations wrote (succeeded runs)
	retryable   bool            // a failure that another attempt may not meet (policy.retries)
	interrupted bool            // stopped by a shutdown: back to the queue, to resume (err says why)
	lost        bool            // another worker owns the run now: record nothing
	review      *SchemaReview   // schema changes wait for a review: the run pauses (awaiting_approval)
}

// execute runs one claimed run with the engine and reports how it ended; the queue records that.
// plan is the run's plan when the queue made it already (nil: execute makes it).
// It keeps the run's checkpoints, dead letters and log lines in the store and publishes progress.
// The queue stops it by cancelling ctx with a cause: errCancelRequested (the run ends cancelled,
// destinations rolled back), errShutdown (interrupted: staged output kept for the resume) or
// errLostRun (nothing more is recorded).
func (s *Service) execute(ctx context.Context, run store.Run, plan *pipeline.Plan) outcome {
	// Wait for the queued event of a run enqueued a moment ago (enqueue holds the read side).
	s.enqueuing.Lock()
	//lint:ignore SA2001 the lock is a barrier: taking it is the point, nothing is guarded
	s.enqueuing.Unlock()
	rl := &runLog{st: s.st, runID: run.ID, now: s.now, publish: func(l LogLine) {
		s.publish(Event{Type: EventLog, RunID: run.ID, PipelineID: run.PipelineID, Status: store.RunRunning, Log: &l, Time: l.Time})
	}}
	log := s.log.With("run_id", run.ID, "pipeline_id", run.PipelineID)
	defer s.flushLog(context.WithoutCancel(ctx), log, rl)
	rl.add("info", "", fmt.Sprintf("run started: pipeline version %d, attempt %d, worker %s", run.PipelineVersion, run.Attempt, run.WorkerID),
		map[string]any{"trigger": run.Trigger, "actor": run.ActorName})
	if run.ReplayOf != "" {
		rl.add("info", "", fmt.Sprintf("replay of run %s: its dead letters go through pipeline version %d from the node that rejected them", run.ReplayOf, run.PipelineVersion),
			map[string]any{"replay_of": run.ReplayOf, "edited_dead_letters": editedIDs(run)})
	}
	s.publishStatus(run, "")

	if plan == nil {
		var err error
		if plan, err = s.loadPlan(ctx, run); err != nil {
			rl.add("error", "", "the pipeline cannot run: "+err.Error(), nil)
			return outcome{status: store.RunFailed, err: err.Error()}
		}
	}
	cp := &storeCheckpointer{st: s.st, run: run,
		afterSave: func(ctx context.Context, _ *engine.Checkpoint) {
			if err := rl.flush(ctx); err != nil {
				log.WarnContext(ctx, "run log not written", "error", err)
			}
		}}
	if len(run.Checkpoint) > 0 && run.ReplayOf == "" {
		rl.add("info", "", "resuming from the last checkpoint of the interrupted attempt", nil)
	}
	schemas, err := s.schemaInputs(ctx, run)
	if err != nil {
		rl.add("error", "", "the pipeline cannot run: "+err.Error(), nil)
		return outcome{status: store.RunFailed, err: err.Error()}
	}
	engineLog := slog.New(&runLogHandler{next: s.log.Handler(), log: rl}).With("run_id", run.ID)
	var rate runner.RateMeter
	inst := newInstanceReporter(s, run, 0, run.WorkerID, run.Attempt)
	opts := engine.Options{
		RunID: run.ID, Env: s.env, BatchSize: s.opts.BatchSize,
		MemoryBudget: s.opts.MemoryBudget, SpillDir: s.opts.SpillDir, SpillLimit: s.opts.SpillLimit,
		CommitRows: s.opts.CommitRows, CommitInterval: s.opts.CommitInterval,
		Checkpointer: cp, DeadLetters: &storeSink{st: s.st, runID: run.ID},
		Fence: func(ctx context.Context) error {
			if err := s.st.CheckOwner(ctx, run.ID, run.WorkerID, run.Attempt); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return fmt.Errorf("%w: %w", errLostRun, err)
				}
				return err
			}
			return nil
		},
		Progress: func(p engine.Progress) {
			now := s.now()
			perSec, _ := rate.Update(now, p.RowsRead)
			inst.progress(p, perSec)
			s.publish(Event{Type: EventProgress, RunID: run.ID, PipelineID: run.PipelineID,
				Status: store.RunRunning, Progress: &p, RowsPerSecond: perSec, Time: now})
		},
		ProgressInterval: s.opts.ProgressInterval,
		Positions:        inst.positions,
		PositionInterval: s.opts.PositionInterval,
		Logger:           engineLog,
		Schemas:          schemas,
	}
	var res *engine.Result
	var runErr error
	if run.ReplayOf != "" {
		res, runErr = s.replay(ctx, run, plan, opts, rl)
	} else {
		res, runErr = engine.Run(ctx, plan, opts)
	}
	stats, _ := json.Marshal(res.Nodes)
	cause := context.Cause(ctx)
	s.auditSchemaDecisions(context.WithoutCancel(ctx), run, res.SchemaDecisions)
	for _, d := range res.SchemaDecisions {
		for i, c := range d.Changes {
			rl.add("info", d.Node, fmt.Sprintf("schema change (%s): %s: %s", d.Policy, c, d.Actions[i]),
				map[string]any{"column": c.Column, "kind": c.Kind, "against": c.Against})
		}
	}
	rv := pendingReview(run, runErr, s.now())
	switch {
	case runErr == nil:
		if err := s.saveSnapshots(context.WithoutCancel(ctx), run, res); err != nil {
			log.WarnContext(ctx, "schema snapshots not saved", "error", err)
		}
		outs := s.collectOutputs(plan, res)
		for _, o := range outs {
			rl.add("info", o.Node, fmt.Sprintf("output %s: %d bytes, %d rows", o.Name, o.Bytes, o.Rows), nil)
		}
		rl.add("info", "", fmt.Sprintf("run succeeded: %d rows read, %d written, %d rejected, %d checkpoints",
			res.RowsRead, res.RowsWritten, res.Rejected, res.Checkpoints), resultDetails(res))
		return outcome{status: store.RunSucceeded, stats: stats, outputs: encodeOutputs(outs)}
	case errors.Is(cause, errShutdown):
		rl.add("warn", "", "interrupted by a worker shutdown; queued again to resume from the last checkpoint", resultDetails(res))
		return outcome{interrupted: true, err: "interrupted by the shutdown of worker " + run.WorkerID}
	case errors.Is(cause, errLostRun), errors.Is(runErr, errLostRun), errors.Is(runErr, store.ErrConflict):
		rl.add("warn", "", "stopped: "+errLostRun.Error(), nil)
		return outcome{lost: true}
	case rv != nil && cause == nil:
		rl.add("warn", rv.Node, fmt.Sprintf("run paused: %d schema change(s) of destination %s await approval; nothing was written to it", len(rv.Changes), rv.Node), nil)
		return outcome{review: rv, err: runErr.Error(), stats: stats}
	case errors.As(cause, new(*timeoutError)):
		rl.add("error", "", "run stopped: "+cause.Error()+"; destinations rolled back", resultDetails(res))
		return outcome{status: store.RunFailed, err: cause.Error(), stats: stats}
	case errors.Is(cause, errCancelRequested):
		rl.add("info", "", "run cancelled by request; destinations rolled back to their state before the run", resultDetails(res))
		return outcome{status: store.RunCancelled, err: errCancelRequested.Error(), stats: stats}
	default:
		rl.add("error", "", "run failed: "+runErr.Error(), resultDetails(res))
		return outcome{status: store.RunFailed, err: runErr.Error(), stats: stats, retryable: Retryable(runErr)}
	}
}

func resultDetails(res *engine.Result) map[string]any {
	return map[string]any{"rows_read": res.RowsRead, "rows_written": res.RowsWritten, "rejected": res.Rejected,
		"checkpoints": res.Checkpoints, "resumed": res.Resumed, "restarted": res.Restarted,
		"duration_ms": res.Finished.Sub(res.Started).Milliseconds()}
}

// loadPlan parses and plans the version the run records: the only plan of a run (Start does not
// plan).
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

func (s *Service) flushLog(ctx context.Context, log *slog.Logger, rl *runLog) {
	if err := rl.flush(context.WithoutCancel(ctx)); err != nil {
		log.WarnContext(ctx, "run log not written", "error", err)
	}
}

// runLogLine appends one line to a run's log.
func (s *Service) runLogLine(ctx context.Context, runID, level, msg string) {
	if err := s.st.AppendLogs(ctx, []store.LogEntry{{Level: level, Source: "runs", Message: msg, RunID: runID}}); err != nil {
		s.log.WarnContext(ctx, "run log not written", "run_id", runID, "error", err)
	}
}
