package runs

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/pipelines"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Edit replaces field values of one dead letter before it is replayed. Values are text, as dead
// letters hold them ("" is null for every type but text).
type Edit struct {
	ID     int64             `json:"id"`
	Values map[string]string `json:"values"`
}

// ReplayConflict refuses a replay the run's state does not allow (not finished, nothing to replay,
// the pipeline is a draft). The API answers 409.
type ReplayConflict struct{ Reason string }

func (e *ReplayConflict) Error() string { return e.Reason }

// EditError names the edit that is wrong. The API answers 422 at edits[Index].Field.
type EditError struct {
	Index  int
	Field  string // "id" or "values"
	Reason string
}

func (e *EditError) Error() string {
	return fmt.Sprintf("edits[%d].%s: %s", e.Index, e.Field, e.Reason)
}

// Replay queues a new run that replays the dead letters of run runID through the pipeline's
// current version, from the node that rejected each of them (engine.Replay). edits replace values
// of some dead letters (by dead-letter id, which must belong to the run). The new run records the
// run it replays (store.Run.ReplayOf) and the edits, so a worker resuming it replays the same rows.
func (s *Service) Replay(ctx context.Context, runID string, edits []Edit, actor Actor) (store.Run, error) {
	if s.queue == nil {
		return store.Run{}, fmt.Errorf("runs: no queue configured")
	}
	orig, err := s.st.GetRun(ctx, runID)
	if err != nil {
		return store.Run{}, err
	}
	if !orig.Status.Terminal() {
		return store.Run{}, &ReplayConflict{Reason: fmt.Sprintf("run %s is %s; replay its dead letters when it has finished", runID, orig.Status)}
	}
	n, err := s.st.CountDeadLetters(ctx, runID)
	if err != nil {
		return store.Run{}, err
	}
	if n == 0 {
		return store.Run{}, &ReplayConflict{Reason: fmt.Sprintf("run %s has no dead letters to replay", runID)}
	}
	byID := map[int64]map[string]string{}
	for i, e := range edits {
		if _, dup := byID[e.ID]; dup {
			return store.Run{}, &EditError{Index: i, Field: "id", Reason: fmt.Sprintf("dead letter %d is edited twice", e.ID)}
		}
		if e.ID <= 0 {
			return store.Run{}, &EditError{Index: i, Field: "id", Reason: "give the id of one of the run's dead letters"}
		}
		dl, err := s.st.ListDeadLetters(ctx, runID, e.ID-1, 1)
		if err != nil {
			return store.Run{}, err
		}
		if len(dl) == 0 || dl[0].ID != e.ID {
			return store.Run{}, &EditError{Index: i, Field: "id", Reason: fmt.Sprintf("run %s has no dead letter %d", runID, e.ID)}
		}
		byID[e.ID] = e.Values
	}
	p, err := s.st.GetPipeline(ctx, orig.PipelineID)
	if err != nil {
		return store.Run{}, err
	}
	v, err := s.st.GetPipelineVersion(ctx, p.ID, p.Version)
	if err != nil {
		return store.Run{}, err
	}
	if err := pipelines.Runnable(v); err != nil { // the current version is a draft
		return store.Run{}, err
	}
	var raw json.RawMessage
	if len(byID) > 0 {
		enc := make(map[string]map[string]string, len(byID))
		for id, v := range byID {
			enc[strconv.FormatInt(id, 10)] = v
		}
		if raw, err = json.Marshal(enc); err != nil {
			return store.Run{}, err
		}
	}
	return s.enqueue(ctx, store.Run{PipelineID: p.ID, PipelineVersion: p.Version, Trigger: "replay",
		ActorID: actor.ID, ActorName: actor.Name, RequestID: actor.RequestID, ReplayOf: orig.ID, ReplayEdits: raw})
}

// replayRows reads the dead letters a replay run replays, with its edits applied, in their order.
func (s *Service) replayRows(ctx context.Context, run store.Run) ([]engine.Injection, error) {
	edits := map[string]map[string]string{}
	if len(run.ReplayEdits) > 0 {
		if err := json.Unmarshal(run.ReplayEdits, &edits); err != nil {
			return nil, fmt.Errorf("the replay's edits are unreadable: %w", err)
		}
	}
	var rows []engine.Injection
	var after int64
	for {
		page, err := s.st.ListDeadLetters(ctx, run.ReplayOf, after, store.MaxLimit)
		if err != nil {
			return nil, fmt.Errorf("read the dead letters of run %s: %w", run.ReplayOf, err)
		}
		for _, d := range page {
			dl := DeadLetter(d)
			vals := dl.Values
			if e, ok := edits[strconv.FormatInt(d.ID, 10)]; ok {
				merged := make(map[string]string, len(vals)+len(e))
				for k, v := range vals {
					merged[k] = v
				}
				for k, v := range e {
					merged[k] = v
				}
				vals = merged
			}
			rows = append(rows, engine.Injection{Node: d.Node, Source: d.Source, Pos: d.Line, Values: vals})
		}
		if len(page) < store.MaxLimit {
			return rows, nil
		}
		after = page[len(page)-1].ID
	}
}

// editedIDs lists the dead-letter ids a replay run edits, sorted (for its log).
func editedIDs(run store.Run) []int64 {
	var edits map[string]json.RawMessage
	_ = json.Unmarshal(run.ReplayEdits, &edits)
	out := make([]int64, 0, len(edits))
	for k := range edits {
		if id, err := strconv.ParseInt(k, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// replay executes a replay run: the original run's dead letters, edited, through the plan. An
// earlier attempt's dead letters are removed first (a replay has no checkpoint: a requeued replay
// starts over; its upsert destinations take the rows again without duplicates).
func (s *Service) replay(ctx context.Context, run store.Run, plan *pipeline.Plan, opts engine.Options, rl *runLog) (*engine.Result, error) {
	opts.Checkpointer = nil
	if _, err := s.st.DeleteDeadLettersAfter(ctx, run.ID, 0); err != nil {
		return &engine.Result{}, fmt.Errorf("clear the dead letters of an earlier attempt: %w", err)
	}
	rows, err := s.replayRows(ctx, run)
	if err != nil {
		return &engine.Result{}, err
	}
	rl.add("info", "", fmt.Sprintf("replaying %d dead letters of run %s", len(rows), run.ReplayOf), nil)
	return engine.Replay(ctx, plan, opts, rows)
}
