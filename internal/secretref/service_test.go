package secretref

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/secretref/cloudtest"
	"github.com/dataaggregator/aggregator/internal/secrets"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
)

func setupService(t testing.TB) (*Service, *store.Store) {
	t.Helper()
	st := storetest.Open(t, store.Options{Dialect: store.SQLite, DSN: filepath.Join(t.TempDir(), "meta.db")})
	keys, err := secrets.NewKeyring("0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(ServiceOptions{Store: st, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st
}

func TestServiceSettings(t *testing.T) {
	ctx := context.Background()
	svc, st := setupService(t)
	v := newVault(t)
	ref := "vault://secret/db/orders#password"

	if _, err := svc.Resolve(ctx, ref); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("before any settings: %v, want not configured", err)
	}
	got, err := svc.Settings(ctx)
	if err != nil || got.Settings.CacheTTL != DefaultCacheTTL || !got.UpdatedAt.IsZero() {
		t.Fatalf("defaults = %+v, %v", got, err)
	}

	set := Settings{Vault: VaultSettings{Address: v.URL, Auth: AuthToken, Token: "root-token"}, FileRoots: []string{"/run/secrets"}, CacheTTL: time.Minute}
	if _, err := svc.Save(ctx, set, "admin"); err != nil {
		t.Fatal(err)
	}
	raw, err := st.GetSetting(ctx, SettingsKey)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw.Value), "root-token") {
		t.Fatalf("the Vault token is stored in plain text: %s", raw.Value)
	}
	if v, err := svc.Resolve(ctx, ref); err != nil || v != "s3cr3t-pw" {
		t.Fatalf("Resolve = %q, %v", v, err)
	}

	// Sent back as read (the token redacted), the token is kept.
	read, err := svc.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	shown := read.Settings.Redacted()
	if shown.Vault.Token != configspec.Redacted || read.UpdatedBy != "admin" {
		t.Fatalf("read back %+v", read)
	}
	shown.CacheTTL = 0
	if _, err := svc.Save(ctx, shown, "admin2"); err != nil {
		t.Fatal(err)
	}
	again, _ := svc.Settings(ctx)
	if again.Settings.Vault.Token != "root-token" || again.Settings.CacheTTL != 0 {
		t.Fatalf("after saving what was read: %+v", again.Settings)
	}

	bad := Settings{Vault: VaultSettings{Address: v.URL, Auth: AuthAppRole, RoleID: "r"}}
	var se *SettingsError
	if _, err := svc.Save(ctx, bad, "admin"); !errors.As(err, &se) || !strings.Contains(err.Error(), "vault.secret_id") {
		t.Fatalf("Save of incomplete AppRole settings = %v", err)
	}
}

func TestServiceTest(t *testing.T) {
	ctx := context.Background()
	svc, _ := setupService(t)
	v := newVault(t)
	set := Settings{Vault: VaultSettings{Address: v.URL, Auth: AuthToken, Token: "root-token"}}
	if err := svc.Test(ctx, set, "vault://secret/db/orders#password"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Test(ctx, set, "vault://secret/db/gone#password"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Test of a missing secret = %v", err)
	}
	if _, err := svc.Settings(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Resolve(ctx, "vault://secret/db/orders#password"); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("Test saved the settings: %v", err)
	}
}

// BenchmarkResolve measures resolving one Vault reference through the Service as a connector's
// opening does: cached (a cache hit) and uncached (one KV v2 read over HTTP on loopback).
func BenchmarkResolve(b *testing.B) {
	for _, ttl := range []time.Duration{time.Minute, 0} {
		name := "cached"
		if ttl == 0 {
			name = "uncached"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			svc, _ := setupService(b)
			v := newVault(b)
			if _, err := svc.Save(ctx, Settings{Vault: VaultSettings{Address: v.URL, Auth: AuthToken, Token: "root-token"}, CacheTTL: ttl}, "admin"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := svc.Resolve(ctx, "vault://secret/db/orders#password"); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(v.Reads.Load())/float64(b.N), "vault-reads/op")
		})
	}
}

func TestServiceSealsCloudCredentials(t *testing.T) {
	ctx := context.Background()
	svc, st := setupService(t)
	aws := cloudtest.NewAWS("AKIATESTKEY")
	defer aws.Close()
	aws.Put("orders", `{"password":"from-aws"}`)
	gcp := cloudtest.NewGCP()
	defer gcp.Close()
	set := Settings{
		AWS: AWSSettings{Region: "eu-west-1", Endpoint: aws.URL, Auth: AuthStatic, AccessKeyID: "AKIATESTKEY",
			SecretAccessKey: "aws-secret-key-canary", SessionToken: "aws-session-canary"},
		GCP:   GCPSettings{Auth: AuthServiceAccount, CredentialsJSON: gcp.KeyJSON, Endpoint: gcp.URL},
		Azure: AzureSettings{Auth: AuthClientSecret, TenantID: "t", ClientID: "c", ClientSecret: "azure-secret-canary"},
	}
	if _, err := svc.Save(ctx, set, "admin"); err != nil {
		t.Fatal(err)
	}
	raw, err := st.GetSetting(ctx, SettingsKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, canary := range []string{"aws-secret-key-canary", "aws-session-canary", "azure-secret-canary", "PRIVATE KEY"} {
		if strings.Contains(string(raw.Value), canary) {
			t.Fatalf("%s is stored in plain text: %s", canary, raw.Value)
		}
	}
	read, err := svc.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	shown := read.Settings.Redacted()
	for name, v := range map[string]string{"aws.secret_access_key": shown.AWS.SecretAccessKey, "aws.session_token": shown.AWS.SessionToken,
		"gcp.credentials_json": shown.GCP.CredentialsJSON, "azure.client_secret": shown.Azure.ClientSecret} {
		if v != configspec.Redacted {
			t.Errorf("%s shown as %q, want %s", name, v, configspec.Redacted)
		}
	}
	// Saved back as read: every secret is kept, and the AWS reference resolves with them.
	if _, err := svc.Save(ctx, shown, "admin"); err != nil {
		t.Fatal(err)
	}
	again, _ := svc.Settings(ctx)
	if again.Settings.AWS.SecretAccessKey != "aws-secret-key-canary" || again.Settings.GCP.CredentialsJSON != gcp.KeyJSON || again.Settings.Azure.ClientSecret != "azure-secret-canary" {
		t.Fatalf("secrets not kept after saving what was read")
	}
	if v, err := svc.Resolve(ctx, "aws-sm://orders#password"); err != nil || v != "from-aws" {
		t.Fatalf("Resolve = %q, %v", v, err)
	}
	// Switching Azure to default auth drops its client secret.
	shown.Azure = AzureSettings{Auth: AuthDefault}
	if _, err := svc.Save(ctx, shown, "admin"); err != nil {
		t.Fatal(err)
	}
	if again, _ := svc.Settings(ctx); again.Settings.Azure.ClientSecret != "" || again.Settings.Azure.TenantID != "" {
		t.Fatalf("default auth kept the client secret: %+v", again.Settings.Azure)
	}
}
