package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Alerts: notification channels, rules, the alerts they raise (firing -> resolved, at most one
// firing alert per rule and subject), each alert's history and the notifications to deliver. The
// rules' meaning belongs to internal/alerts; this file stores what it decides.

// AlertChannel is where notifications go. Config is its public settings (JSON owned by
// internal/alerts); Secrets its secret settings, sealed under SecretsKeyID.
type AlertChannel struct {
	ID           string
	Name         string
	Type         string // webhook | email | slack
	Config       json.RawMessage
	Secrets      string
	SecretsKeyID string
	CreatedBy    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const alertChannelCols = `id, name, type, config, secrets, secrets_key_id, created_by, created_at, updated_at`

func scanAlertChannel(row scanner) (AlertChannel, error) {
	var c AlertChannel
	err := row.Scan(&c.ID, &c.Name, &c.Type, jsonCol{&c.Config}, &c.Secrets, &c.SecretsKeyID, &c.CreatedBy,
		timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt})
	return c, err
}

// NewAlertID returns a fresh id for an alert channel, rule or delivery (the caller seals a
// channel's secrets with its id before creating it).
func NewAlertID() (string, error) { return newID() }

// CreateAlertChannel inserts c (ID, Name and Type required; names unique, case-insensitive).
func (s *Store) CreateAlertChannel(ctx context.Context, c AlertChannel) (AlertChannel, error) {
	c.Name = strings.TrimSpace(c.Name)
	if c.ID == "" || c.Name == "" || c.Type == "" {
		return AlertChannel{}, fmt.Errorf("create alert channel: %w: id, name and type are required", ErrInvalid)
	}
	cfg, err := jsonDocArg("config", &c.Config)
	if err != nil {
		return AlertChannel{}, fmt.Errorf("create alert channel: %w", err)
	}
	now := s.nowUTC()
	c.CreatedAt, c.UpdatedAt = now, now
	return valueOr(c, s.insert(ctx, s.db, "create alert channel", "alert_channels", alertChannelCols,
		c.ID, noNUL(c.Name), c.Type, cfg, c.Secrets, c.SecretsKeyID, noNUL(c.CreatedBy), s.ts(now), s.ts(now)))
}

// GetAlertChannel returns a channel by id.
func (s *Store) GetAlertChannel(ctx context.Context, id string) (AlertChannel, error) {
	return getOne(ctx, s, "get alert channel", "alert channel", id, scanAlertChannel,
		`SELECT `+alertChannelCols+` FROM alert_channels WHERE id = $1`, id)
}

// ListAlertChannels lists every channel by name.
func (s *Store) ListAlertChannels(ctx context.Context) ([]AlertChannel, error) {
	return queryAll(ctx, s, "list alert channels", `SELECT `+alertChannelCols+` FROM alert_channels ORDER BY LOWER(name), id`, nil, scanAlertChannel)
}

// UpdateAlertChannel replaces the name, config and secrets of channel c.ID (its type stays).
func (s *Store) UpdateAlertChannel(ctx context.Context, c AlertChannel) (AlertChannel, error) {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" {
		return AlertChannel{}, fmt.Errorf("update alert channel: %w: name is required", ErrInvalid)
	}
	cfg, err := jsonDocArg("config", &c.Config)
	if err != nil {
		return AlertChannel{}, fmt.Errorf("update alert channel: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE alert_channels SET name = $1, config = $2, secrets = $3, secrets_key_id = $4, updated_at = $5
		WHERE id = $6`, noNUL(c.Name), cfg, c.Secrets, c.SecretsKeyID, s.ts(s.nowUTC()), c.ID)
	if err := affectedOne(s, res, err, "update alert channel", "alert channel", c.ID); err != nil {
		return AlertChannel{}, err
	}
	return s.GetAlertChannel(ctx, c.ID)
}

// DeleteAlertChannel removes a channel. Rules that name it keep the id (their notifications to it
// are reported as going to a deleted channel).
func (s *Store) DeleteAlertChannel(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM alert_channels WHERE id = $1`, id)
	return affectedOne(s, res, err, "delete alert channel", "alert channel", id)
}

// AlertRule says when to raise an alert. Condition is the whole condition (JSON owned by
// internal/alerts); ConditionType and PipelineID are copied out of it for queries.
type AlertRule struct {
	ID              string
	Name            string
	ConditionType   string
	PipelineID      string
	Condition       json.RawMessage
	Channels        []string
	ThrottleMinutes int
	Enabled         bool
	// Problem is why the rule could not be evaluated last time ("" when it could), e.g. its
	// pipeline was deleted.
	Problem   string
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

const alertRuleCols = `id, name, condition_type, pipeline_id, condition, channels, throttle_minutes, enabled, problem, created_by, created_at, updated_at`

func scanAlertRule(row scanner) (AlertRule, error) {
	var r AlertRule
	var ch json.RawMessage
	err := row.Scan(&r.ID, &r.Name, &r.ConditionType, &r.PipelineID, jsonCol{&r.Condition}, jsonCol{&ch}, &r.ThrottleMinutes,
		&r.Enabled, &r.Problem, &r.CreatedBy, timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt})
	if err == nil && len(ch) > 0 {
		err = json.Unmarshal(ch, &r.Channels)
	}
	if r.Channels == nil {
		r.Channels = []string{}
	}
	return r, err
}

func (r *AlertRule) args(op string) (cond, channels any, err error) {
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" || r.ConditionType == "" {
		return nil, nil, fmt.Errorf("%s: %w: name and condition type are required", op, ErrInvalid)
	}
	if cond, err = jsonDocArg("condition", &r.Condition); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	if r.Channels == nil {
		r.Channels = []string{}
	}
	b, err := json.Marshal(r.Channels)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	return cond, string(b), nil
}

// CreateAlertRule inserts r (Name and ConditionType required; names unique, case-insensitive).
func (s *Store) CreateAlertRule(ctx context.Context, r AlertRule) (AlertRule, error) {
	cond, ch, err := r.args("create alert rule")
	if err != nil {
		return AlertRule{}, err
	}
	if r.ID, err = newID(); err != nil {
		return AlertRule{}, err
	}
	now := s.nowUTC()
	r.CreatedAt, r.UpdatedAt, r.Problem = now, now, ""
	return valueOr(r, s.insert(ctx, s.db, "create alert rule", "alert_rules", alertRuleCols,
		r.ID, noNUL(r.Name), r.ConditionType, r.PipelineID, cond, ch, r.ThrottleMinutes, r.Enabled, "", noNUL(r.CreatedBy), s.ts(now), s.ts(now)))
}

// GetAlertRule returns a rule by id.
func (s *Store) GetAlertRule(ctx context.Context, id string) (AlertRule, error) {
	return getOne(ctx, s, "get alert rule", "alert rule", id, scanAlertRule, `SELECT `+alertRuleCols+` FROM alert_rules WHERE id = $1`, id)
}

// ListAlertRules lists rules by name; with enabledOnly the enabled ones, with types only those of
// these condition types.
func (s *Store) ListAlertRules(ctx context.Context, enabledOnly bool, types ...string) ([]AlertRule, error) {
	var w where
	if enabledOnly {
		w.add(`enabled = ?`, true)
	}
	whereIn(&w, `condition_type`, types)
	return queryAll(ctx, s, "list alert rules", `SELECT `+alertRuleCols+` FROM alert_rules`+w.sql()+` ORDER BY LOWER(name), id`, w.args, scanAlertRule)
}

// UpdateAlertRule replaces every field of rule r.ID but its creator and creation time, and clears
// its problem.
func (s *Store) UpdateAlertRule(ctx context.Context, r AlertRule) (AlertRule, error) {
	cond, ch, err := r.args("update alert rule")
	if err != nil {
		return AlertRule{}, err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE alert_rules SET name = $1, condition_type = $2, pipeline_id = $3, condition = $4,
		channels = $5, throttle_minutes = $6, enabled = $7, problem = '', updated_at = $8 WHERE id = $9`,
		noNUL(r.Name), r.ConditionType, r.PipelineID, cond, ch, r.ThrottleMinutes, r.Enabled, s.ts(s.nowUTC()), r.ID)
	if err := affectedOne(s, res, err, "update alert rule", "alert rule", r.ID); err != nil {
		return AlertRule{}, err
	}
	return s.GetAlertRule(ctx, r.ID)
}

// SetAlertRuleProblem records why rule id could not be evaluated ("": it could).
func (s *Store) SetAlertRuleProblem(ctx context.Context, id, problem string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE alert_rules SET problem = $1 WHERE id = $2 AND problem <> $1`, noNUL(problem), id)
	return s.mapErr(err, "set alert rule problem")
}

// DeleteAlertRule removes a rule; the alerts it raised stay, with its id and name.
func (s *Store) DeleteAlertRule(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM alert_rules WHERE id = $1`, id)
	return affectedOne(s, res, err, "delete alert rule", "alert rule", id)
}

// Alert states.
const (
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// Alert is what a rule raised for one subject (a pipeline, a worker, a queue): firing until the
// condition no longer holds, then resolved.
type Alert struct {
	ID             string
	RuleID         string
	RuleName       string
	Subject        string
	PipelineID     string
	RunID          string
	State          string // firing | resolved
	Title          string
	Message        string
	FiredAt        time.Time
	ResolvedAt     *time.Time
	AcknowledgedBy string
	AcknowledgedAt *time.Time
	SilencedUntil  *time.Time
	// Notified is true when the firing was notified (not throttled or silenced): only then is the
	// resolution notified too.
	Notified  bool
	UpdatedAt time.Time
}

const alertCols = `id, rule_id, rule_name, subject, pipeline_id, run_id, state, title, message, fired_at, resolved_at,
	acknowledged_by, acknowledged_at, silenced_until, notified, updated_at`

func scanAlert(row scanner) (Alert, error) {
	var a Alert
	err := row.Scan(&a.ID, &a.RuleID, &a.RuleName, &a.Subject, &a.PipelineID, &a.RunID, &a.State, &a.Title, &a.Message,
		timeCol{&a.FiredAt}, nullTimeCol{&a.ResolvedAt}, &a.AcknowledgedBy, nullTimeCol{&a.AcknowledgedAt},
		nullTimeCol{&a.SilencedUntil}, &a.Notified, timeCol{&a.UpdatedAt})
	return a, err
}

// FireAlert raises a firing alert for a.RuleID and a.Subject unless one is firing already: then it
// returns that one and created false (deduplication, also between processes: a unique index
// admits one firing alert per rule and subject). A new alert's history starts with "fired".
func (s *Store) FireAlert(ctx context.Context, a Alert) (_ Alert, created bool, err error) {
	if a.RuleID == "" || a.Title == "" {
		return Alert{}, false, fmt.Errorf("fire alert: %w: rule and title are required", ErrInvalid)
	}
	if a.ID, err = newID(); err != nil {
		return Alert{}, false, err
	}
	now := s.nowUTC()
	a.State, a.FiredAt, a.UpdatedAt = AlertFiring, now, now
	a.ResolvedAt, a.AcknowledgedBy, a.AcknowledgedAt, a.Notified = nil, "", nil, false
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.insert(ctx, tx, "fire alert", "alerts", alertCols, a.ID, a.RuleID, noNUL(a.RuleName), noNUL(a.Subject),
			a.PipelineID, a.RunID, AlertFiring, noNUL(a.Title), noNUL(a.Message), s.ts(now), nil, "", nil, s.tsPtr(a.SilencedUntil), false, s.ts(now)); err != nil {
			return err
		}
		return s.addAlertEvent(ctx, tx, a.ID, "fired", "", a.Message)
	})
	if errors.Is(err, ErrConflict) {
		cur, gerr := getOne(ctx, s, "fire alert", "firing alert of rule", a.RuleID, scanAlert,
			`SELECT `+alertCols+` FROM alerts WHERE rule_id = $1 AND subject = $2 AND state = $3`, a.RuleID, a.Subject, AlertFiring)
		return cur, false, gerr
	}
	if err != nil {
		return Alert{}, false, err
	}
	return a, true, nil
}

// ResolveFiringAlert resolves the firing alert of ruleID and subject, if there is one: resolved
// false when there was none (or another process resolved it first).
func (s *Store) ResolveFiringAlert(ctx context.Context, ruleID, subject, message string) (_ Alert, resolved bool, err error) {
	var id string
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.ts(s.nowUTC())
		err := tx.QueryRowContext(ctx, `UPDATE alerts SET state = $1, resolved_at = $2, updated_at = $2
			WHERE rule_id = $3 AND subject = $4 AND state = $5 RETURNING id`, AlertResolved, now, ruleID, subject, AlertFiring).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			id = ""
			return nil
		}
		if err != nil {
			return s.mapErr(err, "resolve alert")
		}
		return s.addAlertEvent(ctx, tx, id, "resolved", "", message)
	})
	if err != nil || id == "" {
		return Alert{}, false, err
	}
	a, err := s.GetAlert(ctx, id)
	return a, err == nil, err
}

// FiringAlerts returns the firing alerts of a rule.
func (s *Store) FiringAlerts(ctx context.Context, ruleID string) ([]Alert, error) {
	return queryAll(ctx, s, "firing alerts", `SELECT `+alertCols+` FROM alerts WHERE rule_id = $1 AND state = $2 ORDER BY fired_at`,
		[]any{ruleID, AlertFiring}, scanAlert)
}

// PreviousAlert returns the latest alert of ruleID and subject other than exceptID (ErrNotFound
// when there is none): what throttling and silences carry over from.
func (s *Store) PreviousAlert(ctx context.Context, ruleID, subject, exceptID string) (Alert, error) {
	return getOne(ctx, s, "previous alert", "previous alert of rule", ruleID, scanAlert,
		`SELECT `+alertCols+` FROM alerts WHERE rule_id = $1 AND subject = $2 AND id <> $3 ORDER BY fired_at DESC, id DESC LIMIT 1`,
		ruleID, subject, exceptID)
}

// LastNotifiedFiring is when an alert of ruleID and subject other than exceptID was last fired
// with a notification (nil: never).
func (s *Store) LastNotifiedFiring(ctx context.Context, ruleID, subject, exceptID string) (*time.Time, error) {
	var at *time.Time
	err := s.db.QueryRowContext(ctx, `SELECT MAX(fired_at) FROM alerts WHERE rule_id = $1 AND subject = $2 AND id <> $3 AND notified = $4`,
		ruleID, subject, exceptID, true).Scan(nullTimeCol{&at})
	return at, s.mapErr(err, "last notified alert")
}

// MarkAlertNotified records that the firing of alert id was notified.
func (s *Store) MarkAlertNotified(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE alerts SET notified = $1 WHERE id = $2`, true, id)
	return affectedOne(s, res, err, "mark alert notified", "alert", id)
}

// GetAlert returns an alert by id.
func (s *Store) GetAlert(ctx context.Context, id string) (Alert, error) {
	return getOne(ctx, s, "get alert", "alert", id, scanAlert, `SELECT `+alertCols+` FROM alerts WHERE id = $1`, id)
}

// AlertFilter selects alerts. Empty fields do not filter.
type AlertFilter struct {
	State      string
	RuleID     string
	PipelineID string
	Page       Page
}

// ListAlerts lists alerts, newest first.
func (s *Store) ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, int, error) {
	var w where
	w.eq(`state`, f.State)
	w.eq(`rule_id`, f.RuleID)
	w.eq(`pipeline_id`, f.PipelineID)
	return listQuery(ctx, s, "list alerts", "alerts", alertCols, w, "fired_at DESC, id DESC", f.Page, scanAlert)
}

// AcknowledgeAlert records that actor acknowledged alert id. ErrConflict when it is resolved or
// acknowledged already.
func (s *Store) AcknowledgeAlert(ctx context.Context, id, actor string) (Alert, error) {
	return s.alertChange(ctx, id, "acknowledge alert", "acknowledged", actor, "",
		`UPDATE alerts SET acknowledged_by = $1, acknowledged_at = $2, updated_at = $2 WHERE id = $3 AND state = '`+AlertFiring+`' AND acknowledged_at IS NULL`,
		noNUL(actor), s.ts(s.nowUTC()), id)
}

// SilenceAlert silences alert id until until (nil: lifts the silence). ErrConflict when it is
// resolved.
func (s *Store) SilenceAlert(ctx context.Context, id, actor string, until *time.Time) (Alert, error) {
	kind, msg := "silenced", ""
	if until == nil {
		kind = "unsilenced"
	} else {
		msg = "until " + until.UTC().Format(time.RFC3339)
	}
	return s.alertChange(ctx, id, "silence alert", kind, actor, msg,
		`UPDATE alerts SET silenced_until = $1, updated_at = $2 WHERE id = $3 AND state = '`+AlertFiring+`'`,
		s.tsPtr(until), s.ts(s.nowUTC()), id)
}

func (s *Store) alertChange(ctx context.Context, id, op, kind, actor, msg, q string, args ...any) (Alert, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		n, err := rowsAffected(s, res, err, op)
		if err != nil {
			return err
		}
		if n == 0 {
			return errNoChange
		}
		return s.addAlertEvent(ctx, tx, id, kind, actor, msg)
	})
	if err != nil && !errors.Is(err, errNoChange) {
		return Alert{}, err
	}
	a, gerr := s.GetAlert(ctx, id)
	if gerr != nil {
		return Alert{}, gerr
	}
	if err != nil {
		why := "it is resolved"
		if a.State == AlertFiring {
			why = "it is acknowledged already"
		}
		return Alert{}, fmt.Errorf("%s %s: %s: %w", op, id, why, ErrConflict)
	}
	return a, nil
}

var errNoChange = errors.New("no change")

// AlertEvent is one entry of an alert's history.
type AlertEvent struct {
	ID      int64
	AlertID string
	Time    time.Time
	Kind    string // fired | resolved | acknowledged | silenced | unsilenced | throttled | notified
	Actor   string
	Message string
}

func (s *Store) addAlertEvent(ctx context.Context, ex execer, alertID, kind, actor, msg string) error {
	_, err := ex.ExecContext(ctx, `INSERT INTO alert_events (alert_id, time, kind, actor, message) VALUES ($1, $2, $3, $4, $5)`,
		alertID, s.ts(s.nowUTC()), kind, noNUL(actor), noNUL(msg))
	return s.mapErr(err, "add alert event")
}

// AddAlertEvent appends to an alert's history.
func (s *Store) AddAlertEvent(ctx context.Context, alertID, kind, actor, msg string) error {
	return s.addAlertEvent(ctx, s.db, alertID, kind, actor, msg)
}

// ListAlertEvents returns an alert's history, oldest first.
func (s *Store) ListAlertEvents(ctx context.Context, alertID string) ([]AlertEvent, error) {
	return queryAll(ctx, s, "list alert events", `SELECT id, alert_id, time, kind, actor, message FROM alert_events
		WHERE alert_id = $1 ORDER BY id`, []any{alertID}, func(row scanner) (AlertEvent, error) {
		var e AlertEvent
		err := row.Scan(&e.ID, &e.AlertID, timeCol{&e.Time}, &e.Kind, &e.Actor, &e.Message)
		return e, err
	})
}

// Delivery states.
const (
	DeliveryPending  = "pending"  // not tried yet
	DeliveryRetrying = "retrying" // failed, will be tried again
	DeliverySent     = "sent"
	DeliveryFailed   = "failed" // every attempt failed
)

// AlertDelivery is one notification of one alert transition (or a channel test) to one channel.
type AlertDelivery struct {
	ID          string
	AlertID     string // "" for a test
	ChannelID   string
	ChannelName string
	Event       string // firing | resolved | test
	Status      string
	Attempts    int
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	SentAt      *time.Time
}

const alertDeliveryCols = `id, alert_id, channel_id, channel_name, event, status, attempts, last_error, created_at, updated_at, sent_at`

func scanAlertDelivery(row scanner) (AlertDelivery, error) {
	var d AlertDelivery
	err := row.Scan(&d.ID, &d.AlertID, &d.ChannelID, &d.ChannelName, &d.Event, &d.Status, &d.Attempts, &d.LastError,
		timeCol{&d.CreatedAt}, timeCol{&d.UpdatedAt}, nullTimeCol{&d.SentAt})
	return d, err
}

// CreateAlertDelivery records a pending notification (ID, ChannelID and Event required).
func (s *Store) CreateAlertDelivery(ctx context.Context, d AlertDelivery) (AlertDelivery, error) {
	if d.ID == "" || d.ChannelID == "" || d.Event == "" {
		return AlertDelivery{}, fmt.Errorf("create alert delivery: %w: id, channel and event are required", ErrInvalid)
	}
	now := s.nowUTC()
	d.Status, d.Attempts, d.LastError, d.CreatedAt, d.UpdatedAt, d.SentAt = DeliveryPending, 0, "", now, now, nil
	return valueOr(d, s.insert(ctx, s.db, "create alert delivery", "alert_deliveries", alertDeliveryCols,
		d.ID, d.AlertID, d.ChannelID, noNUL(d.ChannelName), d.Event, d.Status, 0, "", s.ts(now), s.ts(now), nil))
}

// GetAlertDelivery returns a delivery by id.
func (s *Store) GetAlertDelivery(ctx context.Context, id string) (AlertDelivery, error) {
	return getOne(ctx, s, "get alert delivery", "alert delivery", id, scanAlertDelivery,
		`SELECT `+alertDeliveryCols+` FROM alert_deliveries WHERE id = $1`, id)
}

// RecordDeliveryAttempt records the outcome of one attempt of delivery id: status is
// DeliverySent, DeliveryRetrying or DeliveryFailed; errText the failure.
func (s *Store) RecordDeliveryAttempt(ctx context.Context, id, status, errText string) (AlertDelivery, error) {
	if err := s.recordDeliveryAttempt(ctx, s.db, id, status, errText); err != nil {
		return AlertDelivery{}, err
	}
	return s.GetAlertDelivery(ctx, id)
}

// RecordDeliveryFailure records the last, failed attempt of delivery id and, in the same
// transaction, the delivery_failed entry msg in the history of alert alertID: whoever reads the
// delivery as failed finds the entry.
func (s *Store) RecordDeliveryFailure(ctx context.Context, id, errText, alertID, msg string) (AlertDelivery, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.recordDeliveryAttempt(ctx, tx, id, DeliveryFailed, errText); err != nil {
			return err
		}
		return s.addAlertEvent(ctx, tx, alertID, "delivery_failed", "", msg)
	})
	if err != nil {
		return AlertDelivery{}, err
	}
	return s.GetAlertDelivery(ctx, id)
}

func (s *Store) recordDeliveryAttempt(ctx context.Context, ex execer, id, status, errText string) error {
	now := s.nowUTC()
	var sent any
	if status == DeliverySent {
		sent = s.ts(now)
	}
	res, err := ex.ExecContext(ctx, `UPDATE alert_deliveries SET status = $1, attempts = attempts + 1, last_error = $2,
		updated_at = $3, sent_at = $4 WHERE id = $5`, status, noNUL(errText), s.ts(now), sent, id)
	return affectedOne(s, res, err, "record delivery attempt", "alert delivery", id)
}

// ListAlertDeliveries returns the deliveries of an alert, oldest first.
func (s *Store) ListAlertDeliveries(ctx context.Context, alertID string) ([]AlertDelivery, error) {
	return queryAll(ctx, s, "list alert deliveries", `SELECT `+alertDeliveryCols+` FROM alert_deliveries
		WHERE alert_id = $1 ORDER BY created_at, id`, []any{alertID}, scanAlertDelivery)
}
