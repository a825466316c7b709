package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/schemachange"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Review states of a run's SchemaReview.
const (
	ReviewPending  = "pending"
	ReviewApproved = "approved"
	ReviewRejected = "rejected"
)

// SchemaReview is a run's review of schema changes (store.Run.SchemaReview): the destination whose
// changes wait (or waited) for a designer, the classified changes, and the decision. Approved keeps,
// by destination node, every change approved for the run so far (a run may be reviewed for one
// destination after another).
type SchemaReview struct {
	Status      string                           `json:"status"`
	Node        string                           `json:"node"`
	Target      string                           `json:"target"`
	Policy      schemachange.Policy              `json:"policy"`
	Changes     []schemachange.Change            `json:"changes"`
	RequestedAt time.Time                        `json:"requested_at"`
	DecidedBy   string                           `json:"decided_by,omitempty"`
	DecidedAt   *time.Time                       `json:"decided_at,omitempty"`
	Comment     string                           `json:"comment,omitempty"`
	Approved    map[string][]schemachange.Change `json:"approved,omitempty"`
}

// ReviewOf decodes a run's review (nil when it has none).
func ReviewOf(r store.Run) (*SchemaReview, error) {
	if len(r.SchemaReview) == 0 {
		return nil, nil
	}
	var rv SchemaReview
	if err := json.Unmarshal(r.SchemaReview, &rv); err != nil {
		return nil, fmt.Errorf("run %s: schema review: %w", r.ID, err)
	}
	return &rv, nil
}

// schemaInputs are the engine's inputs for the run's destinations: the snapshots of the pipeline's
// last successful runs and what was approved for this run.
func (s *Service) schemaInputs(ctx context.Context, run store.Run) (map[string]engine.SchemaInput, error) {
	snaps, err := s.st.SchemaSnapshots(ctx, run.PipelineID)
	if err != nil {
		return nil, err
	}
	out := map[string]engine.SchemaInput{}
	for node, raw := range snaps {
		var snap schemachange.Snapshot
		if err := json.Unmarshal(raw, &snap); err != nil {
			return nil, fmt.Errorf("schema snapshot of destination %s: %w", node, err)
		}
		in := out[node]
		in.Previous = &snap
		out[node] = in
	}
	rv, err := ReviewOf(run)
	if err != nil || rv == nil {
		return out, err
	}
	for node, cs := range rv.Approved {
		in := out[node]
		in.Approved = cs
		out[node] = in
	}
	return out, nil
}

// saveSnapshots keeps the schemas the destinations of a successful run received.
func (s *Service) saveSnapshots(ctx context.Context, run store.Run, res *engine.Result) error {
	for node, snap := range res.Schemas {
		raw, err := json.Marshal(snap)
		if err != nil {
			return err
		}
		if err := s.st.SaveSchemaSnapshot(ctx, run.PipelineID, node, run.ID, raw); err != nil {
			return err
		}
	}
	return nil
}

// auditSchemaDecisions writes each decision of the run's schema-change policies to the audit log.
func (s *Service) auditSchemaDecisions(ctx context.Context, run store.Run, ds []schemachange.Decision) {
	for _, d := range ds {
		details, _ := json.Marshal(map[string]any{"pipeline_id": run.PipelineID, "node": d.Node, "target": d.Target,
			"policy": d.Policy, "changes": d.Changes, "actions": d.Actions})
		result := "success"
		for _, a := range d.Actions {
			if a == schemachange.Refuse {
				result = "failure"
			}
		}
		if _, err := s.st.AppendAudit(ctx, store.AuditEntry{ActorName: "system", Action: "run.schema_changes", TargetType: "run",
			TargetID: run.ID, Result: result, Details: details}); err != nil {
			s.log.WarnContext(ctx, "audit schema decision", "run_id", run.ID, "error", err)
		}
	}
}

// pendingReview is the review to pause a run with, when runErr stops it for one.
func pendingReview(run store.Run, runErr error, now time.Time) *SchemaReview {
	var se *schemachange.Error
	if !errors.As(runErr, &se) || se.Action != schemachange.Pending {
		return nil
	}
	rv := &SchemaReview{Status: ReviewPending, Node: se.Decision.Node, Target: se.Decision.Target, Policy: se.Decision.Policy,
		Changes: se.Decision.Of(schemachange.Pending), RequestedAt: now}
	if old, err := ReviewOf(run); err == nil && old != nil {
		rv.Approved = old.Approved
	}
	return rv
}

// ErrNotAwaiting is returned by Approve and Reject for a run that does not await approval.
var ErrNotAwaiting = errors.New("the run is not awaiting approval of schema changes")

// Approve approves the schema changes a run awaits: the run is queued again and, when it runs, the
// changes are applied. actor names who approved; comment is kept with the decision.
func (s *Service) Approve(ctx context.Context, runID, actor, comment string) (store.Run, error) {
	return s.decide(ctx, runID, actor, comment, true)
}

// Reject rejects the schema changes a run awaits: the run fails naming them.
func (s *Service) Reject(ctx context.Context, runID, actor, comment string) (store.Run, error) {
	return s.decide(ctx, runID, actor, comment, false)
}

func (s *Service) decide(ctx context.Context, runID, actor, comment string, approve bool) (store.Run, error) {
	run, err := s.st.GetRun(ctx, runID)
	if err != nil {
		return store.Run{}, err
	}
	rv, err := ReviewOf(run)
	if err != nil {
		return store.Run{}, err
	}
	if run.Status != store.RunAwaitingApproval || rv == nil || rv.Status != ReviewPending {
		return store.Run{}, fmt.Errorf("run %s (%s): %w", runID, run.Status, ErrNotAwaiting)
	}
	now := s.now()
	rv.DecidedBy, rv.DecidedAt, rv.Comment = actor, &now, strings.TrimSpace(comment)
	to, msg := store.RunQueued, ""
	if approve {
		rv.Status = ReviewApproved
		if rv.Approved == nil {
			rv.Approved = map[string][]schemachange.Change{}
		}
		rv.Approved[rv.Node] = append(rv.Approved[rv.Node], rv.Changes...)
	} else {
		rv.Status, to = ReviewRejected, store.RunFailed
		parts := make([]string, len(rv.Changes))
		for i, c := range rv.Changes {
			parts[i] = c.String()
		}
		msg = fmt.Sprintf("schema changes of destination %s (%s) rejected by %s: %s", rv.Node, rv.Target, actor, strings.Join(parts, "; "))
		if rv.Comment != "" {
			msg += " (" + rv.Comment + ")"
		}
	}
	raw, err := json.Marshal(rv)
	if err != nil {
		return store.Run{}, err
	}
	chunks, err := s.st.ListChunks(ctx, runID)
	if err != nil {
		return store.Run{}, err
	}
	var fin *store.Run
	after := func() {}
	switch {
	case len(chunks) > 0:
		// a partitioned run paused by a chunk: approved, it runs again and its waiting chunks are
		// queued; rejected, it fails and they are cancelled
		cq, ok := s.queue.(chunkQueue)
		if approve && !ok {
			return store.Run{}, fmt.Errorf("run %s: this process cannot queue the chunks of a partitioned run", runID)
		}
		if approve {
			to = store.RunRunning
		}
		s.enqueuing.RLock()
		err = s.st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			if run, err = tx.DecideReview(ctx, runID, raw, to, msg); err != nil {
				return err
			}
			if !approve {
				_, err = tx.CancelQueuedChunks(ctx, runID, "cancelled: the schema changes were rejected")
				return err
			}
			cs, err := tx.ListChunks(ctx, runID)
			if err != nil {
				return err
			}
			var idx []int
			for _, c := range cs {
				if c.Status == store.RunQueued {
					idx = append(idx, c.Idx)
				}
			}
			if err := cq.EnqueueChunks(ctx, tx, runID, idx); err != nil {
				return err
			}
			fin, after, err = s.settle(ctx, tx, run) // every chunk ended while the run waited
			return err
		})
		s.enqueuing.RUnlock()
	case approve && s.queue != nil:
		// the queued event before the worker's (see Service.enqueuing)
		s.enqueuing.RLock()
		defer s.enqueuing.RUnlock()
		err = s.st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			if run, err = tx.DecideReview(ctx, runID, raw, to, msg); err != nil {
				return err
			}
			return s.queue.Enqueue(ctx, tx, run)
		})
	default:
		run, err = s.st.DecideReview(ctx, runID, raw, to, msg)
	}
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.Run{}, fmt.Errorf("run %s: %w", runID, ErrNotAwaiting)
		}
		return store.Run{}, err
	}
	verb := "approved"
	if !approve {
		verb = "rejected"
	}
	s.runLogLine(ctx, runID, "info", fmt.Sprintf("schema changes of destination %s %s by %s", rv.Node, verb, actor))
	s.publishStatus(run, msg)
	s.finished(ctx, fin)
	after()
	return run, nil
}

// chunkQueue is a Queue that can queue the chunks of a partitioned run again (River).
type chunkQueue interface {
	EnqueueChunks(ctx context.Context, tx *store.Tx, runID string, idx []int) error
}

// EnqueueChunks inserts in tx a job for each of the given queued chunks of a partitioned run (an
// approval of schema changes resumes the chunks that waited). A chunk that still has a job runs
// once: the job that finds it no longer queued does nothing.
func (q *River) EnqueueChunks(ctx context.Context, tx *store.Tx, runID string, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	jobs := make([]river.InsertManyParams, len(idx))
	for i, n := range idx {
		jobs[i] = river.InsertManyParams{Args: ChunkArgs{RunID: runID, Idx: n}}
	}
	if _, err := q.client.InsertManyTx(ctx, tx.SQL(), jobs); err != nil {
		return fmt.Errorf("insert chunk jobs of run %s: %w", runID, err)
	}
	return nil
}
