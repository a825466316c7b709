package connections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/secrets"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Store is what the service needs from the metadata store (*store.Store).
type Store interface {
	CreateConnector(ctx context.Context, c store.Connector) (store.Connector, error)
	GetConnector(ctx context.Context, id string) (store.Connector, error)
	GetConnectorByName(ctx context.Context, name string) (store.Connector, error)
	ListConnectors(ctx context.Context, f store.ConnectorFilter) ([]store.Connector, int, error)
	UpdateConnector(ctx context.Context, c store.Connector) (store.Connector, error)
	DeleteConnector(ctx context.Context, id, actor string) error
	ConnectorKeyIDs(ctx context.Context) (map[string]int, error)
	ConnectorsAfter(ctx context.Context, afterID string, limit int) ([]store.Connector, error)
	ResealConnector(ctx context.Context, prev store.Connector, config json.RawMessage, secrets, keyID string) error
}

var _ Store = (*store.Store)(nil)

// Registry gives a connector type by name (*connector.Registry).
type Registry interface {
	Get(name string) (connector.Connector, error)
}

// Options configure New. Store, Connectors and Keys are required.
type Options struct {
	Store      Store
	Connectors Registry
	Keys       *secrets.Keyring
	// Env is given to connectors for Check and Discover.
	Env connector.Env
	// Refs resolves secret references (file://, vault://) held by secret fields when a connector
	// is opened; nil: a reference fails with secretref.ErrNotConfigured.
	Refs   RefResolver
	Logger *slog.Logger
}

// RefResolver resolves a secret reference to its value (*secretref.Service).
type RefResolver interface {
	Resolve(ctx context.Context, ref string) (string, error)
}

// Service manages saved connectors. Safe for concurrent use.
type Service struct {
	st    Store
	conns Registry
	keys  *secrets.Keyring
	env   connector.Env
	refs  RefResolver
	log   *slog.Logger
	flows oauthFlows // started "Connect with ..." flows (oauth.go)
	// keepRefs: Resolve leaves secret references as written (KeepingReferences).
	keepRefs bool
}

// New builds the service.
func New(o Options) (*Service, error) {
	var problems []string
	if o.Store == nil {
		problems = append(problems, "Store is required")
	}
	if o.Connectors == nil {
		problems = append(problems, "Connectors is required")
	}
	if o.Keys == nil {
		problems = append(problems, "Keys is required")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("connections: %s", strings.Join(problems, "; "))
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: o.Store, conns: o.Connectors, keys: o.Keys, env: o.Env, refs: o.Refs, log: log}, nil
}

// Errors callers branch on.
var (
	// ErrUnknownKey: a connector's secrets were sealed under a key the keyring does not hold.
	ErrUnknownKey = secrets.ErrUnknownKey
	// ErrTypeUnavailable: a saved connector's type is not registered in this process.
	ErrTypeUnavailable = errors.New("connector type is not available")
	// ErrCannotDiscover: the connector type cannot list its streams.
	ErrCannotDiscover = errors.New("connector type cannot list its streams")
)

// InputError is a problem with the input of Create or Update. Field is "type" or "config"; Errs
// holds the config's problems, each with its path inside the config.
type InputError struct {
	Field   string
	Message string
	Errs    configspec.Errors
}

func (e *InputError) Error() string {
	if len(e.Errs) > 0 {
		return e.Field + ": " + e.Errs.Error()
	}
	return e.Field + ": " + e.Message
}

// Connector is a saved connector as callers see it: its config carries configspec.Redacted in
// place of every secret that is set (and is nil in List results).
type Connector struct {
	ID          string
	Name        string
	Type        string
	Description string
	Config      map[string]any
	CreatedBy   string
	UpdatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Input is what Create and Update take.
type Input struct {
	Name        string
	Type        string
	Description string
	Config      map[string]any
}

// aad binds a sealed value to its connector.
func aad(id string) []byte { return []byte("connector:" + id) }

// typeOf returns the connector type of a saved connector.
func (s *Service) typeOf(typ string) (connector.Connector, error) {
	c, err := s.conns.Get(typ)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrTypeUnavailable, typ)
	}
	return c, nil
}

// view is c as callers see it.
func (s *Service) view(c store.Connector, withConfig bool) Connector {
	v := Connector{ID: c.ID, Name: c.Name, Type: c.Type, Description: c.Description, CreatedBy: c.CreatedBy,
		UpdatedBy: c.UpdatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if !withConfig {
		return v
	}
	cfg := map[string]any{}
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		return v // an unreadable config shows nothing rather than something wrong
	}
	conn, err := s.conns.Get(c.Type)
	if err != nil {
		v.Config = map[string]any{} // unknown type: which fields are secret is unknown
		return v
	}
	v.Config = showRefs(conn.Spec().Config.Params, conn.Spec().Config.Redact(cfg), cfg)
	return v
}

// seal splits full (a validated config) and seals its secrets for connector id.
func (s *Service) seal(spec configspec.Spec, id string, full map[string]any) (store.Connector, error) {
	plain, secret := split(spec.Params, full)
	raw, err := json.Marshal(plain)
	if err != nil {
		return store.Connector{}, &InputError{Field: "config", Message: err.Error()}
	}
	out := store.Connector{ID: id, Config: raw}
	if secret == nil {
		return out, nil
	}
	b, err := json.Marshal(secret)
	if err != nil {
		return store.Connector{}, &InputError{Field: "config", Message: err.Error()}
	}
	out.SecretsKeyID, out.Secrets, err = s.keys.Seal(b, aad(id))
	if err != nil {
		return store.Connector{}, err
	}
	return out, nil
}

// open returns the full config of a stored connector: its config with the sealed secrets put
// back.
func (s *Service) open(c store.Connector) (map[string]any, error) {
	cfg := map[string]any{}
	if len(c.Config) > 0 {
		if err := json.Unmarshal(c.Config, &cfg); err != nil {
			return nil, fmt.Errorf("saved connector %q: config: %w", c.Name, err)
		}
	}
	if c.Secrets == "" {
		return cfg, nil
	}
	plain, err := s.keys.Open(c.SecretsKeyID, c.Secrets, aad(c.ID))
	if err != nil {
		if errors.Is(err, secrets.ErrUnknownKey) {
			return nil, fmt.Errorf("saved connector %q: its secrets were sealed under key id %s, which this server does not hold (set ENCRYPTION_KEY, or ENCRYPTION_KEY_PREVIOUS during a rotation): %w",
				c.Name, c.SecretsKeyID, ErrUnknownKey)
		}
		return nil, fmt.Errorf("saved connector %q: secrets: %w", c.Name, err)
	}
	secret := map[string]any{}
	if err := json.Unmarshal(plain, &secret); err != nil {
		return nil, fmt.Errorf("saved connector %q: secrets: %w", c.Name, secrets.ErrCorrupt)
	}
	return join(cfg, secret), nil
}

// validate checks cfg against the type's spec.
func (s *Service) validate(typ string, cfg map[string]any) (connector.Connector, error) {
	conn, err := s.conns.Get(typ)
	if err != nil {
		return nil, &InputError{Field: "type", Message: err.Error()}
	}
	errs := conn.Spec().Config.Validate(cfg)
	errs = append(errs, badRefs(conn.Spec().Config.Params, cfg, "")...)
	if len(errs) > 0 {
		return nil, &InputError{Field: "config", Errs: errs}
	}
	return conn, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// Create validates and saves a new connector; actor names who saves it.
func (s *Service) Create(ctx context.Context, in Input, actor string) (Connector, error) {
	cfg := orEmpty(in.Config)
	conn, err := s.validate(in.Type, cfg)
	if err != nil {
		return Connector{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Connector{}, fmt.Errorf("create connector: %w", err)
	}
	rec, err := s.seal(conn.Spec().Config, id.String(), cfg)
	if err != nil {
		return Connector{}, err
	}
	rec.Name, rec.Type, rec.Description, rec.CreatedBy = in.Name, in.Type, in.Description, actor
	c, err := s.st.CreateConnector(ctx, rec)
	if err != nil {
		return Connector{}, err
	}
	return s.view(c, true), nil
}

// Get returns a saved connector with its config, secrets redacted.
func (s *Service) Get(ctx context.Context, id string) (Connector, error) {
	c, err := s.st.GetConnector(ctx, id)
	if err != nil {
		return Connector{}, err
	}
	return s.view(c, true), nil
}

// List lists saved connectors without their configs.
func (s *Service) List(ctx context.Context, f store.ConnectorFilter) ([]Connector, int, error) {
	list, total, err := s.st.ListConnectors(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Connector, len(list))
	for i, c := range list {
		out[i] = s.view(c, false)
	}
	return out, total, nil
}

// Update replaces a connector's name, type, description and config. When the type stays the
// same, a secret left out of in.Config or sent as configspec.Redacted keeps its stored value.
func (s *Service) Update(ctx context.Context, id string, in Input, actor string) (Connector, error) {
	cur, err := s.st.GetConnector(ctx, id)
	if err != nil {
		return Connector{}, err
	}
	cfg := orEmpty(in.Config)
	if in.Type == cur.Type {
		if conn, err := s.conns.Get(in.Type); err == nil {
			stored, err := s.open(cur)
			if err != nil {
				return Connector{}, err
			}
			cfg = mergeSecrets(conn.Spec().Config.Params, cfg, stored)
		}
	}
	conn, err := s.validate(in.Type, cfg)
	if err != nil {
		return Connector{}, err
	}
	rec, err := s.seal(conn.Spec().Config, id, cfg)
	if err != nil {
		return Connector{}, err
	}
	rec.Name, rec.Type, rec.Description, rec.UpdatedBy = in.Name, in.Type, in.Description, actor
	c, err := s.st.UpdateConnector(ctx, rec)
	if err != nil {
		return Connector{}, err
	}
	return s.view(c, true), nil
}

// Delete removes a connector and purges its config and secrets.
func (s *Service) Delete(ctx context.Context, id, actor string) error {
	return s.st.DeleteConnector(ctx, id, actor)
}

// saved loads a connector with its type and full config.
func (s *Service) saved(ctx context.Context, c store.Connector) (connector.Connector, map[string]any, error) {
	conn, err := s.typeOf(c.Type)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := s.open(c)
	if err != nil {
		return nil, nil, err
	}
	if cfg, err = s.resolveRefs(ctx, c.Name, conn.Spec().Config.Params, cfg); err != nil {
		return nil, nil, err
	}
	return conn, cfg, nil
}

// CheckResult says whether a saved connector can connect.
type CheckResult struct {
	OK      bool
	Message string
}

// Check tests a saved connector's connection. A failed connection is a result, not an error;
// errors are for a missing connector, an unavailable type, unreadable secrets or a cancel.
// The message never shows a secret value.
func (s *Service) Check(ctx context.Context, id string) (CheckResult, error) {
	c, err := s.st.GetConnector(ctx, id)
	if err != nil {
		return CheckResult{}, err
	}
	conn, cfg, err := s.saved(ctx, c)
	if re := (*RefError)(nil); errors.As(err, &re) {
		return CheckResult{OK: false, Message: re.Error()}, nil
	}
	if err != nil {
		return CheckResult{}, err
	}
	ch, ok := conn.(connector.Checker)
	if !ok {
		return CheckResult{OK: true, Message: "connector type " + conn.Spec().Name + " has no connection to test; its config is valid"}, nil
	}
	if err := ch.Check(ctx, s.envFor(c.ID), cfg); err != nil {
		if errors.Is(err, context.Canceled) {
			return CheckResult{}, err
		}
		return CheckResult{OK: false, Message: scrub(err.Error(), conn.Spec().Config.Params, cfg)}, nil
	}
	return CheckResult{OK: true, Message: "connection works"}, nil
}

// DiscoverError is a failed Discover; its message never shows a secret value.
type DiscoverError struct{ Message string }

func (e *DiscoverError) Error() string { return "discover failed: " + e.Message }

// Discover lists the streams a saved connector can read.
func (s *Service) Discover(ctx context.Context, id string) (*connector.Catalog, error) {
	c, err := s.st.GetConnector(ctx, id)
	if err != nil {
		return nil, err
	}
	conn, cfg, err := s.saved(ctx, c)
	if err != nil {
		return nil, err
	}
	d, ok := conn.(connector.Discoverer)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrCannotDiscover, conn.Spec().Name)
	}
	cat, err := d.Discover(ctx, s.envFor(c.ID), cfg)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, &DiscoverError{Message: scrub(err.Error(), conn.Spec().Config.Params, cfg)}
	}
	return cat, nil
}

// Resolve returns the type and full config of the saved connector named name (case-insensitive),
// for a pipeline's `connector: <name>` reference.
func (s *Service) Resolve(ctx context.Context, name string) (typ string, config map[string]any, err error) {
	c, err := s.st.GetConnectorByName(ctx, name)
	if err != nil {
		return "", nil, err
	}
	cfg, err := s.open(c)
	if err != nil {
		return "", nil, err
	}
	if conn, err := s.conns.Get(c.Type); err == nil {
		if cfg, err = s.resolveRefs(ctx, c.Name, conn.Spec().Config.Params, cfg); err != nil {
			return "", nil, err
		}
	}
	return c.Type, cfg, nil
}

// scrub replaces every secret string value of cfg (3 characters or more) in msg.
func scrub(msg string, params []configspec.Param, cfg map[string]any) string {
	_, secret := split(params, cfg)
	var vals []string
	configspec.EachString(secret, func(s string) {
		if len(s) >= 3 {
			vals = append(vals, s)
		}
	})
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	for _, v := range vals {
		msg = strings.ReplaceAll(msg, v, configspec.Redacted)
	}
	return msg
}

// TestRequestInput is a configuration being edited: its type, its config and, when it edits a
// saved connector, the connector's id (secrets left as "********" take their stored values).
type TestRequestInput struct {
	ID     string
	Type   string
	Config map[string]any
	Limit  int
}

// TestRequestResult is what one request with the configuration returned, or why it failed
// (Message, never showing a secret).
type TestRequestResult struct {
	OK      bool
	Message string
	Sample  *connector.RequestSample
}

// ErrCannotTestRequest says that a connector type has no request tester.
var ErrCannotTestRequest = errors.New("this connector type has no request tester")

// TestRequest runs the first request of a read with a configuration being edited, through the
// server's outbound guard. A failed request is a result, not an error; errors are for a bad config
// (an *InputError), an unknown connector, a type without a tester, or a cancel.
func (s *Service) TestRequest(ctx context.Context, in TestRequestInput) (TestRequestResult, error) {
	cfg := orEmpty(in.Config)
	env := s.env
	if in.ID != "" {
		cur, err := s.st.GetConnector(ctx, in.ID)
		if err != nil {
			return TestRequestResult{}, err
		}
		if cur.Type == in.Type {
			stored, err := s.open(cur)
			if err != nil {
				return TestRequestResult{}, err
			}
			conn, err := s.typeOf(cur.Type)
			if err != nil {
				return TestRequestResult{}, err
			}
			cfg = mergeSecrets(conn.Spec().Config.Params, cfg, stored)
			env = s.envFor(cur.ID)
		}
	}
	conn, err := s.validate(in.Type, cfg)
	if err != nil {
		return TestRequestResult{}, err
	}
	rt, ok := conn.(connector.RequestTester)
	if !ok {
		return TestRequestResult{}, fmt.Errorf("%w: %s", ErrCannotTestRequest, in.Type)
	}
	name := in.ID
	if name == "" {
		name = "(unsaved)"
	}
	if cfg, err = s.resolveRefs(ctx, name, conn.Spec().Config.Params, cfg); err != nil {
		return TestRequestResult{Message: err.Error()}, nil
	}
	limit := in.Limit
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	sample, err := rt.TestRequest(ctx, env, cfg, limit)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return TestRequestResult{}, err
		}
		return TestRequestResult{Message: scrub(err.Error(), conn.Spec().Config.Params, cfg)}, nil
	}
	return TestRequestResult{OK: true, Message: fmt.Sprintf("HTTP %d: %d records on the first page", sample.Status, sample.Total), Sample: sample}, nil
}
