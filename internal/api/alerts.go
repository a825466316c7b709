package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dataaggregator/aggregator/internal/alerts"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Alerts: rules, channels, alerts with their history and deliveries, acknowledge, silence and a
// channel's test notification. Decode, call internal/alerts, respond. Channel secrets (a webhook's
// secret, an SMTP password, a Slack URL) are never returned: reads show "********", and an update
// that sends "********" (or leaves a secret out) keeps the stored value.

// AlertCondition is a rule's condition; which fields apply depends on type (docs/alerts.md).
type AlertCondition struct {
	Type       string  `json:"type" enum:"run_failed,run_duration_over,reject_ratio_over,freshness_over,worker_down,queue_depth_over,stream_lag_over,run_awaiting_approval"`
	PipelineID string  `json:"pipeline_id,omitempty" maxLength:"64" doc:"The pipeline watched (empty: every pipeline); not for worker_down and queue_depth_over"`
	Seconds    float64 `json:"seconds,omitempty" doc:"run_duration_over: run time; stream_lag_over: age of a running run's last checkpoint"`
	Ratio      float64 `json:"ratio,omitempty" doc:"reject_ratio_over: rejected rows / rows read, above 0 and at most 1"`
	Minutes    float64 `json:"minutes,omitempty" doc:"freshness_over: minutes since the last successful run"`
	Depth      int     `json:"depth,omitempty" doc:"queue_depth_over: waiting jobs"`
	Queue      string  `json:"queue,omitempty" maxLength:"64" doc:"queue_depth_over: the queue (empty: all queues)"`
}

// AlertRule is an alert rule.
type AlertRule struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	Condition       AlertCondition `json:"condition"`
	Description     string         `json:"description" doc:"The condition in words"`
	Channels        []string       `json:"channels" nullable:"false" doc:"Channel ids notified"`
	ThrottleMinutes int            `json:"throttle_minutes"`
	Enabled         bool           `json:"enabled"`
	Problem         string         `json:"problem" doc:"Why the rule could not be evaluated last time (a deleted pipeline); empty when it could"`
	CreatedBy       string         `json:"created_by"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
}

func toAlertRuleDTO(r alerts.Rule) AlertRule {
	c := r.Cond
	return AlertRule{ID: r.ID, Name: r.Name, Condition: AlertCondition{Type: c.Type, PipelineID: c.PipelineID, Seconds: c.Seconds, Ratio: c.Ratio,
		Minutes: c.Minutes, Depth: c.Depth, Queue: c.Queue}, Description: c.Describe(), Channels: r.Channels, ThrottleMinutes: r.ThrottleMinutes,
		Enabled: r.Enabled, Problem: r.Problem, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

type alertRuleBody struct {
	Name            string          `json:"name" minLength:"1" maxLength:"128"`
	Condition       json.RawMessage `json:"condition" doc:"{type, ...}: see AlertCondition"`
	Channels        []string        `json:"channels,omitempty" maxItems:"20" doc:"Channel ids to notify"`
	ThrottleMinutes int             `json:"throttle_minutes,omitempty" minimum:"0" maximum:"10080" doc:"No new notification of the same rule and subject within this many minutes of the last one"`
	Enabled         *bool           `json:"enabled,omitempty" doc:"Default true"`
}

func (b alertRuleBody) input() alerts.RuleInput {
	enabled := b.Enabled == nil || *b.Enabled
	return alerts.RuleInput{Name: b.Name, Condition: b.Condition, Channels: b.Channels, ThrottleMinutes: b.ThrottleMinutes, Enabled: enabled}
}

// AlertChannelConfig is a channel's settings; which apply depends on the type (docs/alerts.md).
// Secrets read back as "********".
type AlertChannelConfig struct {
	URL      string   `json:"url,omitempty" doc:"webhook: the URL posted to; slack: the incoming webhook URL (a secret)"`
	Secret   string   `json:"secret,omitempty" doc:"webhook: the HMAC-SHA256 signing secret (a secret)"`
	Host     string   `json:"host,omitempty" doc:"email: SMTP host"`
	Port     int      `json:"port,omitempty" doc:"email: SMTP port (default 587)"`
	TLS      string   `json:"tls,omitempty" doc:"email: starttls (default) or tls"`
	Username string   `json:"username,omitempty" doc:"email: SMTP user"`
	Password string   `json:"password,omitempty" doc:"email: SMTP password (a secret)"`
	From     string   `json:"from,omitempty" doc:"email: sender address"`
	To       []string `json:"to,omitempty" doc:"email: recipients"`
}

// AlertChannel is a notification channel.
type AlertChannel struct {
	ID        string             `json:"id"`
	Name      string             `json:"name"`
	Type      string             `json:"type" enum:"webhook,email,slack"`
	Config    AlertChannelConfig `json:"config"`
	CreatedBy string             `json:"created_by"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
}

func toAlertChannelDTO(c alerts.Channel) AlertChannel {
	s := c.Config
	return AlertChannel{ID: c.ID, Name: c.Name, Type: c.Type, Config: AlertChannelConfig{URL: s.URL, Secret: s.Secret, Host: s.Host, Port: s.Port,
		TLS: s.TLS, Username: s.Username, Password: s.Password, From: s.From, To: s.To}, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

type alertChannelBody struct {
	Name   string          `json:"name" minLength:"1" maxLength:"128"`
	Type   string          `json:"type" enum:"webhook,email,slack"`
	Config json.RawMessage `json:"config" doc:"See AlertChannelConfig; secrets sent as \"********\" keep their stored value"`
}

// Alert is a raised alert.
type Alert struct {
	ID             string     `json:"id"`
	RuleID         string     `json:"rule_id"`
	RuleName       string     `json:"rule_name"`
	Subject        string     `json:"subject" doc:"What the alert is about: a pipeline id, a worker id, a queue"`
	PipelineID     string     `json:"pipeline_id"`
	RunID          string     `json:"run_id"`
	State          string     `json:"state" enum:"firing,resolved"`
	Title          string     `json:"title"`
	Message        string     `json:"message"`
	FiredAt        time.Time  `json:"fired_at"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	AcknowledgedBy string     `json:"acknowledged_by"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	SilencedUntil  *time.Time `json:"silenced_until,omitempty"`
	Notified       bool       `json:"notified" doc:"The firing was notified (not throttled or silenced)"`
}

func toAlertDTO(a store.Alert) Alert {
	return Alert{ID: a.ID, RuleID: a.RuleID, RuleName: a.RuleName, Subject: a.Subject, PipelineID: a.PipelineID, RunID: a.RunID, State: a.State,
		Title: a.Title, Message: a.Message, FiredAt: a.FiredAt, ResolvedAt: a.ResolvedAt, AcknowledgedBy: a.AcknowledgedBy,
		AcknowledgedAt: a.AcknowledgedAt, SilencedUntil: a.SilencedUntil, Notified: a.Notified}
}

// AlertEvent is one entry of an alert's history.
type AlertEvent struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind" doc:"fired, resolved, acknowledged, silenced, unsilenced, throttled, delivery_failed"`
	Actor   string    `json:"actor"`
	Message string    `json:"message"`
}

// AlertDelivery is one notification to one channel.
type AlertDelivery struct {
	ID          string     `json:"id"`
	AlertID     string     `json:"alert_id"`
	ChannelID   string     `json:"channel_id"`
	ChannelName string     `json:"channel_name"`
	Event       string     `json:"event" enum:"firing,resolved,test"`
	Status      string     `json:"status" enum:"pending,retrying,sent,failed"`
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"last_error"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	SentAt      *time.Time `json:"sent_at,omitempty"`
}

func toAlertDeliveryDTO(d store.AlertDelivery) AlertDelivery {
	return AlertDelivery{ID: d.ID, AlertID: d.AlertID, ChannelID: d.ChannelID, ChannelName: d.ChannelName, Event: d.Event, Status: d.Status,
		Attempts: d.Attempts, LastError: d.LastError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, SentAt: d.SentAt}
}

// AlertDetail is an alert with its history and deliveries.
type AlertDetail struct {
	Alert
	History    []AlertEvent    `json:"history" nullable:"false"`
	Deliveries []AlertDelivery `json:"deliveries" nullable:"false"`
}

// alertsError maps the alert service's input problems to a 422 naming each field.
func alertsError(err error) error {
	var ie *alerts.InvalidError
	if errors.As(err, &ie) {
		fields := make([]*huma.ErrorDetail, len(ie.Problems))
		for i, p := range ie.Problems {
			fields[i] = fieldError("body."+p.Path, p.Message, nil)
		}
		return newProblem(http.StatusUnprocessableEntity, ie.Error(), fields...)
	}
	return err
}

type alertIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) listAlertRules(ctx context.Context, _ *struct{}) (*struct{ Body []AlertRule }, error) {
	rs, err := s.alerts.ListRules(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AlertRule, len(rs))
	for i, r := range rs {
		out[i] = toAlertRuleDTO(r)
	}
	return &struct{ Body []AlertRule }{Body: out}, nil
}

func (s *Server) createAlertRule(ctx context.Context, in *struct{ Body alertRuleBody }) (*struct{ Body AlertRule }, error) {
	r, err := s.alerts.CreateRule(ctx, in.Body.input(), principalFrom(ctx).Username)
	if err != nil {
		return nil, alertsError(err)
	}
	infoFrom(ctx).setTarget("alert_rule", r.ID)
	return &struct{ Body AlertRule }{Body: toAlertRuleDTO(r)}, nil
}

func (s *Server) getAlertRule(ctx context.Context, in *alertIDInput) (*struct{ Body AlertRule }, error) {
	r, err := s.alerts.GetRule(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body AlertRule }{Body: toAlertRuleDTO(r)}, nil
}

func (s *Server) updateAlertRule(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"64"`
	Body alertRuleBody
}) (*struct{ Body AlertRule }, error) {
	infoFrom(ctx).setTarget("alert_rule", in.ID)
	r, err := s.alerts.UpdateRule(ctx, in.ID, in.Body.input())
	if err != nil {
		return nil, alertsError(err)
	}
	return &struct{ Body AlertRule }{Body: toAlertRuleDTO(r)}, nil
}

func (s *Server) deleteAlertRule(ctx context.Context, in *alertIDInput) (*struct{}, error) {
	infoFrom(ctx).setTarget("alert_rule", in.ID)
	return nil, s.alerts.DeleteRule(ctx, in.ID)
}

func (s *Server) listAlertChannels(ctx context.Context, _ *struct{}) (*struct{ Body []AlertChannel }, error) {
	cs, err := s.alerts.ListChannels(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AlertChannel, len(cs))
	for i, c := range cs {
		out[i] = toAlertChannelDTO(c)
	}
	return &struct{ Body []AlertChannel }{Body: out}, nil
}

func (s *Server) createAlertChannel(ctx context.Context, in *struct{ Body alertChannelBody }) (*struct{ Body AlertChannel }, error) {
	c, err := s.alerts.CreateChannel(ctx, alerts.ChannelInput{Name: in.Body.Name, Type: in.Body.Type, Config: in.Body.Config}, principalFrom(ctx).Username)
	if err != nil {
		return nil, alertsError(err)
	}
	infoFrom(ctx).setTarget("alert_channel", c.ID)
	return &struct{ Body AlertChannel }{Body: toAlertChannelDTO(c)}, nil
}

func (s *Server) getAlertChannel(ctx context.Context, in *alertIDInput) (*struct{ Body AlertChannel }, error) {
	c, err := s.alerts.GetChannel(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body AlertChannel }{Body: toAlertChannelDTO(c)}, nil
}

func (s *Server) updateAlertChannel(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"64"`
	Body alertChannelBody
}) (*struct{ Body AlertChannel }, error) {
	infoFrom(ctx).setTarget("alert_channel", in.ID)
	c, err := s.alerts.UpdateChannel(ctx, in.ID, alerts.ChannelInput{Name: in.Body.Name, Type: in.Body.Type, Config: in.Body.Config})
	if err != nil {
		return nil, alertsError(err)
	}
	return &struct{ Body AlertChannel }{Body: toAlertChannelDTO(c)}, nil
}

func (s *Server) deleteAlertChannel(ctx context.Context, in *alertIDInput) (*struct{}, error) {
	infoFrom(ctx).setTarget("alert_channel", in.ID)
	return nil, s.alerts.DeleteChannel(ctx, in.ID)
}

func (s *Server) testAlertChannel(ctx context.Context, in *alertIDInput) (*struct{ Body AlertDelivery }, error) {
	infoFrom(ctx).setTarget("alert_channel", in.ID)
	d, err := s.alerts.TestChannel(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body AlertDelivery }{Body: toAlertDeliveryDTO(d)}, nil
}

type listAlertsInput struct {
	PageQuery
	State      string `query:"state" enum:"firing,resolved," doc:"Only alerts in this state"`
	RuleID     string `query:"rule_id" maxLength:"64" doc:"Only alerts of this rule (its history)"`
	PipelineID string `query:"pipeline_id" maxLength:"64" doc:"Only alerts about this pipeline"`
}

func (s *Server) listAlerts(ctx context.Context, in *listAlertsInput) (*struct{ Body Page[Alert] }, error) {
	list, total, err := s.alerts.ListAlerts(ctx, store.AlertFilter{State: in.State, RuleID: in.RuleID, PipelineID: in.PipelineID, Page: in.store()})
	if err != nil {
		return nil, err
	}
	items := make([]Alert, len(list))
	for i, a := range list {
		items[i] = toAlertDTO(a)
	}
	return &struct{ Body Page[Alert] }{Body: newPage(items, total, in.PageQuery)}, nil
}

func (s *Server) getAlert(ctx context.Context, in *alertIDInput) (*struct{ Body AlertDetail }, error) {
	d, err := s.alerts.GetAlert(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	out := AlertDetail{Alert: toAlertDTO(d.Alert), History: make([]AlertEvent, len(d.Events)), Deliveries: make([]AlertDelivery, len(d.Deliveries))}
	for i, e := range d.Events {
		out.History[i] = AlertEvent{Time: e.Time, Kind: e.Kind, Actor: e.Actor, Message: e.Message}
	}
	for i, x := range d.Deliveries {
		out.Deliveries[i] = toAlertDeliveryDTO(x)
	}
	return &struct{ Body AlertDetail }{Body: out}, nil
}

func (s *Server) ackAlert(ctx context.Context, in *alertIDInput) (*struct{ Body Alert }, error) {
	infoFrom(ctx).setTarget("alert", in.ID)
	a, err := s.alerts.Acknowledge(ctx, in.ID, principalFrom(ctx).Username)
	if err != nil {
		return nil, err
	}
	return &struct{ Body Alert }{Body: toAlertDTO(a)}, nil
}

func (s *Server) silenceAlert(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Minutes int `json:"minutes" minimum:"0" maximum:"43200" doc:"Silence for this many minutes (0 lifts the silence)"`
	}
}) (*struct{ Body Alert }, error) {
	infoFrom(ctx).setTarget("alert", in.ID)
	a, err := s.alerts.Silence(ctx, in.ID, principalFrom(ctx).Username, time.Duration(in.Body.Minutes)*time.Minute)
	if err != nil {
		return nil, alertsError(err)
	}
	return &struct{ Body Alert }{Body: toAlertDTO(a)}, nil
}
