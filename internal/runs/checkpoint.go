package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/runner"
	"github.com/dataaggregator/aggregator/internal/store"
)

// storeCheckpointer keeps a run's checkpoints on its row (store.SaveCheckpoint, which also
// refreshes the heartbeat and stores the node counters). Load returns the run's own checkpoint when
// it was interrupted and requeued (the engine resumes from it), else the final checkpoint of the
// pipeline's last successful run (incremental sources continue from their cursor).
type storeCheckpointer struct {
	st  *store.Store
	run store.Run // as claimed: its WorkerID fences the saves
	// afterSave runs after each successful save (flushes the run log, publishes progress).
	afterSave func(ctx context.Context, cp *engine.Checkpoint)
}

func (c *storeCheckpointer) Load(ctx context.Context) (*engine.Checkpoint, error) {
	raw := c.run.Checkpoint
	if len(raw) == 0 {
		prev, _, err := c.st.ListRuns(ctx, store.RunFilter{PipelineID: c.run.PipelineID,
			Status: []store.RunStatus{store.RunSucceeded}, Page: store.Page{Limit: 1}})
		if err != nil {
			return nil, fmt.Errorf("last successful run: %w", err)
		}
		if len(prev) == 0 || len(prev[0].Checkpoint) == 0 {
			return nil, nil
		}
		raw = prev[0].Checkpoint
	}
	var cp engine.Checkpoint
	if err := json.Unmarshal(raw, &cp); err != nil {
		return nil, fmt.Errorf("decode checkpoint: %w", err)
	}
	return &cp, nil
}

func (c *storeCheckpointer) Save(ctx context.Context, cp *engine.Checkpoint) error {
	raw, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	stats, err := json.Marshal(cp.Stats)
	if err != nil {
		return fmt.Errorf("encode node stats: %w", err)
	}
	if err := c.st.SaveCheckpoint(ctx, c.run.ID, c.run.WorkerID, c.run.Attempt, raw, stats); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("run %s is no longer running on this worker (cancelled or taken over): %w", c.run.ID, err)
		}
		return err
	}
	if c.afterSave != nil {
		c.afterSave(ctx, cp)
	}
	return nil
}

// storeSink keeps dead letters in the store. Put buffers and writes every flushAt rows; Commit
// writes the rest and returns the last dead-letter id as its token, and ResumeAt deletes what a
// resumed run's previous attempt wrote after that token, so no dead letter is kept twice.
type storeSink struct {
	st    *store.Store
	runID string
	buf   []store.DeadLetter
}

const sinkFlushAt = 500

var _ engine.ResumableSink = (*storeSink)(nil)

type sinkToken struct {
	LastID int64 `json:"last_id"`
}

// DeadLetterRow is what a dead letter's Raw column holds: the raw input line and the parsed values,
// when the reader had them. DeadLetter turns a stored row back into the shared format.
type DeadLetterRow struct {
	Raw    string            `json:"raw,omitempty"`
	Values map[string]string `json:"values,omitempty"`
}

func (s *storeSink) Put(ctx context.Context, rejects []record.Reject) error {
	for _, r := range rejects {
		d := runner.FromReject(r)
		raw, err := json.Marshal(DeadLetterRow{Raw: d.Raw, Values: d.Values})
		if err != nil {
			return fmt.Errorf("encode dead letter: %w", err)
		}
		s.buf = append(s.buf, store.DeadLetter{RunID: s.runID, Node: d.Node, Source: d.Source, Line: d.Line,
			Field: d.Field, Reason: d.Reason, Raw: raw})
	}
	if len(s.buf) >= sinkFlushAt {
		return s.flush(ctx)
	}
	return nil
}

func (s *storeSink) flush(ctx context.Context) error {
	if len(s.buf) == 0 {
		return nil
	}
	if err := s.st.AddDeadLetters(ctx, s.buf); err != nil {
		return fmt.Errorf("store dead letters: %w", err)
	}
	s.buf = s.buf[:0]
	return nil
}

func (s *storeSink) Commit(ctx context.Context) (json.RawMessage, error) {
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	id, err := s.st.LastDeadLetterID(ctx, s.runID)
	if err != nil {
		return nil, err
	}
	return json.Marshal(sinkToken{LastID: id})
}

func (s *storeSink) ResumeAt(ctx context.Context, token json.RawMessage) error {
	var t sinkToken
	if err := json.Unmarshal(token, &t); err != nil {
		return fmt.Errorf("dead-letter token %s: %w", token, err)
	}
	s.buf = s.buf[:0]
	if _, err := s.st.DeleteDeadLettersAfter(ctx, s.runID, t.LastID); err != nil {
		return err
	}
	return nil
}

// runLog collects a run's log lines and appends them to the store in batches (at each checkpoint
// and at the end of the run), so the hot path never waits for the database. Each line is also
// published at once (an EventLog), so a live view tails the log before it is stored.
type runLog struct {
	st      *store.Store
	runID   string
	now     func() time.Time // the time of each line; the store's clock when nil
	publish func(LogLine)    // nil: lines are only stored
	mu      sync.Mutex
	buf     []store.LogEntry
}

func (l *runLog) add(level, node, msg string, details map[string]any) {
	e := store.LogEntry{Level: level, Source: "runs", Message: msg, RunID: l.runID, Node: node}
	if l.now != nil {
		e.Time = l.now()
	}
	if len(details) > 0 {
		if b, err := json.Marshal(details); err == nil {
			e.Details = b
		}
	}
	l.mu.Lock()
	l.buf = append(l.buf, e)
	l.mu.Unlock()
	if l.publish != nil {
		l.publish(LogLine{Level: level, Message: msg, Node: node, Details: e.Details, Time: e.Time})
	}
}

func (l *runLog) flush(ctx context.Context) error {
	l.mu.Lock()
	entries := l.buf
	l.buf = nil
	l.mu.Unlock()
	if len(entries) == 0 {
		return nil
	}
	if err := l.st.AppendLogs(ctx, entries); err != nil {
		return fmt.Errorf("append run log: %w", err)
	}
	return nil
}

// DeadLetter is a stored dead letter in the format the CLI writes and the API serves.
func DeadLetter(d store.DeadLetter) runner.DeadLetter {
	var row DeadLetterRow
	_ = json.Unmarshal(d.Raw, &row) // written by storeSink; an unreadable raw column leaves them empty
	return runner.DeadLetter{ID: d.ID, Node: d.Node, Source: d.Source, Line: d.Line, Field: d.Field, Reason: d.Reason,
		Raw: row.Raw, Values: row.Values}
}
