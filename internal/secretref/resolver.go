package secretref

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// Errors a resolution matches (errors.Is); each comes wrapped in an *Error naming the reference.
var (
	// ErrNotFound: the file or the Vault secret does not exist.
	ErrNotFound = errors.New("not found")
	// ErrKeyMissing: the Vault secret exists but holds no such key (or its value is not text).
	ErrKeyMissing = errors.New("key missing")
	// ErrUnreachable: the manager could not be reached or answered with a server error.
	ErrUnreachable = errors.New("secret manager unreachable")
	// ErrPermission: the manager refused the credentials, or the file may not be read.
	ErrPermission = errors.New("permission denied")
	// ErrNotConfigured: no provider is configured for the reference's scheme.
	ErrNotConfigured = errors.New("secret manager not configured")
	// ErrRefused: the reference is malformed, points outside the allowed file roots, or its value
	// is too large.
	ErrRefused = errors.New("reference refused")
)

// Error is a failed resolution. Its message names the reference and never a value.
type Error struct {
	Ref    string
	Err    error  // one of the sentinel errors above
	Detail string // what the manager said, without any value
}

func (e *Error) Error() string {
	msg := "secret reference " + e.Ref + ": " + e.Err.Error()
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

func fail(ref string, kind error, detail string) error {
	return &Error{Ref: ref, Err: kind, Detail: detail}
}

// Auth methods of Vault.
const (
	AuthToken      = "token"
	AuthAppRole    = "approle"
	AuthKubernetes = "kubernetes"
)

// DefaultKubernetesTokenPath is where a pod's service account token is mounted.
const DefaultKubernetesTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// VaultSettings configure the Vault provider; Address empty means none.
type VaultSettings struct {
	Address   string `json:"address"`
	Namespace string `json:"namespace,omitempty"`
	// Auth is AuthToken, AuthAppRole or AuthKubernetes.
	Auth string `json:"auth"`
	// AuthMount is the auth method's mount path (default: the method's name).
	AuthMount string `json:"auth_mount,omitempty"`
	// Token is the token of AuthToken.
	Token string `json:"token,omitempty"`
	// RoleID and SecretID log in with AuthAppRole.
	RoleID   string `json:"role_id,omitempty"`
	SecretID string `json:"secret_id,omitempty"`
	// KubernetesRole and KubernetesTokenPath log in with AuthKubernetes.
	KubernetesRole      string `json:"kubernetes_role,omitempty"`
	KubernetesTokenPath string `json:"kubernetes_token_path,omitempty"`
}

// Settings configure a Resolver.
type Settings struct {
	Vault VaultSettings
	AWS   AWSSettings
	GCP   GCPSettings
	Azure AzureSettings
	// FileRoots are the directories file references may point into; none: file references are
	// refused.
	FileRoots []string
	// CacheTTL is how long a resolved value is reused; 0: not cached.
	CacheTTL time.Duration
}

// Limits.
const (
	// MaxFileBytes bounds the size of a file a reference points to.
	MaxFileBytes = 64 << 10
	// MaxCacheEntries bounds the cache; when full, expired entries go, then all.
	MaxCacheEntries = 10000
	// vaultTimeout bounds one call to Vault.
	vaultTimeout = 10 * time.Second
)

// Validate reports every problem of s, each naming its field.
func (s Settings) Validate() error {
	var problems []string
	v := s.Vault
	if v.Address != "" {
		if !strings.HasPrefix(v.Address, "http://") && !strings.HasPrefix(v.Address, "https://") {
			problems = append(problems, "vault.address: must be an http:// or https:// URL")
		}
		switch v.Auth {
		case AuthToken:
			if v.Token == "" {
				problems = append(problems, "vault.token: is required with token auth")
			}
		case AuthAppRole:
			if v.RoleID == "" {
				problems = append(problems, "vault.role_id: is required with AppRole auth")
			}
			if v.SecretID == "" {
				problems = append(problems, "vault.secret_id: is required with AppRole auth")
			}
		case AuthKubernetes:
			if v.KubernetesRole == "" {
				problems = append(problems, "vault.kubernetes_role: is required with Kubernetes auth")
			}
		default:
			problems = append(problems, `vault.auth: must be "token", "approle" or "kubernetes"`)
		}
	}
	problems = append(problems, s.AWS.validate()...)
	problems = append(problems, s.GCP.validate()...)
	problems = append(problems, s.Azure.validate()...)
	for i, r := range s.FileRoots {
		if !filepath.IsAbs(r) {
			problems = append(problems, fmt.Sprintf("file_roots[%d]: must be an absolute directory", i))
		}
	}
	if s.CacheTTL < 0 || s.CacheTTL > 24*time.Hour {
		problems = append(problems, "cache_ttl: must be between 0s and 24h")
	}
	if len(problems) > 0 {
		return &SettingsError{Problems: problems}
	}
	return nil
}

// SettingsError lists every problem of a Settings, each starting with its field.
type SettingsError struct{ Problems []string }

func (e *SettingsError) Error() string { return strings.Join(e.Problems, "; ") }

type entry struct {
	value   string
	expires time.Time
}

// Resolver resolves references with the providers of its settings. Safe for concurrent use.
type Resolver struct {
	set  Settings
	now  func() time.Time
	http *http.Client

	mu    sync.Mutex
	cache map[string]entry

	cloud cloudClients

	vmu      sync.Mutex
	vc       *vault.Client
	loggedIn time.Time // when the current login token was obtained (AppRole, Kubernetes)
	tokenTTL time.Duration
}

// NewResolver builds a resolver; client is the HTTP client Vault is called through (nil: a plain
// client). The settings are validated.
func NewResolver(set Settings, client *http.Client) (*Resolver, error) {
	if err := set.Validate(); err != nil {
		return nil, err
	}
	r := &Resolver{set: set, now: time.Now, http: client, cache: map[string]entry{}}
	if set.Vault.Address != "" {
		cfg := vault.DefaultConfig()
		cfg.Address = set.Vault.Address
		cfg.MaxRetries = 0
		cfg.Timeout = vaultTimeout
		if client != nil {
			c := *client
			c.Timeout = vaultTimeout
			cfg.HttpClient = &c
		}
		vc, err := vault.NewClient(cfg)
		if err != nil {
			return nil, fmt.Errorf("vault.address: %w", err)
		}
		vc.SetToken("")
		vc.ClearNamespace()
		if set.Vault.Namespace != "" {
			vc.SetNamespace(set.Vault.Namespace)
		}
		if set.Vault.Auth == AuthToken {
			vc.SetToken(set.Vault.Token)
		}
		r.vc = vc
	}
	return r, nil
}

// Resolve returns the value a reference points to.
func (r *Resolver) Resolve(ctx context.Context, ref string) (string, error) {
	if r.set.CacheTTL > 0 {
		r.mu.Lock()
		e, ok := r.cache[ref]
		r.mu.Unlock()
		if ok && r.now().Before(e.expires) {
			return e.value, nil
		}
	}
	p, err := Parse(ref)
	if err != nil {
		return "", &Error{Ref: safeRef(ref), Err: ErrRefused, Detail: strings.TrimPrefix(err.Error(), "secret reference "+ref+": ")}
	}
	var v string
	switch p.Scheme {
	case SchemeFile:
		v, err = r.file(p)
	case SchemeAWS:
		v, err = r.awsSM(ctx, p)
	case SchemeGCP:
		v, err = r.gcpSM(ctx, p)
	case SchemeAzure:
		v, err = r.azureKV(ctx, p)
	default:
		v, err = r.vault(ctx, p)
	}
	if err != nil {
		return "", err
	}
	if r.set.CacheTTL > 0 {
		r.mu.Lock()
		if len(r.cache) >= MaxCacheEntries {
			now := r.now()
			for k, e := range r.cache {
				if !now.Before(e.expires) {
					delete(r.cache, k)
				}
			}
			if len(r.cache) >= MaxCacheEntries {
				clear(r.cache)
			}
		}
		r.cache[ref] = entry{value: v, expires: r.now().Add(r.set.CacheTTL)}
		r.mu.Unlock()
	}
	return v, nil
}

// safeRef is ref for an error message: a string that is not a reference could be a value.
func safeRef(ref string) string {
	if !IsRef(ref) {
		return "(not a reference)"
	}
	if len(ref) > MaxRefLen {
		return ref[:64] + "..."
	}
	return ref
}

// file reads a file reference inside the allowed roots.
func (r *Resolver) file(p Ref) (string, error) {
	if len(r.set.FileRoots) == 0 {
		return "", fail(p.Raw, ErrNotConfigured, "no file roots are allowed; an administrator sets them under Secret managers")
	}
	real, err := filepath.EvalSymlinks(p.File)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			// Refuse first a path outside the roots, so that a missing file does not tell more.
			if !r.inRoots(p.File) {
				return "", fail(p.Raw, ErrRefused, "outside the allowed file roots")
			}
			return "", fail(p.Raw, ErrNotFound, "")
		}
		if errors.Is(err, os.ErrPermission) {
			return "", fail(p.Raw, ErrPermission, "")
		}
		return "", fail(p.Raw, ErrNotFound, "")
	}
	if !r.inRoots(real) {
		return "", fail(p.Raw, ErrRefused, "outside the allowed file roots")
	}
	f, err := os.Open(real)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return "", fail(p.Raw, ErrPermission, "")
		}
		return "", fail(p.Raw, ErrNotFound, "")
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", fail(p.Raw, ErrNotFound, "not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return "", fail(p.Raw, ErrNotFound, "unreadable")
	}
	if len(b) > MaxFileBytes {
		return "", fail(p.Raw, ErrRefused, fmt.Sprintf("larger than %d bytes", MaxFileBytes))
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	return string(b), nil
}

// inRoots reports whether path p (cleaned, symlinks resolved where it exists) is inside one of the
// allowed roots (each with its own symlinks resolved).
func (r *Resolver) inRoots(p string) bool {
	for _, root := range r.set.FileRoots {
		roots := []string{filepath.Clean(root)}
		if real, err := filepath.EvalSymlinks(root); err == nil {
			roots = append(roots, real)
		}
		for _, root := range roots {
			rel, err := filepath.Rel(root, p)
			if err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return true
			}
		}
	}
	return false
}
