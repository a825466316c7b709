package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dataaggregator/aggregator/internal/secretref"
)

// Administration: the secret managers that secret references (vault://, file://) resolve with
// (internal/secretref).

// VaultSettings configure HashiCorp Vault (KV v2).
type VaultSettings struct {
	Address             string `json:"address" maxLength:"512" example:"https://vault.internal:8200" doc:"Vault's address; empty: no Vault"`
	Namespace           string `json:"namespace,omitempty" maxLength:"256" doc:"Vault Enterprise namespace"`
	Auth                string `json:"auth,omitempty" maxLength:"16" example:"approle" doc:"token, approle or kubernetes"`
	AuthMount           string `json:"auth_mount,omitempty" maxLength:"256" doc:"The auth method's mount path (default: approle or kubernetes)"`
	Token               string `json:"token,omitempty" maxLength:"4096" doc:"Token auth: the token (write-only: read as ********; sent as ******** or left out, the stored one is kept)"`
	RoleID              string `json:"role_id,omitempty" maxLength:"256" doc:"AppRole auth: the role id"`
	SecretID            string `json:"secret_id,omitempty" maxLength:"4096" doc:"AppRole auth: the secret id (write-only, as token)"`
	KubernetesRole      string `json:"kubernetes_role,omitempty" maxLength:"256" doc:"Kubernetes auth: the Vault role"`
	KubernetesTokenPath string `json:"kubernetes_token_path,omitempty" maxLength:"1024" doc:"Kubernetes auth: the service account token file (default /var/run/secrets/kubernetes.io/serviceaccount/token)"`
}

// SecretManagerSettings are the providers secret references resolve with.
type SecretManagerSettings struct {
	Vault     VaultSettings `json:"vault"`
	FileRoots []string      `json:"file_roots" maxItems:"32" doc:"Absolute directories file:// references may point into (mounted Kubernetes secrets); none: file references are refused"`
	CacheTTL  string        `json:"cache_ttl" maxLength:"16" example:"5m" doc:"How long a resolved value is reused (Go duration, 0s to 24h; 0s: not cached)"`
}

func toSecretManagerDTO(s secretref.Settings) SecretManagerSettings {
	s = s.Redacted()
	v := s.Vault
	roots := s.FileRoots
	if roots == nil {
		roots = []string{}
	}
	return SecretManagerSettings{Vault: VaultSettings{Address: v.Address, Namespace: v.Namespace, Auth: v.Auth, AuthMount: v.AuthMount,
		Token: v.Token, RoleID: v.RoleID, SecretID: v.SecretID, KubernetesRole: v.KubernetesRole, KubernetesTokenPath: v.KubernetesTokenPath},
		FileRoots: roots, CacheTTL: s.CacheTTL.String()}
}

func fromSecretManagerDTO(b SecretManagerSettings) (secretref.Settings, error) {
	v := b.Vault
	set := secretref.Settings{Vault: secretref.VaultSettings{Address: strings.TrimSpace(v.Address), Namespace: v.Namespace, Auth: v.Auth,
		AuthMount: v.AuthMount, Token: v.Token, RoleID: v.RoleID, SecretID: v.SecretID, KubernetesRole: v.KubernetesRole,
		KubernetesTokenPath: v.KubernetesTokenPath}, FileRoots: b.FileRoots}
	if b.CacheTTL != "" {
		ttl, err := time.ParseDuration(b.CacheTTL)
		if err != nil {
			return set, newProblem(http.StatusUnprocessableEntity, "invalid secret manager settings: cache_ttl: not a duration (5m, 30s)",
				fieldError("body.cache_ttl", "not a duration (5m, 30s)", b.CacheTTL))
		}
		set.CacheTTL = ttl
	}
	return set, nil
}

// SecretManagerSettingsView are the settings in force and who saved them.
type SecretManagerSettingsView struct {
	Settings  SecretManagerSettings `json:"settings"`
	UpdatedBy string                `json:"updated_by" doc:"Who saved them last (empty: never saved)"`
	UpdatedAt *time.Time            `json:"updated_at,omitempty"`
}

type secretManagersOutput struct {
	Body SecretManagerSettingsView
}

func toSecretManagersView(st secretref.Stored) SecretManagerSettingsView {
	v := SecretManagerSettingsView{Settings: toSecretManagerDTO(st.Settings), UpdatedBy: st.UpdatedBy}
	if !st.UpdatedAt.IsZero() {
		t := st.UpdatedAt
		v.UpdatedAt = &t
	}
	return v
}

func (s *Server) getSecretManagers(ctx context.Context, _ *struct{}) (*secretManagersOutput, error) {
	st, err := s.secretRefs.Settings(ctx)
	if err != nil {
		return nil, err
	}
	return &secretManagersOutput{Body: toSecretManagersView(st)}, nil
}

type putSecretManagersInput struct {
	Body SecretManagerSettings
}

func (s *Server) putSecretManagers(ctx context.Context, in *putSecretManagersInput) (*secretManagersOutput, error) {
	infoFrom(ctx).setTarget("settings", secretref.SettingsKey)
	set, err := fromSecretManagerDTO(in.Body)
	if err != nil {
		return nil, err
	}
	st, err := s.secretRefs.Save(ctx, set, principalFrom(ctx).Username)
	if err != nil {
		return nil, secretManagersError(err)
	}
	shown := toSecretManagerDTO(st.Settings)
	infoFrom(ctx).setExtra("vault_address", shown.Vault.Address)
	infoFrom(ctx).setExtra("vault_auth", shown.Vault.Auth)
	infoFrom(ctx).setExtra("file_roots", shown.FileRoots)
	infoFrom(ctx).setExtra("cache_ttl", shown.CacheTTL)
	return &secretManagersOutput{Body: toSecretManagersView(st)}, nil
}

// secretManagersError turns settings problems into a 422 naming each field (body.<field>).
func secretManagersError(err error) error {
	var se *secretref.SettingsError
	if !errors.As(err, &se) {
		return err
	}
	fields := make([]*huma.ErrorDetail, len(se.Problems))
	for i, p := range se.Problems {
		field, msg, _ := strings.Cut(p, ": ")
		fields[i] = fieldError("body."+field, msg, nil)
	}
	return newProblem(http.StatusUnprocessableEntity, "invalid secret manager settings: "+se.Error(), fields...)
}

// SecretManagerTest is a reference to resolve with settings being edited.
type SecretManagerTest struct {
	Settings  SecretManagerSettings `json:"settings" doc:"The settings to test (not saved); secrets sent as ******** or left out take the stored ones"`
	Reference string                `json:"reference" minLength:"1" maxLength:"1024" example:"vault://secret/db/orders#password" doc:"A vault:// or file:// reference to resolve; its value is never returned"`
}

// SecretManagerTestResult says whether the reference resolved.
type SecretManagerTestResult struct {
	OK      bool   `json:"ok"`
	Message string `json:"message" doc:"What happened, naming the reference (never its value)"`
}

type testSecretManagersInput struct {
	Body SecretManagerTest
}

type testSecretManagersOutput struct {
	Body SecretManagerTestResult
}

func (s *Server) testSecretManagers(ctx context.Context, in *testSecretManagersInput) (*testSecretManagersOutput, error) {
	ref := strings.TrimSpace(in.Body.Reference)
	if !secretref.IsRef(ref) {
		return nil, newProblem(http.StatusUnprocessableEntity, "reference: must start with vault:// or file://",
			fieldError("body.reference", "must start with vault:// or file://", nil))
	}
	infoFrom(ctx).setTarget("settings", secretref.SettingsKey)
	infoFrom(ctx).setExtra("reference", ref)
	set, err := fromSecretManagerDTO(in.Body.Settings)
	if err != nil {
		return nil, err
	}
	err = s.secretRefs.Test(ctx, set, ref)
	var se *secretref.SettingsError
	var re *secretref.Error
	switch {
	case errors.As(err, &se):
		return nil, secretManagersError(err)
	case errors.As(err, &re):
		return &testSecretManagersOutput{Body: SecretManagerTestResult{Message: re.Error()}}, nil
	case err != nil:
		return nil, err
	}
	return &testSecretManagersOutput{Body: SecretManagerTestResult{OK: true, Message: "secret reference " + ref + " resolves"}}, nil
}
