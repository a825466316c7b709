package secretref

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/secretref/cloudtest"
	"github.com/dataaggregator/aggregator/internal/secrets"
)

func TestParseCloud(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr string
	}{
		{in: "aws-sm://prod/orders-db#password", want: Ref{Scheme: SchemeAWS, Name: "prod/orders-db", Key: "password"}},
		{in: "aws-sm://arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf", want: Ref{Scheme: SchemeAWS, Name: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"}},
		{in: "gcp-sm://my-project/db-password", want: Ref{Scheme: SchemeGCP, Project: "my-project", Secret: "db-password", Version: "latest"}},
		{in: "gcp-sm://my-project/db/versions/3#user", want: Ref{Scheme: SchemeGCP, Project: "my-project", Secret: "db", Version: "3", Key: "user"}},
		{in: "azure-kv://prod-kv/db-password", want: Ref{Scheme: SchemeAzure, Vault: "prod-kv", Name: "db-password"}},
		{in: "azure-kv://prod-kv/db/4387e9f3d6e14c45#pw", want: Ref{Scheme: SchemeAzure, Vault: "prod-kv", Name: "db", Version: "4387e9f3d6e14c45", Key: "pw"}},
		{in: "aws-sm://", wantErr: "aws-sm://<name or ARN>[#<key>]"},
		{in: "aws-sm://db#", wantErr: "aws-sm://<name or ARN>[#<key>]"},
		{in: "aws-sm://my db", wantErr: "may not hold spaces"},
		{in: "gcp-sm://only-project", wantErr: "gcp-sm://<project>/<secret>"},
		{in: "gcp-sm://p/s/v/3", wantErr: "gcp-sm://<project>/<secret>"},
		{in: "gcp-sm://p/s.x", wantErr: "letters, digits"},
		{in: "azure-kv://kv", wantErr: "azure-kv://<vault>/<name>"},
		{in: "azure-kv://k/name", wantErr: "3 to 24"},
		{in: "azure-kv://prod-kv/na_me", wantErr: "letters, digits and hyphens"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if !IsRef(tt.in) {
				t.Fatalf("IsRef(%q) = false", tt.in)
			}
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Raw = tt.in
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidateCloudSettings(t *testing.T) {
	tests := []struct {
		name string
		set  Settings
		want []string
	}{
		{"aws without region", Settings{AWS: AWSSettings{Auth: AuthStatic}}, []string{"aws.region: is required"}},
		{"aws static without keys", Settings{AWS: AWSSettings{Region: "eu-west-1", Auth: AuthStatic}}, []string{"aws.access_key_id", "aws.secret_access_key"}},
		{"aws bad region and auth", Settings{AWS: AWSSettings{Region: "Europe", Auth: "iam"}}, []string{"aws.region: is not a region", "aws.auth: must be"}},
		{"gcp key not a service account", Settings{GCP: GCPSettings{Auth: AuthServiceAccount, CredentialsJSON: `{"type":"authorized_user"}`}}, []string{"gcp.credentials_json: must be a service account key"}},
		{"gcp bad endpoint", Settings{GCP: GCPSettings{Auth: AuthDefault, Endpoint: "secretmanager.googleapis.com"}}, []string{"gcp.endpoint"}},
		{"azure client secret incomplete", Settings{Azure: AzureSettings{Auth: AuthClientSecret, TenantID: "t"}}, []string{"azure.client_id", "azure.client_secret"}},
		{"azure bad suffix and authority", Settings{Azure: AzureSettings{Auth: AuthDefault, VaultSuffix: "https://x", AuthorityHost: "http://login"}}, []string{"azure.vault_suffix", "azure.authority_host"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.set.Validate()
			var se *SettingsError
			if !errors.As(err, &se) {
				t.Fatalf("Validate() = %v, want a *SettingsError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to name %q", err, w)
				}
			}
		})
	}
	ok := Settings{AWS: AWSSettings{Region: "eu-west-1", Auth: AuthDefault}, GCP: GCPSettings{Auth: AuthDefault},
		Azure: AzureSettings{Auth: AuthDefault}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(default auth everywhere) = %v", err)
	}
}

// assertFails checks that err is a resolution error of kind naming ref and never value.
func assertFails(t *testing.T, err error, kind error, ref string, secretValues ...string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want %v", err, kind)
	}
	if !strings.Contains(err.Error(), ref) {
		t.Fatalf("error %q does not name the reference %s", err, ref)
	}
	for _, v := range secretValues {
		if strings.Contains(err.Error(), v) {
			t.Fatalf("error %q shows a secret", err)
		}
	}
}

func TestResolveAWS(t *testing.T) {
	srv := cloudtest.NewAWS("AKIATESTKEY")
	defer srv.Close()
	srv.Put("prod/orders-db", `{"username":"orders","password":"aws-pw-1"}`)
	srv.Put("plain", "just-text")
	set := Settings{AWS: AWSSettings{Region: "eu-west-1", Endpoint: srv.URL, Auth: AuthStatic, AccessKeyID: "AKIATESTKEY", SecretAccessKey: "wJalrXUtnFEMI"}, CacheTTL: time.Minute}
	r, err := NewResolver(set, &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for ref, want := range map[string]string{"aws-sm://prod/orders-db#password": "aws-pw-1", "aws-sm://plain": "just-text"} {
		got, err := r.Resolve(ctx, ref)
		if err != nil || got != want {
			t.Fatalf("Resolve(%s) = %q, %v; want %q", ref, got, err, want)
		}
	}
	if _, err := r.Resolve(ctx, "aws-sm://prod/orders-db#password"); err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls.Load(); n != 2 {
		t.Fatalf("%d calls for two references within the cache TTL, want 2", n)
	}
	_, err = r.Resolve(ctx, "aws-sm://missing#password")
	assertFails(t, err, ErrNotFound, "aws-sm://missing#password")
	_, err = r.Resolve(ctx, "aws-sm://prod/orders-db#token")
	assertFails(t, err, ErrKeyMissing, "aws-sm://prod/orders-db#token", "aws-pw-1")
	_, err = r.Resolve(ctx, "aws-sm://plain#password")
	assertFails(t, err, ErrKeyMissing, "aws-sm://plain#password", "just-text")

	wrong := set
	wrong.AWS.AccessKeyID = "AKIAWRONG"
	wrong.CacheTTL = 0
	rw, _ := NewResolver(wrong, &http.Client{})
	_, err = rw.Resolve(ctx, "aws-sm://plain")
	assertFails(t, err, ErrPermission, "aws-sm://plain", "wJalrXUtnFEMI")

	srv.Fail.Store(http.StatusInternalServerError)
	_, err = rw.Resolve(ctx, "aws-sm://plain")
	assertFails(t, err, ErrUnreachable, "aws-sm://plain")
	srv.Close()
	_, err = rw.Resolve(ctx, "aws-sm://plain")
	assertFails(t, err, ErrUnreachable, "aws-sm://plain")
}

func TestResolveGCP(t *testing.T) {
	srv := cloudtest.NewGCP()
	defer srv.Close()
	srv.Put("my-project", "db-password", []byte("gcp-pw-1"))
	srv.Put("my-project", "db", []byte(`{"user":"orders","password":"gcp-pw-2"}`))
	set := Settings{GCP: GCPSettings{Auth: AuthServiceAccount, CredentialsJSON: srv.KeyJSON, Endpoint: srv.URL}}
	r, err := NewResolver(set, &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for ref, want := range map[string]string{"gcp-sm://my-project/db-password": "gcp-pw-1", "gcp-sm://my-project/db/versions/1#password": "gcp-pw-2"} {
		got, err := r.Resolve(ctx, ref)
		if err != nil || got != want {
			t.Fatalf("Resolve(%s) = %q, %v; want %q", ref, got, err, want)
		}
	}
	if n := srv.Tokens.Load(); n != 1 {
		t.Fatalf("%d tokens issued for two reads, want 1 (reused)", n)
	}
	_, err = r.Resolve(ctx, "gcp-sm://my-project/nope")
	assertFails(t, err, ErrNotFound, "gcp-sm://my-project/nope")

	srv.CorruptCRC.Store(true)
	_, err = r.Resolve(ctx, "gcp-sm://my-project/db-password")
	assertFails(t, err, ErrUnreachable, "gcp-sm://my-project/db-password", "gcp-pw-1")
	if !strings.Contains(err.Error(), "CRC32C") {
		t.Fatalf("error %q does not say the checksum failed", err)
	}
}

func TestResolveGCPRefusedToken(t *testing.T) {
	srv := cloudtest.NewGCP()
	defer srv.Close()
	srv.Put("p1", "s", []byte("v"))
	// A key whose token_uri refuses the grant.
	key := strings.Replace(srv.KeyJSON, srv.URL+"/token", srv.URL+"/v1/refuse", 1)
	r, err := NewResolver(Settings{GCP: GCPSettings{Auth: AuthServiceAccount, CredentialsJSON: key, Endpoint: srv.URL}}, &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(context.Background(), "gcp-sm://p1/s")
	assertFails(t, err, ErrPermission, "gcp-sm://p1/s", "PRIVATE KEY")
}

func TestResolveAzure(t *testing.T) {
	srv := cloudtest.NewAzure("72f988bf-86f1-41af-91ab-2d7cd011db47", "app-id", "app-secret-value")
	defer srv.Close()
	srv.Put("prod-kv", "db-password", "az-pw-1")
	srv.Put("prod-kv", "db", `{"password":"az-pw-2"}`)
	set := Settings{Azure: AzureSettings{Auth: AuthClientSecret, TenantID: srv.TenantID, ClientID: "app-id", ClientSecret: "app-secret-value",
		VaultSuffix: srv.VaultSuffix, AuthorityHost: srv.AuthorityHost}}
	r, err := NewResolver(set, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for ref, want := range map[string]string{"azure-kv://prod-kv/db-password": "az-pw-1", "azure-kv://prod-kv/db#password": "az-pw-2"} {
		got, err := r.Resolve(ctx, ref)
		if err != nil || got != want {
			t.Fatalf("Resolve(%s) = %q, %v; want %q", ref, got, err, want)
		}
	}
	if n := srv.Tokens.Load(); n != 1 {
		t.Fatalf("%d tokens issued for two reads, want 1 (reused)", n)
	}
	_, err = r.Resolve(ctx, "azure-kv://prod-kv/missing")
	assertFails(t, err, ErrNotFound, "azure-kv://prod-kv/missing")

	bad := set
	bad.Azure.ClientSecret = "wrong-secret"
	rb, _ := NewResolver(bad, srv.Client())
	_, err = rb.Resolve(ctx, "azure-kv://prod-kv/db-password")
	assertFails(t, err, ErrPermission, "azure-kv://prod-kv/db-password", "wrong-secret", "az-pw-1")
}

func TestResolveCloudNotConfigured(t *testing.T) {
	r, err := NewResolver(Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"aws-sm://db#pw", "gcp-sm://p/s", "azure-kv://prod-kv/s"} {
		_, err := r.Resolve(context.Background(), ref)
		assertFails(t, err, ErrNotConfigured, ref)
	}
}

// BenchmarkResolveCloud resolves one reference of each cloud secret manager through the service
// that connectors' opening uses (settings read from a SQLite store), against the test servers of
// cloudtest on loopback: cached (within the cache TTL) and uncached (TTL 0: one read over HTTP per
// reference, the provider's token reused). docs/benchmarks.md has the figures.
func BenchmarkResolveCloud(b *testing.B) {
	aws := cloudtest.NewAWS("AKIATESTKEY")
	defer aws.Close()
	aws.Put("prod/orders-db", `{"password":"aws-pw"}`)
	gcp := cloudtest.NewGCP()
	defer gcp.Close()
	gcp.Put("my-project", "db-password", []byte("gcp-pw"))
	az := cloudtest.NewAzure("72f988bf-86f1-41af-91ab-2d7cd011db47", "app-id", "app-secret-value")
	defer az.Close()
	az.Put("prod-kv", "db-password", "az-pw")
	providers := []struct {
		name, ref, want string
		set             Settings
		client          *http.Client
	}{
		{"aws-sm", "aws-sm://prod/orders-db#password", "aws-pw", Settings{AWS: AWSSettings{Region: "eu-west-1", Endpoint: aws.URL, Auth: AuthStatic,
			AccessKeyID: "AKIATESTKEY", SecretAccessKey: "wJalrXUtnFEMI"}}, &http.Client{}},
		{"gcp-sm", "gcp-sm://my-project/db-password", "gcp-pw", Settings{GCP: GCPSettings{Auth: AuthServiceAccount, CredentialsJSON: gcp.KeyJSON,
			Endpoint: gcp.URL}}, &http.Client{}},
		{"azure-kv", "azure-kv://prod-kv/db-password", "az-pw", Settings{Azure: AzureSettings{Auth: AuthClientSecret, TenantID: az.TenantID,
			ClientID: "app-id", ClientSecret: "app-secret-value", VaultSuffix: az.VaultSuffix, AuthorityHost: az.AuthorityHost}}, az.Client()},
	}
	for _, p := range providers {
		for _, ttl := range []time.Duration{time.Minute, 0} {
			name := p.name + "/cached"
			if ttl == 0 {
				name = p.name + "/uncached"
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				_, st := setupService(b)
				keys, err := secrets.NewKeyring("0123456789abcdef0123456789abcdef")
				if err != nil {
					b.Fatal(err)
				}
				svc, err := NewService(ServiceOptions{Store: st, Keys: keys, HTTPClient: p.client})
				if err != nil {
					b.Fatal(err)
				}
				set := p.set
				set.CacheTTL = ttl
				if _, err := svc.Save(ctx, set, "admin"); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					got, err := svc.Resolve(ctx, p.ref)
					if err != nil || got != p.want {
						b.Fatalf("Resolve(%s) = %q, %v", p.ref, got, err)
					}
				}
			})
		}
	}
}
