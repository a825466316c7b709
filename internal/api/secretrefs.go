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
// (internal/secretref): HashiCorp Vault, AWS Secrets Manager, GCP Secret Manager, Azure Key Vault
// and mounted files.

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

// AWSSecretsManagerSettings configure AWS Secrets Manager (aws-sm:// references).
type AWSSecretsManagerSettings struct {
	Region          string `json:"region" maxLength:"32" example:"eu-west-1" doc:"The region secrets are read in; empty: AWS Secrets Manager is not used"`
	Endpoint        string `json:"endpoint,omitempty" maxLength:"512" doc:"Overrides the regional endpoint (a VPC endpoint URL)"`
	Auth            string `json:"auth,omitempty" maxLength:"16" example:"default" doc:"default (environment, shared config, the instance's or pod's IAM role) or static (an access key)"`
	AccessKeyID     string `json:"access_key_id,omitempty" maxLength:"128" doc:"Static auth: the access key id"`
	SecretAccessKey string `json:"secret_access_key,omitempty" maxLength:"256" doc:"Static auth: the secret access key (write-only: read as ********; sent as ******** or left out, the stored one is kept)"`
	SessionToken    string `json:"session_token,omitempty" maxLength:"4096" doc:"Static auth: an optional session token (write-only, as secret_access_key)"`
}

// GCPSecretManagerSettings configure Google Cloud Secret Manager (gcp-sm:// references).
type GCPSecretManagerSettings struct {
	Auth            string `json:"auth,omitempty" maxLength:"16" example:"service_account" doc:"default (application default credentials: workload identity, the metadata server, GOOGLE_APPLICATION_CREDENTIALS) or service_account; empty: not used"`
	CredentialsJSON string `json:"credentials_json,omitempty" maxLength:"16384" doc:"Service account auth: the key file's JSON (write-only, as secret_access_key)"`
	Endpoint        string `json:"endpoint,omitempty" maxLength:"512" doc:"Overrides https://secretmanager.googleapis.com (a regional or Private Service Connect endpoint)"`
}

// AzureKeyVaultSettings configure Azure Key Vault (azure-kv:// references).
type AzureKeyVaultSettings struct {
	Auth          string `json:"auth,omitempty" maxLength:"16" example:"client_secret" doc:"default (environment, workload identity, managed identity, Azure CLI) or client_secret; empty: not used"`
	TenantID      string `json:"tenant_id,omitempty" maxLength:"64" doc:"Client secret auth: the directory (tenant) id"`
	ClientID      string `json:"client_id,omitempty" maxLength:"64" doc:"Client secret auth: the application (client) id"`
	ClientSecret  string `json:"client_secret,omitempty" maxLength:"1024" doc:"Client secret auth: the client secret (write-only, as secret_access_key)"`
	VaultSuffix   string `json:"vault_suffix,omitempty" maxLength:"128" doc:"DNS suffix of key vaults (default vault.azure.net; vault.azure.cn, vault.usgovcloudapi.net)"`
	AuthorityHost string `json:"authority_host,omitempty" maxLength:"512" doc:"Microsoft Entra ID's address (default https://login.microsoftonline.com/)"`
}

// SecretManagerSettings are the providers secret references resolve with.
type SecretManagerSettings struct {
	Vault     VaultSettings             `json:"vault"`
	AWS       AWSSecretsManagerSettings `json:"aws,omitempty" doc:"AWS Secrets Manager (aws-sm://); left out: not used"`
	GCP       GCPSecretManagerSettings  `json:"gcp,omitempty" doc:"Google Cloud Secret Manager (gcp-sm://); left out: not used"`
	Azure     AzureKeyVaultSettings     `json:"azure,omitempty" doc:"Azure Key Vault (azure-kv://); left out: not used"`
	FileRoots []string                  `json:"file_roots" maxItems:"32" doc:"Absolute directories file:// references may point into (mounted Kubernetes secrets); none: file references are refused"`
	CacheTTL  string                    `json:"cache_ttl" maxLength:"16" example:"5m" doc:"How long a resolved value is reused (Go duration, 0s to 24h; 0s: not cached)"`
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
		AWS:       AWSSecretsManagerSettings(s.AWS),
		GCP:       GCPSecretManagerSettings(s.GCP),
		Azure:     AzureKeyVaultSettings(s.Azure),
		FileRoots: roots, CacheTTL: s.CacheTTL.String()}
}

func fromSecretManagerDTO(b SecretManagerSettings) (secretref.Settings, error) {
	v := b.Vault
	set := secretref.Settings{Vault: secretref.VaultSettings{Address: strings.TrimSpace(v.Address), Namespace: v.Namespace, Auth: v.Auth,
		AuthMount: v.AuthMount, Token: v.Token, RoleID: v.RoleID, SecretID: v.SecretID, KubernetesRole: v.KubernetesRole,
		KubernetesTokenPath: v.KubernetesTokenPath}, FileRoots: b.FileRoots,
		AWS: secretref.AWSSettings{Region: strings.TrimSpace(b.AWS.Region), Endpoint: strings.TrimSpace(b.AWS.Endpoint), Auth: b.AWS.Auth,
			AccessKeyID: strings.TrimSpace(b.AWS.AccessKeyID), SecretAccessKey: b.AWS.SecretAccessKey, SessionToken: b.AWS.SessionToken},
		GCP: secretref.GCPSettings{Auth: b.GCP.Auth, CredentialsJSON: b.GCP.CredentialsJSON, Endpoint: strings.TrimSpace(b.GCP.Endpoint)},
		Azure: secretref.AzureSettings{Auth: b.Azure.Auth, TenantID: strings.TrimSpace(b.Azure.TenantID), ClientID: strings.TrimSpace(b.Azure.ClientID),
			ClientSecret: b.Azure.ClientSecret, VaultSuffix: strings.TrimSpace(b.Azure.VaultSuffix), AuthorityHost: strings.TrimSpace(b.Azure.AuthorityHost)}}
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
	infoFrom(ctx).setExtra("aws_region", shown.AWS.Region)
	infoFrom(ctx).setExtra("gcp_auth", shown.GCP.Auth)
	infoFrom(ctx).setExtra("azure_auth", shown.Azure.Auth)
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
	Reference string                `json:"reference" minLength:"1" maxLength:"1024" example:"vault://secret/db/orders#password" doc:"A vault://, aws-sm://, gcp-sm://, azure-kv:// or file:// reference to resolve; its value is never returned"`
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
		return nil, newProblem(http.StatusUnprocessableEntity, "reference: must start with vault://, aws-sm://, gcp-sm://, azure-kv:// or file://",
			fieldError("body.reference", "must start with vault://, aws-sm://, gcp-sm://, azure-kv:// or file://", nil))
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
