package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// AlertRule says when to raise an alert. Kind is interpreted by the alerting
// service (e.g. "run_failed", "run_duration", "reject_ratio"); PipelineID ""
// applies to every pipeline; Channels is JSON owned by that service.
type AlertRule struct {
	ID          string
	Name        string
	Description string
	Kind        string
	PipelineID  string
	Threshold   float64
	Severity    string // info | warning | critical
	Channels    json.RawMessage
	Enabled     bool
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const alertRuleCols = `id, name, description, kind, pipeline_id, threshold, severity, channels, enabled, created_by, created_at, updated_at`

func scanAlertRule(row scanner) (AlertRule, error) {
	var r AlertRule
	err := row.Scan(&r.ID, &r.Name, &r.Description, &r.Kind, &r.PipelineID, &r.Threshold, &r.Severity, jsonCol{&r.Channels},
		&r.Enabled, &r.CreatedBy, timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt})
	return r, err
}

// CreateAlertRule inserts r (Name, Kind and Severity required; names unique).
func (s *Store) CreateAlertRule(ctx context.Context, r AlertRule) (AlertRule, error) {
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" || r.Kind == "" || r.Severity == "" {
		return AlertRule{}, fmt.Errorf("create alert rule: %w: name, kind and severity are required", ErrInvalid)
	}
	ch, err := jsonArg("channels", r.Channels, nil)
	if err != nil {
		return AlertRule{}, fmt.Errorf("create alert rule: %w", err)
	}
	if r.ID, err = newID(); err != nil {
		return AlertRule{}, err
	}
	now := s.nowUTC()
	r.CreatedAt, r.UpdatedAt = now, now
	return valueOr(r, s.insert(ctx, s.db, "create alert rule", "alert_rules", alertRuleCols,
		r.ID, r.Name, r.Description, r.Kind, r.PipelineID, r.Threshold, r.Severity, ch, r.Enabled, r.CreatedBy, s.ts(now), s.ts(now)))
}

// GetAlertRule returns a rule by id.
func (s *Store) GetAlertRule(ctx context.Context, id string) (AlertRule, error) {
	return getOne(ctx, s, "get alert rule", "alert rule", id, scanAlertRule, `SELECT `+alertRuleCols+` FROM alert_rules WHERE id = $1`, id)
}

// ListAlertRules lists rules by name; enabledOnly keeps enabled ones.
func (s *Store) ListAlertRules(ctx context.Context, enabledOnly bool, page Page) ([]AlertRule, int, error) {
	var w where
	if enabledOnly {
		w.add(`enabled = ?`, true)
	}
	return listQuery(ctx, s, "list alert rules", "alert_rules", alertRuleCols, w, "LOWER(name), id", page, scanAlertRule)
}

// UpdateAlertRule replaces every field of rule r.ID but its creator and creation time.
func (s *Store) UpdateAlertRule(ctx context.Context, r AlertRule) (AlertRule, error) {
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" || r.Kind == "" || r.Severity == "" {
		return AlertRule{}, fmt.Errorf("update alert rule: %w: name, kind and severity are required", ErrInvalid)
	}
	ch, err := jsonArg("channels", r.Channels, nil)
	if err != nil {
		return AlertRule{}, fmt.Errorf("update alert rule: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE alert_rules SET name = $1, description = $2, kind = $3, pipeline_id = $4,
		threshold = $5, severity = $6, channels = $7, enabled = $8, updated_at = $9 WHERE id = $10`,
		r.Name, r.Description, r.Kind, r.PipelineID, r.Threshold, r.Severity, ch, r.Enabled, s.ts(s.nowUTC()), r.ID)
	if err := affectedOne(s, res, err, "update alert rule", "alert rule", r.ID); err != nil {
		return AlertRule{}, err
	}
	return s.GetAlertRule(ctx, r.ID)
}

// DeleteAlertRule removes a rule; alerts it raised keep its id.
func (s *Store) DeleteAlertRule(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM alert_rules WHERE id = $1`, id)
	return affectedOne(s, res, err, "delete alert rule", "alert rule", id)
}

// Alert states.
const (
	AlertOpen         = "open"
	AlertAcknowledged = "acknowledged"
	AlertResolved     = "resolved"
)

// Alert is a raised alert.
type Alert struct {
	ID             string
	RuleID         string
	PipelineID     string
	RunID          string
	Severity       string
	Title          string
	Message        string
	Status         string // open | acknowledged | resolved
	CreatedAt      time.Time
	AcknowledgedBy string
	AcknowledgedAt *time.Time
	ResolvedAt     *time.Time
}

const alertCols = `id, rule_id, pipeline_id, run_id, severity, title, message, status, created_at, acknowledged_by, acknowledged_at, resolved_at`

func scanAlert(row scanner) (Alert, error) {
	var a Alert
	err := row.Scan(&a.ID, &a.RuleID, &a.PipelineID, &a.RunID, &a.Severity, &a.Title, &a.Message, &a.Status,
		timeCol{&a.CreatedAt}, &a.AcknowledgedBy, nullTimeCol{&a.AcknowledgedAt}, nullTimeCol{&a.ResolvedAt})
	return a, err
}

// CreateAlert raises an open alert (Severity and Title required).
func (s *Store) CreateAlert(ctx context.Context, a Alert) (Alert, error) {
	if a.Severity == "" || a.Title == "" {
		return Alert{}, fmt.Errorf("create alert: %w: severity and title are required", ErrInvalid)
	}
	id, err := newID()
	if err != nil {
		return Alert{}, err
	}
	a.ID, a.Status, a.CreatedAt = id, AlertOpen, s.nowUTC()
	a.AcknowledgedBy, a.AcknowledgedAt, a.ResolvedAt = "", nil, nil
	return valueOr(a, s.insert(ctx, s.db, "create alert", "alerts", alertCols,
		a.ID, a.RuleID, a.PipelineID, a.RunID, a.Severity, a.Title, a.Message, a.Status, s.ts(a.CreatedAt), "", nil, nil))
}

// GetAlert returns an alert by id.
func (s *Store) GetAlert(ctx context.Context, id string) (Alert, error) {
	return getOne(ctx, s, "get alert", "alert", id, scanAlert, `SELECT `+alertCols+` FROM alerts WHERE id = $1`, id)
}

// AlertFilter selects alerts. Empty fields do not filter.
type AlertFilter struct {
	Status     string
	Severity   string
	PipelineID string
	Page       Page
}

// ListAlerts lists alerts, newest first.
func (s *Store) ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, int, error) {
	var w where
	w.eq(`status`, f.Status)
	w.eq(`severity`, f.Severity)
	w.eq(`pipeline_id`, f.PipelineID)
	return listQuery(ctx, s, "list alerts", "alerts", alertCols, w, "created_at DESC, id DESC", f.Page, scanAlert)
}

// AcknowledgeAlert marks an open alert acknowledged by actor. ErrConflict
// when it is not open.
func (s *Store) AcknowledgeAlert(ctx context.Context, id, actor string) (Alert, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE alerts SET status = $1, acknowledged_by = $2, acknowledged_at = $3
		WHERE id = $4 AND status = $5`, AlertAcknowledged, actor, s.ts(s.nowUTC()), id, AlertOpen)
	return s.alertTransition(ctx, res, err, "acknowledge alert", id)
}

// ResolveAlert marks an open or acknowledged alert resolved. ErrConflict
// when it is already resolved.
func (s *Store) ResolveAlert(ctx context.Context, id string) (Alert, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE alerts SET status = $1, resolved_at = $2
		WHERE id = $3 AND status <> $1`, AlertResolved, s.ts(s.nowUTC()), id)
	return s.alertTransition(ctx, res, err, "resolve alert", id)
}

func (s *Store) alertTransition(ctx context.Context, res sql.Result, err error, op, id string) (Alert, error) {
	n, err := rowsAffected(s, res, err, op)
	if err != nil {
		return Alert{}, err
	}
	a, err := s.GetAlert(ctx, id)
	if err != nil {
		return Alert{}, err
	}
	if n == 0 {
		return Alert{}, fmt.Errorf("%s %s: status is %s: %w", op, id, a.Status, ErrConflict)
	}
	return a, nil
}
