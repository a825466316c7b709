package secretref

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/secrets"
	"github.com/dataaggregator/aggregator/internal/store"
)

// SettingsKey is the key the settings are stored under.
const SettingsKey = "secret_managers"

// DefaultCacheTTL applies until an administrator saves another.
const DefaultCacheTTL = 5 * time.Minute

// recheck is how long a Service uses the settings it read before it reads them again, so that a
// change saved through another server reaches this one.
const recheck = 5 * time.Second

// Store is what a Service needs from the metadata store (*store.Store).
type Store interface {
	GetSetting(ctx context.Context, key string) (store.Setting, error)
	PutSetting(ctx context.Context, key string, value json.RawMessage, by string) (store.Setting, error)
}

var _ Store = (*store.Store)(nil)

// ServiceOptions configure NewService. Store and Keys are required.
type ServiceOptions struct {
	Store Store
	Keys  *secrets.Keyring
	// HTTPClient calls Vault (the server's guarded outbound client).
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Service keeps the settings and resolves references with them. Safe for concurrent use.
type Service struct {
	o   ServiceOptions
	log *slog.Logger

	mu      sync.Mutex
	res     *Resolver
	raw     string // the stored document res was built from
	checked time.Time
}

// NewService builds a Service.
func NewService(o ServiceOptions) (*Service, error) {
	if o.Store == nil || o.Keys == nil {
		return nil, errors.New("secretref: Store and Keys are required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o, log: log}, nil
}

// Stored are the settings in force with who saved them last (UpdatedAt zero: never saved).
type Stored struct {
	Settings  Settings
	UpdatedBy string
	UpdatedAt time.Time
}

// Redacted returns s with the providers' own secrets shown as configspec.Redacted when set.
func (s Settings) Redacted() Settings {
	if s.Vault.Token != "" {
		s.Vault.Token = configspec.Redacted
	}
	if s.Vault.SecretID != "" {
		s.Vault.SecretID = configspec.Redacted
	}
	if s.AWS.SecretAccessKey != "" {
		s.AWS.SecretAccessKey = configspec.Redacted
	}
	if s.AWS.SessionToken != "" {
		s.AWS.SessionToken = configspec.Redacted
	}
	if s.GCP.CredentialsJSON != "" {
		s.GCP.CredentialsJSON = configspec.Redacted
	}
	if s.Azure.ClientSecret != "" {
		s.Azure.ClientSecret = configspec.Redacted
	}
	return s
}

// secretFields are the providers' own secrets: read and written together when sealing.
func (s *Settings) secretFields() []*string {
	return []*string{&s.Vault.Token, &s.Vault.SecretID, &s.AWS.SecretAccessKey, &s.AWS.SessionToken, &s.GCP.CredentialsJSON, &s.Azure.ClientSecret}
}

// document is the stored form: the providers' secrets sealed.
type document struct {
	Vault        VaultSettings `json:"vault"`
	AWS          AWSSettings   `json:"aws"`
	GCP          GCPSettings   `json:"gcp"`
	Azure        AzureSettings `json:"azure"`
	FileRoots    []string      `json:"file_roots"`
	CacheTTL     string        `json:"cache_ttl"`
	SecretsKeyID string        `json:"secrets_key_id,omitempty"`
	Secrets      string        `json:"secrets,omitempty"`
}

type sealed struct {
	Token              string `json:"token,omitempty"`
	SecretID           string `json:"secret_id,omitempty"`
	AWSSecretAccessKey string `json:"aws_secret_access_key,omitempty"`
	AWSSessionToken    string `json:"aws_session_token,omitempty"`
	GCPCredentialsJSON string `json:"gcp_credentials_json,omitempty"`
	AzureClientSecret  string `json:"azure_client_secret,omitempty"`
}

func (sc *sealed) fields() []*string {
	return []*string{&sc.Token, &sc.SecretID, &sc.AWSSecretAccessKey, &sc.AWSSessionToken, &sc.GCPCredentialsJSON, &sc.AzureClientSecret}
}

var aad = []byte("settings:" + SettingsKey)

func defaults() Settings { return Settings{CacheTTL: DefaultCacheTTL} }

func (s *Service) decode(raw json.RawMessage) (Settings, error) {
	var d document
	if err := json.Unmarshal(raw, &d); err != nil {
		return defaults(), fmt.Errorf("secret manager settings: %w", err)
	}
	set := Settings{Vault: d.Vault, AWS: d.AWS, GCP: d.GCP, Azure: d.Azure, FileRoots: d.FileRoots}
	for _, f := range set.secretFields() {
		*f = ""
	}
	if d.CacheTTL != "" {
		ttl, err := time.ParseDuration(d.CacheTTL)
		if err != nil {
			return defaults(), fmt.Errorf("secret manager settings: cache_ttl: %w", err)
		}
		set.CacheTTL = ttl
	}
	if d.Secrets != "" {
		plain, err := s.o.Keys.Open(d.SecretsKeyID, d.Secrets, aad)
		if err != nil {
			return set, fmt.Errorf("secret manager settings: the providers' credentials: %w", err)
		}
		var sc sealed
		if err := json.Unmarshal(plain, &sc); err != nil {
			return set, fmt.Errorf("secret manager settings: the providers' credentials: %w", secrets.ErrCorrupt)
		}
		dst, src := set.secretFields(), sc.fields()
		for i := range dst {
			*dst[i] = *src[i]
		}
	}
	return set, nil
}

// Settings returns the settings in force, with the providers' secrets (callers that show them
// use Settings.Redacted).
func (s *Service) Settings(ctx context.Context) (Stored, error) {
	st, err := s.o.Store.GetSetting(ctx, SettingsKey)
	if errors.Is(err, store.ErrNotFound) {
		return Stored{Settings: defaults()}, nil
	}
	if err != nil {
		return Stored{}, fmt.Errorf("secret manager settings: %w", err)
	}
	set, err := s.decode(st.Value)
	if err != nil {
		return Stored{}, err
	}
	return Stored{Settings: set, UpdatedBy: st.UpdatedBy, UpdatedAt: st.UpdatedAt}, nil
}

// Merge fills the providers' secrets that set leaves empty or sends as configspec.Redacted with
// the stored ones (a client sends back what it read).
func (s *Service) Merge(ctx context.Context, set Settings) (Settings, error) {
	cur, err := s.Settings(ctx)
	if err != nil {
		return set, err
	}
	dst, old := set.secretFields(), cur.Settings.secretFields()
	for i := range dst {
		if *dst[i] == "" || *dst[i] == configspec.Redacted {
			*dst[i] = *old[i]
		}
	}
	// A provider switched off or to an auth method without secrets keeps none.
	if set.Vault.Address == "" {
		set.Vault = VaultSettings{}
	}
	if set.AWS.Region == "" {
		set.AWS = AWSSettings{}
	} else if set.AWS.Auth != AuthStatic {
		set.AWS.AccessKeyID, set.AWS.SecretAccessKey, set.AWS.SessionToken = "", "", ""
	}
	if set.GCP.Auth != AuthServiceAccount {
		set.GCP.CredentialsJSON = ""
	}
	if set.Azure.Auth == "" {
		set.Azure = AzureSettings{}
	} else if set.Azure.Auth != AuthClientSecret {
		set.Azure.TenantID, set.Azure.ClientID, set.Azure.ClientSecret = "", "", ""
	}
	return set, nil
}

// Save merges (see Merge), validates (a *SettingsError) and stores the settings.
func (s *Service) Save(ctx context.Context, set Settings, by string) (Stored, error) {
	set, err := s.Merge(ctx, set)
	if err != nil {
		return Stored{}, err
	}
	if err := set.Validate(); err != nil {
		return Stored{}, err
	}
	d := document{Vault: set.Vault, AWS: set.AWS, GCP: set.GCP, Azure: set.Azure, FileRoots: set.FileRoots, CacheTTL: set.CacheTTL.String()}
	clearSecrets := Settings{Vault: d.Vault, AWS: d.AWS, GCP: d.GCP, Azure: d.Azure}
	for _, f := range clearSecrets.secretFields() {
		*f = ""
	}
	d.Vault, d.AWS, d.GCP, d.Azure = clearSecrets.Vault, clearSecrets.AWS, clearSecrets.GCP, clearSecrets.Azure
	if d.FileRoots == nil {
		d.FileRoots = []string{}
	}
	var sc sealed
	hasSecrets := false
	for i, f := range set.secretFields() {
		*sc.fields()[i] = *f
		hasSecrets = hasSecrets || *f != ""
	}
	if hasSecrets {
		b, err := json.Marshal(sc)
		if err != nil {
			return Stored{}, err
		}
		if d.SecretsKeyID, d.Secrets, err = s.o.Keys.Seal(b, aad); err != nil {
			return Stored{}, err
		}
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return Stored{}, err
	}
	st, err := s.o.Store.PutSetting(ctx, SettingsKey, raw, by)
	if err != nil {
		return Stored{}, fmt.Errorf("save secret manager settings: %w", err)
	}
	s.mu.Lock()
	s.checked = time.Time{} // the next resolution reads them again
	s.mu.Unlock()
	return Stored{Settings: set, UpdatedBy: st.UpdatedBy, UpdatedAt: st.UpdatedAt}, nil
}

// resolver returns a resolver built from the settings in force, read again at most every few
// seconds.
func (s *Service) resolver(ctx context.Context) (*Resolver, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.res != nil && time.Since(s.checked) < recheck {
		return s.res, nil
	}
	st, err := s.o.Store.GetSetting(ctx, SettingsKey)
	raw := ""
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("secret manager settings: %w", err)
	default:
		raw = string(st.Value)
	}
	if s.res != nil && raw == s.raw {
		s.checked = time.Now()
		return s.res, nil
	}
	set := defaults()
	if raw != "" {
		if set, err = s.decode(st.Value); err != nil {
			return nil, err
		}
	}
	res, err := NewResolver(set, s.o.HTTPClient)
	if err != nil {
		return nil, fmt.Errorf("secret manager settings: %w", err)
	}
	s.res, s.raw, s.checked = res, raw, time.Now()
	return res, nil
}

// Resolve returns the value of a reference with the settings in force.
func (s *Service) Resolve(ctx context.Context, ref string) (string, error) {
	r, err := s.resolver(ctx)
	if err != nil {
		return "", err
	}
	return r.Resolve(ctx, ref)
}

// Test resolves ref with set (merged as by Save, not saved, nothing cached) and returns nil when
// it resolves; the value is not returned.
func (s *Service) Test(ctx context.Context, set Settings, ref string) error {
	set, err := s.Merge(ctx, set)
	if err != nil {
		return err
	}
	set.CacheTTL = 0
	r, err := NewResolver(set, s.o.HTTPClient)
	if err != nil {
		return err
	}
	_, err = r.Resolve(ctx, ref)
	return err
}

// Reseal seals the stored providers' credentials again under the keyring's current key when they
// are sealed under another one (`aggregator secrets rotate`), and reports whether it did.
func (s *Service) Reseal(ctx context.Context, by string) (bool, error) {
	st, err := s.o.Store.GetSetting(ctx, SettingsKey)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("secret manager settings: %w", err)
	}
	var d document
	if err := json.Unmarshal(st.Value, &d); err != nil {
		return false, fmt.Errorf("secret manager settings: %w", err)
	}
	if d.Secrets == "" || d.SecretsKeyID == s.o.Keys.CurrentID() {
		return false, nil
	}
	plain, err := s.o.Keys.Open(d.SecretsKeyID, d.Secrets, aad)
	if err != nil {
		return false, fmt.Errorf("secret manager settings: the providers' credentials: %w", err)
	}
	if d.SecretsKeyID, d.Secrets, err = s.o.Keys.Seal(plain, aad); err != nil {
		return false, err
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return false, err
	}
	if _, err := s.o.Store.PutSetting(ctx, SettingsKey, raw, by); err != nil {
		return false, fmt.Errorf("save secret manager settings: %w", err)
	}
	return true, nil
}
