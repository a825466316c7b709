package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// RunStatus is the state of a pipeline run.
type RunStatus string

// Run states. queued -> running -> succeeded | failed | cancelled; a queued
// run may also be cancelled, and a running run left by a dead process may be
// put back to queued to resume from its checkpoint.
const (
	RunQueued    RunStatus = "queued"
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunCancelled RunStatus = "cancelled"
	// RunAwaitingApproval: the run stopped before writing because schema changes wait for a review
	// (schema_changes: review); it holds no worker. An approval queues it again, a rejection fails it.
	RunAwaitingApproval RunStatus = "awaiting_approval"
)

// Terminal reports whether the status is final.
func (s RunStatus) Terminal() bool {
	return s == RunSucceeded || s == RunFailed || s == RunCancelled
}

// Valid reports whether s is one of the six states.
func (s RunStatus) Valid() bool {
	switch s {
	case RunQueued, RunRunning, RunSucceeded, RunFailed, RunCancelled, RunAwaitingApproval:
		return true
	}
	return false
}

// Run is one execution of a pipeline version. NodeStats and Checkpoint are
// opaque JSON owned by the engine.
type Run struct {
	ID              string
	PipelineID      string
	PipelineVersion int
	Status          RunStatus
	Trigger         string // manual | api | schedule | webhook | dependency | replay ...
	// TriggerDetail is what started the run, beyond its kind (a JSON object owned by the runs
	// package: the user, the webhook token's prefix, the upstream run; nil: nothing more).
	TriggerDetail   json.RawMessage
	ActorID         string
	ActorName       string
	Error           string
	NodeStats       json.RawMessage
	Checkpoint      json.RawMessage
	WorkerID        string
	Attempt         int // incremented by each ClaimRun
	CancelRequested bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
	StartedAt       *time.Time
	FinishedAt      *time.Time
	HeartbeatAt     *time.Time
	// Outputs are what the run's file destinations wrote, recorded when it finished (a JSON array
	// the runs package defines; nil when none was recorded).
	Outputs json.RawMessage
	// ReplayOf is the run whose dead letters this run replays ("" for other runs); ReplayEdits the
	// edited values it was asked to replay them with (JSON owned by the runs package; nil: none).
	ReplayOf    string
	ReplayEdits json.RawMessage
	// SchemaReview is the run's review of schema changes (JSON owned by the runs package; nil: none).
	SchemaReview json.RawMessage
	// RequestID is the API request that started the run ("" for schedules, dependencies and the
	// command line): the System logs page follows it from a request to its run.
	RequestID string
}

const runCols = `id, pipeline_id, pipeline_version, status, run_trigger, actor_id, actor_name, error, node_stats,
	checkpoint, worker_id, attempt, cancel_requested, created_at, updated_at, started_at, finished_at, heartbeat_at,
	outputs, replay_of, replay_edits, trigger_detail, schema_review, request_id`

func scanRun(row scanner) (Run, error) {
	var r Run
	var status string
	err := row.Scan(&r.ID, &r.PipelineID, &r.PipelineVersion, &status, &r.Trigger, &r.ActorID, &r.ActorName, &r.Error,
		jsonCol{&r.NodeStats}, jsonCol{&r.Checkpoint}, &r.WorkerID, &r.Attempt, &r.CancelRequested,
		timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}, nullTimeCol{&r.StartedAt}, nullTimeCol{&r.FinishedAt},
		nullTimeCol{&r.HeartbeatAt}, jsonCol{&r.Outputs}, &r.ReplayOf, jsonCol{&r.ReplayEdits}, jsonCol{&r.TriggerDetail}, jsonCol{&r.SchemaReview}, &r.RequestID)
	r.Status = RunStatus(status)
	return r, err
}

// CreateRun inserts a queued run of PipelineID at PipelineVersion (both
// required; the pipeline must exist, else ErrNotFound).
func (s *Store) CreateRun(ctx context.Context, r Run) (Run, error) {
	if r.PipelineID == "" || r.PipelineVersion < 1 {
		return Run{}, fmt.Errorf("create run: %w: pipeline id and version are required", ErrInvalid)
	}
	if r.Trigger == "" {
		r.Trigger = "manual"
	}
	id, err := newID()
	if err != nil {
		return Run{}, err
	}
	now := s.nowUTC()
	r.ID, r.Status, r.CreatedAt, r.UpdatedAt = id, RunQueued, now, now
	r.Error, r.NodeStats, r.Checkpoint, r.WorkerID, r.Attempt, r.CancelRequested = "", nil, nil, "", 0, false
	r.StartedAt, r.FinishedAt, r.HeartbeatAt, r.Outputs = nil, nil, nil, nil
	edits, err := jsonArg("replay_edits", r.ReplayEdits, nil)
	if err != nil {
		return Run{}, fmt.Errorf("create run: %w", err)
	}
	detail, err := jsonArg("trigger_detail", noNULJSON(r.TriggerDetail), nil)
	if err != nil {
		return Run{}, fmt.Errorf("create run: %w", err)
	}
	return valueOr(r, s.insert(ctx, s.db, "create run", "pipeline_runs", runCols,
		r.ID, r.PipelineID, r.PipelineVersion, string(r.Status), r.Trigger, r.ActorID, r.ActorName, "", nil, nil, "", 0,
		false, s.ts(now), s.ts(now), nil, nil, nil, nil, noNUL(r.ReplayOf), edits, detail, nil, noNUL(r.RequestID)))
}

// GetRun returns a run by id.
func (s *Store) GetRun(ctx context.Context, id string) (Run, error) {
	return getOne(ctx, s, "get run", "run", id, scanRun, `SELECT `+runCols+` FROM pipeline_runs WHERE id = $1`, id)
}

// RunFilter selects runs for ListRuns. Empty fields do not filter; From and
// To bound CreatedAt (From inclusive, To exclusive).
type RunFilter struct {
	PipelineID string
	ReplayOf   string // only the replays of this run
	RequestID  string // only the runs this API request started
	Status     []RunStatus
	From, To   time.Time
	Page       Page
}

// ListRuns lists runs, newest first.
func (s *Store) ListRuns(ctx context.Context, f RunFilter) ([]Run, int, error) {
	var w where
	w.eq(`pipeline_id`, f.PipelineID)
	w.eq(`replay_of`, f.ReplayOf)
	w.eq(`request_id`, f.RequestID)
	whereIn(&w, `status`, f.Status)
	s.timeRange(&w, `created_at`, f.From, f.To)
	return listQuery(ctx, s, "list runs", "pipeline_runs", runCols, w, "created_at DESC, id DESC", f.Page, scanRun)
}

// ClaimRun moves a queued run to running for workerID, increments Attempt,
// clears Error (a requeued run's reason) and sets StartedAt (kept from the
// first attempt) and the heartbeat. It
// returns ErrConflict when the run is not queued (another worker won, or it
// was cancelled).
func (s *Store) ClaimRun(ctx context.Context, id, workerID string) (Run, error) {
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE pipeline_runs SET status = $1, worker_id = $2, attempt = attempt + 1, error = '',
		started_at = COALESCE(started_at, $3), heartbeat_at = $3, updated_at = $3
		WHERE id = $4 AND status = $5`, string(RunRunning), workerID, now, id, string(RunQueued))
	if err := s.expectTransition(ctx, res, err, "claim run", id, RunQueued); err != nil {
		return Run{}, err
	}
	return s.GetRun(ctx, id)
}

// expectTransition turns "no row changed" into ErrNotFound or ErrConflict.
func (s *Store) expectTransition(ctx context.Context, res sql.Result, err error, op, id string, from RunStatus) error {
	n, err := rowsAffected(s, res, err, op)
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	cur, err := s.GetRun(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("%s %s: status is %s, not %s: %w", op, id, cur.Status, from, ErrConflict)
}

// RunFinish is the outcome written by FinishRun.
type RunFinish struct {
	Status    RunStatus // succeeded, failed or cancelled
	Error     string
	NodeStats json.RawMessage // nil keeps the stored stats
	Outputs   json.RawMessage // what the file destinations wrote; nil keeps the stored value
	// WorkerID and Attempt, when WorkerID is set, make the update conditional on the run still being
	// owned by that worker in that attempt (ErrConflict otherwise), in the same statement.
	WorkerID string
	Attempt  int
}

// FinishRun moves a run from one of the from states to a terminal state and
// sets FinishedAt. ErrConflict when the run is in none of the from states.
func (s *Store) FinishRun(ctx context.Context, id string, from []RunStatus, fin RunFinish) (Run, error) {
	if !fin.Status.Terminal() {
		return Run{}, fmt.Errorf("finish run: %w: %q is not a final status", ErrInvalid, fin.Status)
	}
	if len(from) == 0 {
		return Run{}, fmt.Errorf("finish run: %w: no from status", ErrInvalid)
	}
	stats, err := jsonArg("node_stats", fin.NodeStats, nil)
	if err != nil {
		return Run{}, fmt.Errorf("finish run: %w", err)
	}
	outputs, err := jsonArg("outputs", fin.Outputs, nil)
	if err != nil {
		return Run{}, fmt.Errorf("finish run: %w", err)
	}
	var w where
	w.add(`status = ?`, string(fin.Status))
	w.add(`error = ?`, fin.Error)
	w.add(`node_stats = COALESCE(CAST(? AS `+s.jsonType()+`), node_stats)`, stats)
	w.add(`outputs = COALESCE(CAST(? AS `+s.jsonType()+`), outputs)`, outputs)
	now := s.ts(s.nowUTC())
	w.add(`finished_at = ?`, now)
	w.add(`updated_at = ?`, now)
	set := strings.Join(w.conds, ", ")
	marks := make([]string, len(from))
	for i, st := range from {
		w.args = append(w.args, string(st))
		marks[i] = fmt.Sprintf("$%d", len(w.args))
	}
	w.args = append(w.args, id)
	q := fmt.Sprintf(`UPDATE pipeline_runs SET %s WHERE id = $%d AND status IN (%s)`, set, len(w.args), strings.Join(marks, ", "))
	if fin.WorkerID != "" {
		w.args = append(w.args, fin.WorkerID, fin.Attempt)
		q += fmt.Sprintf(` AND worker_id = $%d AND attempt = $%d`, len(w.args)-1, len(w.args))
	}
	res, err := s.db.ExecContext(ctx, q, w.args...)
	if err := s.expectTransition(ctx, res, err, "finish run", id, from[0]); err != nil {
		return Run{}, err
	}
	return s.GetRun(ctx, id)
}

// RequeueRun moves a running run back to queued (to resume it from its
// checkpoint) when it is still owned by workerID ("" matches any owner).
// reason (why the attempt ended without an outcome) is kept in Error until
// the run is claimed again.
func (s *Store) RequeueRun(ctx context.Context, id, workerID, reason string) (Run, error) {
	var w where
	w.add(`status = ?`, string(RunQueued))
	w.add(`worker_id = ?`, "")
	w.add(`error = ?`, noNUL(reason))
	w.add(`updated_at = ?`, s.ts(s.nowUTC()))
	set := strings.Join(w.conds, ", ")
	w.conds = nil
	w.add(`id = ?`, id)
	w.add(`status = ?`, string(RunRunning))
	if workerID != "" {
		w.add(`worker_id = ?`, workerID)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE pipeline_runs SET `+set+w.sql(), w.args...)
	if err := s.expectTransition(ctx, res, err, "requeue run", id, RunRunning); err != nil {
		return Run{}, err
	}
	return s.GetRun(ctx, id)
}

// SaveCheckpoint atomically stores the checkpoint state and node stats of a
// running run owned by workerID in attempt, and refreshes its heartbeat.
// ErrConflict when the run is no longer running under that worker and attempt
// (it was cancelled or taken over), so a stale worker never overwrites a newer
// checkpoint: the attempt is the fencing token.
func (s *Store) SaveCheckpoint(ctx context.Context, id, workerID string, attempt int, checkpoint, nodeStats json.RawMessage) error {
	cp, err := jsonArg("checkpoint", checkpoint, nil)
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	stats, err := jsonArg("node_stats", nodeStats, nil)
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE pipeline_runs SET checkpoint = $1, node_stats = $2, heartbeat_at = $3, updated_at = $3
		WHERE id = $4 AND status = $5 AND worker_id = $6 AND attempt = $7`, cp, stats, now, id, string(RunRunning), workerID, attempt)
	return s.expectTransition(ctx, res, err, "save checkpoint", id, RunRunning)
}

// Heartbeat records that workerID still runs the run in attempt. It returns
// whether a cancel was requested; ErrConflict when the run is not running
// under that worker and attempt.
func (s *Store) Heartbeat(ctx context.Context, id, workerID string, attempt int) (cancelRequested bool, err error) {
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE pipeline_runs SET heartbeat_at = $1
		WHERE id = $2 AND status = $3 AND worker_id = $4 AND attempt = $5`, now, id, string(RunRunning), workerID, attempt)
	if err := s.expectTransition(ctx, res, err, "heartbeat", id, RunRunning); err != nil {
		return false, err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT cancel_requested FROM pipeline_runs WHERE id = $1`, id).Scan(&cancelRequested); err != nil {
		return false, s.mapErr(err, "heartbeat")
	}
	return cancelRequested, nil
}

// RequestCancel cancels a queued run or one awaiting approval at once (returning it cancelled), or
// flags a running run so its worker stops at the next heartbeat. A run that
// already finished is ErrConflict.
func (s *Store) RequestCancel(ctx context.Context, id string) (Run, error) {
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE pipeline_runs SET status = $1, cancel_requested = $2, finished_at = $3,
		updated_at = $3, error = $4 WHERE id = $5 AND status IN ($6, $7)`,
		string(RunCancelled), true, now, "cancelled before start", id, string(RunQueued), string(RunAwaitingApproval))
	n, err := rowsAffected(s, res, err, "cancel run")
	if err != nil {
		return Run{}, err
	}
	if n == 0 {
		res, err = s.db.ExecContext(ctx, `UPDATE pipeline_runs SET cancel_requested = $1, updated_at = $2
			WHERE id = $3 AND status = $4`, true, now, id, string(RunRunning))
		if err := s.expectTransition(ctx, res, err, "cancel run", id, RunRunning); err != nil {
			return Run{}, err
		}
	}
	return s.GetRun(ctx, id)
}

// FindStaleRuns returns running runs whose heartbeat is older than before
// (their process died): candidates for RequeueRun on start-up. A partitioned
// run is left out: its chunks hold the leases (FindStaleChunks).
func (s *Store) FindStaleRuns(ctx context.Context, before time.Time) ([]Run, error) {
	return queryAll(ctx, s, "find stale runs", `SELECT `+runCols+` FROM pipeline_runs
		WHERE status = $1 AND (heartbeat_at IS NULL OR heartbeat_at < $2)
		AND NOT EXISTS (SELECT 1 FROM run_chunks c WHERE c.run_id = pipeline_runs.id) ORDER BY created_at, id`,
		[]any{string(RunRunning), s.ts(before)}, scanRun)
}

// DeadLetter is a rejected record with where it came from and why.
type DeadLetter struct {
	ID        int64
	RunID     string
	Node      string // pipeline node id that rejected it
	Source    string // file, stream or table the row came from
	Line      int64  // line or row number in Source (0: unknown)
	Field     string
	Reason    string
	Raw       json.RawMessage // the row as JSON
	CreatedAt time.Time
}

const deadLetterCols = `id, run_id, node, source, line, field, reason, raw, created_at`

func scanDeadLetter(row scanner) (DeadLetter, error) {
	var d DeadLetter
	err := row.Scan(&d.ID, &d.RunID, &d.Node, &d.Source, &d.Line, &d.Field, &d.Reason, jsonCol{&d.Raw}, timeCol{&d.CreatedAt})
	return d, err
}

// AddDeadLetters inserts rows in one transaction (all or nothing). Each row
// needs RunID and Reason; Raw must be valid JSON when set.
func (s *Store) AddDeadLetters(ctx context.Context, rows []DeadLetter) error {
	if len(rows) == 0 {
		return nil
	}
	now := s.ts(s.nowUTC())
	for i, d := range rows {
		if d.RunID == "" || d.Reason == "" {
			return fmt.Errorf("add dead letters: row %d: %w: run id and reason are required", i, ErrInvalid)
		}
		if _, err := jsonArg("raw", d.Raw, nil); err != nil {
			return fmt.Errorf("add dead letters: row %d: %w", i, err)
		}
	}
	args := make([]any, 0, len(rows)*8)
	for _, d := range rows {
		raw, _ := jsonArg("raw", noNULJSON(d.Raw), nil)
		args = append(args, d.RunID, noNUL(d.Node), noNUL(d.Source), d.Line, noNUL(d.Field), noNUL(d.Reason), raw, now)
	}
	const insert = `INSERT INTO dead_letters (run_id, node, source, line, field, reason, raw, created_at) VALUES `
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return s.bulkInsert(ctx, tx, "add dead letters", insert, 8, args)
	})
}

// ListDeadLetters returns a run's dead letters with ID > afterID in insertion
// order, at most limit (capped at MaxLimit). Page through with the last ID.
func (s *Store) ListDeadLetters(ctx context.Context, runID string, afterID int64, limit int) ([]DeadLetter, error) {
	limit, _ = Page{Limit: limit}.norm()
	return queryAll(ctx, s, "list dead letters", `SELECT `+deadLetterCols+` FROM dead_letters
		WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3`, []any{runID, afterID, limit}, scanDeadLetter)
}

// CountDeadLetters counts a run's dead letters.
func (s *Store) CountDeadLetters(ctx context.Context, runID string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM dead_letters WHERE run_id = $1`, runID).Scan(&n); err != nil {
		return 0, s.mapErr(err, "count dead letters")
	}
	return n, nil
}
