package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// LogEntry is a line of the system log; run logs are entries with RunID set.
type LogEntry struct {
	ID        int64
	Time      time.Time // zero means now
	Level     string    // debug | info | warn | error
	Source    string    // component, e.g. "engine", "scheduler"
	Message   string
	RunID     string
	Node      string
	RequestID string
	Details   json.RawMessage
}

const logCols = `id, time, level, source, message, run_id, node, request_id, details`

func scanLog(row scanner) (LogEntry, error) {
	var e LogEntry
	err := row.Scan(&e.ID, timeCol{&e.Time}, &e.Level, &e.Source, &e.Message, &e.RunID, &e.Node, &e.RequestID, jsonCol{&e.Details})
	return e, err
}

// AppendLogs inserts entries in one transaction (all or nothing). Level and
// Message are required.
func (s *Store) AppendLogs(ctx context.Context, entries []LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	now := s.nowUTC()
	args := make([]any, 0, len(entries)*8)
	for i, e := range entries {
		if e.Level == "" || e.Message == "" {
			return fmt.Errorf("append logs: entry %d: %w: level and message are required", i, ErrInvalid)
		}
		details, err := jsonArg("details", e.Details, nil)
		if err != nil {
			return fmt.Errorf("append logs: entry %d: %w", i, err)
		}
		t := e.Time
		if t.IsZero() {
			t = now
		}
		args = append(args, s.ts(t), e.Level, e.Source, e.Message, e.RunID, e.Node, e.RequestID, details)
	}
	const insert = `INSERT INTO system_logs (time, level, source, message, run_id, node, request_id, details) VALUES `
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return s.bulkInsert(ctx, tx, "append logs", insert, 8, args)
	})
}

// LogFilter selects log entries. Empty fields do not filter; From is
// inclusive, To exclusive; AfterID returns entries with a larger ID (to tail).
type LogFilter struct {
	RunID    string
	Level    []string
	Source   string
	From, To time.Time
	AfterID  int64
	// Oldest lists in insertion order (for tailing); default is newest first.
	Oldest bool
	Page   Page
}

// ListLogs returns entries matching f and their total.
func (s *Store) ListLogs(ctx context.Context, f LogFilter) ([]LogEntry, int, error) {
	var w where
	w.eq(`run_id`, f.RunID)
	whereIn(&w, `level`, f.Level)
	w.eq(`source`, f.Source)
	s.timeRange(&w, `time`, f.From, f.To)
	if f.AfterID > 0 {
		w.add(`id > ?`, f.AfterID)
	}
	order := "id DESC"
	if f.Oldest {
		order = "id"
	}
	return listQuery(ctx, s, "list logs", "system_logs", logCols, w, order, f.Page, scanLog)
}

// DeleteLogsBefore removes log entries older than cutoff (retention).
func (s *Store) DeleteLogsBefore(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM system_logs WHERE time < $1`, s.ts(cutoff))
	return rowsAffected(s, res, err, "delete logs")
}

// AuditEntry is one append-only audit record.
type AuditEntry struct {
	ID         int64
	Time       time.Time // zero means now
	ActorID    string
	ActorName  string
	Action     string // e.g. "user.create", "auth.login"
	TargetType string
	TargetID   string
	IP         string
	UserAgent  string
	Result     string // "success" | "failure" | "denied"
	RequestID  string
	Details    json.RawMessage
}

const auditCols = `id, time, actor_id, actor_name, action, target_type, target_id, ip, user_agent, result, request_id, details`

func scanAudit(row scanner) (AuditEntry, error) {
	var a AuditEntry
	err := row.Scan(&a.ID, timeCol{&a.Time}, &a.ActorID, &a.ActorName, &a.Action, &a.TargetType, &a.TargetID,
		&a.IP, &a.UserAgent, &a.Result, &a.RequestID, jsonCol{&a.Details})
	return a, err
}

// AppendAudit records an audit entry and returns it with its ID. Action and
// Result are required. There is no method to change or delete entries.
func (s *Store) AppendAudit(ctx context.Context, a AuditEntry) (AuditEntry, error) {
	if a.Action == "" || a.Result == "" {
		return AuditEntry{}, fmt.Errorf("append audit: %w: action and result are required", ErrInvalid)
	}
	details, err := jsonArg("details", a.Details, nil)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("append audit: %w", err)
	}
	// An entry is never lost to a NUL character (a login attempt with one): stored as U+FFFD.
	if details != nil {
		details = string(noNULJSON(a.Details))
	}
	for _, f := range []*string{&a.ActorName, &a.TargetType, &a.TargetID, &a.IP, &a.UserAgent, &a.RequestID} {
		*f = noNUL(*f)
	}
	if a.Time.IsZero() {
		a.Time = s.nowUTC()
	}
	a.Time = a.Time.UTC().Truncate(time.Microsecond)
	err = s.db.QueryRowContext(ctx, `INSERT INTO audit_logs (time, actor_id, actor_name, action, target_type, target_id,
		ip, user_agent, result, request_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		s.ts(a.Time), a.ActorID, a.ActorName, a.Action, a.TargetType, a.TargetID, a.IP, a.UserAgent, a.Result,
		a.RequestID, details).Scan(&a.ID)
	if err != nil {
		return AuditEntry{}, s.mapErr(err, "append audit")
	}
	return a, nil
}

// AuditFilter selects audit entries. Empty fields do not filter; Action
// matches exactly, or as a prefix when it ends with "." ("user." matches
// "user.create"); From is inclusive, To exclusive.
type AuditFilter struct {
	ActorID    string
	Action     string
	TargetType string
	TargetID   string
	Result     string
	RequestID  string
	From, To   time.Time
	Page       Page
}

// ListAudit returns entries newest first and the total matching.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, int, error) {
	var w where
	w.eq(`actor_id`, f.ActorID)
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			w.add(`action LIKE ? ESCAPE '\'`, strings.TrimSuffix(likePattern(f.Action), "%")[1:]+"%")
		} else {
			w.add(`action = ?`, f.Action)
		}
	}
	w.eq(`target_type`, f.TargetType)
	w.eq(`target_id`, f.TargetID)
	w.eq(`result`, f.Result)
	w.eq(`request_id`, f.RequestID)
	s.timeRange(&w, `time`, f.From, f.To)
	return listQuery(ctx, s, "list audit", "audit_logs", auditCols, w, "time DESC, id DESC", f.Page, scanAudit)
}
