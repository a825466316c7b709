package alerts

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dataaggregator/aggregator/internal/secrets"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Store is what the service needs of the metadata store (*store.Store).
type Store interface {
	CreateAlertChannel(ctx context.Context, c store.AlertChannel) (store.AlertChannel, error)
	GetAlertChannel(ctx context.Context, id string) (store.AlertChannel, error)
	ListAlertChannels(ctx context.Context) ([]store.AlertChannel, error)
	UpdateAlertChannel(ctx context.Context, c store.AlertChannel) (store.AlertChannel, error)
	DeleteAlertChannel(ctx context.Context, id string) error

	CreateAlertRule(ctx context.Context, r store.AlertRule) (store.AlertRule, error)
	GetAlertRule(ctx context.Context, id string) (store.AlertRule, error)
	ListAlertRules(ctx context.Context, enabledOnly bool, types ...string) ([]store.AlertRule, error)
	UpdateAlertRule(ctx context.Context, r store.AlertRule) (store.AlertRule, error)
	SetAlertRuleProblem(ctx context.Context, id, problem string) error
	DeleteAlertRule(ctx context.Context, id string) error

	FireAlert(ctx context.Context, a store.Alert) (store.Alert, bool, error)
	ResolveFiringAlert(ctx context.Context, ruleID, subject, message string) (store.Alert, bool, error)
	FiringAlerts(ctx context.Context, ruleID string) ([]store.Alert, error)
	PreviousAlert(ctx context.Context, ruleID, subject, exceptID string) (store.Alert, error)
	LastNotifiedFiring(ctx context.Context, ruleID, subject, exceptID string) (*time.Time, error)
	MarkAlertNotified(ctx context.Context, id string) error
	GetAlert(ctx context.Context, id string) (store.Alert, error)
	ListAlerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, int, error)
	AcknowledgeAlert(ctx context.Context, id, actor string) (store.Alert, error)
	SilenceAlert(ctx context.Context, id, actor string, until *time.Time) (store.Alert, error)
	AddAlertEvent(ctx context.Context, alertID, kind, actor, msg string) error
	ListAlertEvents(ctx context.Context, alertID string) ([]store.AlertEvent, error)

	CreateAlertDelivery(ctx context.Context, d store.AlertDelivery) (store.AlertDelivery, error)
	GetAlertDelivery(ctx context.Context, id string) (store.AlertDelivery, error)
	RecordDeliveryAttempt(ctx context.Context, id, status, errText string) (store.AlertDelivery, error)
	RecordDeliveryFailure(ctx context.Context, id, errText, alertID, msg string) (store.AlertDelivery, error)
	ListAlertDeliveries(ctx context.Context, alertID string) ([]store.AlertDelivery, error)

	GetPipeline(ctx context.Context, id string) (store.Pipeline, error)
	ListPipelines(ctx context.Context, f store.PipelineFilter) ([]store.Pipeline, int, error)
	GetRun(ctx context.Context, id string) (store.Run, error)
	ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, int, error)
	ListWorkers(ctx context.Context, since time.Time) ([]store.Worker, error)
	QueueFigures(ctx context.Context) (store.QueueFigures, error)
}

// Enqueuer queues the job that sends a delivery (River: DeliveryArgs on QueueAlerts).
type Enqueuer interface {
	EnqueueDelivery(ctx context.Context, deliveryID string) error
}

// Options configure New.
type Options struct {
	Store Store
	// Keys seals channel secrets (the keyring of saved connectors). Required.
	Keys *secrets.Keyring
	// HTTPClient posts webhooks and Slack messages: the outbound guard's client. Required.
	HTTPClient *http.Client
	// Dial connects to SMTP servers: the outbound guard's dialer. Required.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// SMTPTLS is the base TLS configuration for SMTP (nil: the system's roots).
	SMTPTLS *tls.Config
	// PublicURL, when set, makes notifications link to the alert in the web app.
	PublicURL string
	// SendTimeout bounds one delivery attempt (default 15s).
	SendTimeout time.Duration
	// WorkerLease is how old a worker's heartbeat must be for worker_down (default 1m).
	WorkerLease time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

// Service holds the alert rules and channels and raises and notifies alerts.
type Service struct {
	st    Store
	keys  *secrets.Keyring
	send  *sender
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	mu    sync.RWMutex
	queue Enqueuer
}

// New builds the service; SetQueue gives it its delivery queue.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Keys == nil || o.HTTPClient == nil || o.Dial == nil {
		return nil, errors.New("alerts: Store, Keys, HTTPClient and Dial are required")
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 15 * time.Second
	}
	if o.WorkerLease <= 0 {
		o.WorkerLease = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{st: o.Store, keys: o.Keys, opts: o, log: o.Logger.With("component", "alerts"), now: o.Now,
		send: &sender{http: o.HTTPClient, dial: o.Dial, rootCAs: &tlsRoots{cfg: o.SMTPTLS}, timeout: o.SendTimeout}}
	return s, nil
}

// SetQueue sets the queue deliveries are sent through.
func (s *Service) SetQueue(q Enqueuer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = q
}

func (s *Service) enqueuer() Enqueuer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.queue
}

// Channel is a channel as the API shows it: its settings with secrets Redacted.
type Channel struct {
	ID        string
	Name      string
	Type      string
	Config    Settings
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ChannelInput creates or changes a channel.
type ChannelInput struct {
	Name   string
	Type   string
	Config json.RawMessage
}

func aad(id string) []byte { return []byte("alert_channel:" + id) }

func (s *Service) toChannel(c store.AlertChannel) Channel {
	var pub Settings
	_ = json.Unmarshal(c.Config, &pub)
	if c.Secrets != "" {
		// Shown as set; the value is never opened for display.
		for _, f := range SecretFields(c.Type) {
			switch f {
			case "secret":
				pub.Secret = Redacted
			case "password":
				pub.Password = Redacted
			case "url":
				pub.URL = Redacted
			}
		}
	}
	return Channel{ID: c.ID, Name: c.Name, Type: c.Type, Config: pub, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// settings opens a stored channel's settings, secrets included.
func (s *Service) settings(c store.AlertChannel) (Settings, error) {
	var pub, sec Settings
	if err := json.Unmarshal(c.Config, &pub); err != nil {
		return Settings{}, fmt.Errorf("channel %s: config: %w", c.Name, err)
	}
	if c.Secrets != "" {
		plain, err := s.keys.Open(c.SecretsKeyID, c.Secrets, aad(c.ID))
		if err != nil {
			return Settings{}, fmt.Errorf("channel %s: open its secrets: %w", c.Name, err)
		}
		if err := json.Unmarshal(plain, &sec); err != nil {
			return Settings{}, fmt.Errorf("channel %s: secrets: %w", c.Name, err)
		}
	}
	return pub.merge(c.Type, sec), nil
}

func (s *Service) seal(id, typ string, set Settings) (cfg json.RawMessage, sealed, keyID string, err error) {
	pub, sec := set.split(typ)
	if cfg, err = json.Marshal(pub); err != nil {
		return nil, "", "", err
	}
	plain, err := json.Marshal(sec)
	if err != nil {
		return nil, "", "", err
	}
	keyID, sealed, err = s.keys.Seal(plain, aad(id))
	return cfg, sealed, keyID, err
}

// CreateChannel validates and saves a channel; its secrets are sealed.
func (s *Service) CreateChannel(ctx context.Context, in ChannelInput, actor string) (Channel, error) {
	var ps problems
	if strings.TrimSpace(in.Name) == "" {
		ps.add("name", "required")
	}
	set, err := parseSettings(in.Type, in.Config, nil)
	var ie *InvalidError
	if errors.As(err, &ie) {
		ps = append(ps, ie.Problems...)
	}
	if err := ps.err(); err != nil {
		return Channel{}, err
	}
	id, err := store.NewAlertID()
	if err != nil {
		return Channel{}, err
	}
	cfg, sealed, keyID, err := s.seal(id, in.Type, set)
	if err != nil {
		return Channel{}, fmt.Errorf("seal channel secrets: %w", err)
	}
	c, err := s.st.CreateAlertChannel(ctx, store.AlertChannel{ID: id, Name: in.Name, Type: in.Type, Config: cfg,
		Secrets: sealed, SecretsKeyID: keyID, CreatedBy: actor})
	if err != nil {
		return Channel{}, err
	}
	return s.toChannel(c), nil
}

// UpdateChannel replaces a channel's name and settings; secrets given as Redacted or left out keep
// their stored value. The type cannot change.
func (s *Service) UpdateChannel(ctx context.Context, id string, in ChannelInput) (Channel, error) {
	cur, err := s.st.GetAlertChannel(ctx, id)
	if err != nil {
		return Channel{}, err
	}
	var ps problems
	if strings.TrimSpace(in.Name) == "" {
		ps.add("name", "required")
	}
	if in.Type != "" && in.Type != cur.Type {
		ps.add("type", "cannot change (%s): create a new channel", cur.Type)
	}
	prev, err := s.settings(cur)
	if err != nil {
		return Channel{}, err
	}
	set, err := parseSettings(cur.Type, in.Config, &prev)
	var ie *InvalidError
	if errors.As(err, &ie) {
		ps = append(ps, ie.Problems...)
	}
	if err := ps.err(); err != nil {
		return Channel{}, err
	}
	cfg, sealed, keyID, err := s.seal(id, cur.Type, set)
	if err != nil {
		return Channel{}, fmt.Errorf("seal channel secrets: %w", err)
	}
	cur.Name, cur.Config, cur.Secrets, cur.SecretsKeyID = in.Name, cfg, sealed, keyID
	c, err := s.st.UpdateAlertChannel(ctx, cur)
	if err != nil {
		return Channel{}, err
	}
	return s.toChannel(c), nil
}

// GetChannel returns a channel (secrets Redacted).
func (s *Service) GetChannel(ctx context.Context, id string) (Channel, error) {
	c, err := s.st.GetAlertChannel(ctx, id)
	if err != nil {
		return Channel{}, err
	}
	return s.toChannel(c), nil
}

// ListChannels lists every channel (secrets Redacted).
func (s *Service) ListChannels(ctx context.Context) ([]Channel, error) {
	cs, err := s.st.ListAlertChannels(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Channel, len(cs))
	for i, c := range cs {
		out[i] = s.toChannel(c)
	}
	return out, nil
}

// DeleteChannel removes a channel.
func (s *Service) DeleteChannel(ctx context.Context, id string) error {
	return s.st.DeleteAlertChannel(ctx, id)
}

// TestChannel sends a test notification to a channel now, once (no retries), and returns the
// recorded delivery: sent, or failed with the reason.
func (s *Service) TestChannel(ctx context.Context, id string) (store.AlertDelivery, error) {
	c, err := s.st.GetAlertChannel(ctx, id)
	if err != nil {
		return store.AlertDelivery{}, err
	}
	did, err := store.NewAlertID()
	if err != nil {
		return store.AlertDelivery{}, err
	}
	d, err := s.st.CreateAlertDelivery(ctx, store.AlertDelivery{ID: did, ChannelID: c.ID, ChannelName: c.Name, Event: "test"})
	if err != nil {
		return store.AlertDelivery{}, err
	}
	status, errText := store.DeliverySent, ""
	if err := s.sendTo(ctx, c, d, nil); err != nil {
		status, errText = store.DeliveryFailed, err.Error()
	}
	return s.st.RecordDeliveryAttempt(context.WithoutCancel(ctx), d.ID, status, errText)
}

// Rule is a rule with its condition decoded.
type Rule struct {
	store.AlertRule
	Cond Condition
}

// RuleInput creates or changes a rule.
type RuleInput struct {
	Name            string
	Condition       json.RawMessage
	Channels        []string
	ThrottleMinutes int
	Enabled         bool
}

// MaxThrottleMinutes bounds throttle_minutes (a week).
const MaxThrottleMinutes = 7 * 24 * 60

func (s *Service) checkRule(ctx context.Context, in RuleInput) (Condition, error) {
	var ps problems
	if strings.TrimSpace(in.Name) == "" {
		ps.add("name", "required")
	}
	cond, err := ParseCondition(in.Condition)
	var ie *InvalidError
	if errors.As(err, &ie) {
		ps = append(ps, ie.Problems...)
	}
	if err == nil && cond.PipelineID != "" {
		if _, err := s.st.GetPipeline(ctx, cond.PipelineID); errors.Is(err, store.ErrNotFound) {
			ps.add("condition.pipeline_id", "no pipeline with id %q", cond.PipelineID)
		} else if err != nil {
			return Condition{}, err
		}
	}
	if in.ThrottleMinutes < 0 || in.ThrottleMinutes > MaxThrottleMinutes {
		ps.add("throttle_minutes", "must be between 0 and %d (a week)", MaxThrottleMinutes)
	}
	seen := map[string]bool{}
	for i, ch := range in.Channels {
		if seen[ch] {
			ps.add(fmt.Sprintf("channels[%d]", i), "channel %q is listed twice", ch)
			continue
		}
		seen[ch] = true
		if _, err := s.st.GetAlertChannel(ctx, ch); errors.Is(err, store.ErrNotFound) {
			ps.add(fmt.Sprintf("channels[%d]", i), "no channel with id %q", ch)
		} else if err != nil {
			return Condition{}, err
		}
	}
	return cond, ps.err()
}

// CreateRule validates and saves a rule: its pipeline and channels must exist.
func (s *Service) CreateRule(ctx context.Context, in RuleInput, actor string) (Rule, error) {
	cond, err := s.checkRule(ctx, in)
	if err != nil {
		return Rule{}, err
	}
	raw, _ := json.Marshal(cond)
	r, err := s.st.CreateAlertRule(ctx, store.AlertRule{Name: in.Name, ConditionType: cond.Type, PipelineID: cond.PipelineID,
		Condition: raw, Channels: in.Channels, ThrottleMinutes: in.ThrottleMinutes, Enabled: in.Enabled, CreatedBy: actor})
	if err != nil {
		return Rule{}, err
	}
	return Rule{AlertRule: r, Cond: cond}, nil
}

// UpdateRule replaces a rule. Alerts it raised stay as they are.
func (s *Service) UpdateRule(ctx context.Context, id string, in RuleInput) (Rule, error) {
	cur, err := s.st.GetAlertRule(ctx, id)
	if err != nil {
		return Rule{}, err
	}
	cond, err := s.checkRule(ctx, in)
	if err != nil {
		return Rule{}, err
	}
	raw, _ := json.Marshal(cond)
	cur.Name, cur.ConditionType, cur.PipelineID, cur.Condition = in.Name, cond.Type, cond.PipelineID, raw
	cur.Channels, cur.ThrottleMinutes, cur.Enabled = in.Channels, in.ThrottleMinutes, in.Enabled
	r, err := s.st.UpdateAlertRule(ctx, cur)
	if err != nil {
		return Rule{}, err
	}
	return Rule{AlertRule: r, Cond: cond}, nil
}

func toRule(r store.AlertRule) Rule {
	var c Condition
	_ = json.Unmarshal(r.Condition, &c)
	return Rule{AlertRule: r, Cond: c}
}

// GetRule returns a rule.
func (s *Service) GetRule(ctx context.Context, id string) (Rule, error) {
	r, err := s.st.GetAlertRule(ctx, id)
	if err != nil {
		return Rule{}, err
	}
	return toRule(r), nil
}

// ListRules lists every rule.
func (s *Service) ListRules(ctx context.Context) ([]Rule, error) {
	rs, err := s.st.ListAlertRules(ctx, false)
	if err != nil {
		return nil, err
	}
	out := make([]Rule, len(rs))
	for i, r := range rs {
		out[i] = toRule(r)
	}
	return out, nil
}

// DeleteRule removes a rule; its alerts stay in the history.
func (s *Service) DeleteRule(ctx context.Context, id string) error {
	return s.st.DeleteAlertRule(ctx, id)
}

// ListAlerts lists alerts, newest first.
func (s *Service) ListAlerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, int, error) {
	return s.st.ListAlerts(ctx, f)
}

// Detail is an alert with its history and deliveries.
type Detail struct {
	Alert      store.Alert
	Events     []store.AlertEvent
	Deliveries []store.AlertDelivery
}

// GetAlert returns an alert with its history and its deliveries.
func (s *Service) GetAlert(ctx context.Context, id string) (Detail, error) {
	a, err := s.st.GetAlert(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	// Deliveries before the history: a delivery's final failure and its history entry are
	// committed together, so a delivery read as failed has its entry in the history read after it
	// (read the other way round, the entry could commit between the two reads).
	ds, err := s.st.ListAlertDeliveries(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	ev, err := s.st.ListAlertEvents(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	return Detail{Alert: a, Events: ev, Deliveries: ds}, nil
}

// Acknowledge records that actor acknowledged a firing alert (store.ErrConflict when it is
// resolved or acknowledged already). Acknowledging does not stop notifications; silencing does.
func (s *Service) Acknowledge(ctx context.Context, id, actor string) (store.Alert, error) {
	return s.st.AcknowledgeAlert(ctx, id, actor)
}

// MaxSilence bounds a silence (30 days).
const MaxSilence = 30 * 24 * time.Hour

// Silence silences a firing alert for d (0 lifts the silence): no notification of it, nor of the
// next alerts of its rule and subject, until then.
func (s *Service) Silence(ctx context.Context, id, actor string, d time.Duration) (store.Alert, error) {
	if d < 0 || d > MaxSilence {
		return store.Alert{}, &InvalidError{Problems: []Problem{{Path: "minutes", Message: "must be between 0 (lift the silence) and 43200 (30 days)"}}}
	}
	var until *time.Time
	if d > 0 {
		t := s.now().UTC().Add(d).Truncate(time.Second)
		until = &t
	}
	return s.st.SilenceAlert(ctx, id, actor, until)
}
