package secretref

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/secretref/vaulttest"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr string
	}{
		{in: "vault://secret/db/orders#password", want: Ref{Scheme: SchemeVault, Mount: "secret", Path: "db/orders", Key: "password"}},
		{in: "vault://kv/app#k", want: Ref{Scheme: SchemeVault, Mount: "kv", Path: "app", Key: "k"}},
		{in: "file:///run/secrets/db", want: Ref{Scheme: SchemeFile, File: "/run/secrets/db"}},
		{in: "file:///run/secrets/../x", want: Ref{Scheme: SchemeFile, File: "/run/x"}},
		{in: "vault://secret/db", wantErr: "names its key after #"},
		{in: "vault://secret#key", wantErr: "vault://<mount>/<path>#<key>"},
		{in: "vault://secret/a/../b#key", wantErr: ". or .. segments"},
		{in: "file://relative/path", wantErr: "absolute path"},
		{in: "hunter2", wantErr: "not a secret reference"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				if tt.in == "hunter2" && strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("the error shows the value: %v", err)
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

func TestIsRef(t *testing.T) {
	for s, want := range map[string]bool{"vault://a/b#c": true, "file:///x": true, "vault:/x": false,
		"Vault://a/b#c": false, "https://vault": false, "p@ss://word": false, "": false} {
		if got := IsRef(s); got != want {
			t.Errorf("IsRef(%q) = %v, want %v", s, got, want)
		}
	}
}

func newVault(t testing.TB) *vaulttest.Server {
	t.Helper()
	v := vaulttest.New("root-token")
	t.Cleanup(v.Close)
	v.Put("secret", "db/orders", map[string]any{"password": "s3cr3t-pw", "port": 5432})
	return v
}

func TestResolveVaultToken(t *testing.T) {
	v := newVault(t)
	r, err := NewResolver(Settings{Vault: VaultSettings{Address: v.URL, Auth: AuthToken, Token: "root-token"}, CacheTTL: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := r.Resolve(ctx, "vault://secret/db/orders#password")
	if err != nil || got != "s3cr3t-pw" {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	if _, err := r.Resolve(ctx, "vault://secret/db/orders#password"); err != nil {
		t.Fatal(err)
	}
	if n := v.Reads.Load(); n != 1 {
		t.Fatalf("Vault was read %d times for one reference within the cache TTL, want 1", n)
	}
}

func TestResolveCacheExpires(t *testing.T) {
	v := newVault(t)
	r, err := NewResolver(Settings{Vault: VaultSettings{Address: v.URL, Auth: AuthToken, Token: "root-token"}, CacheTTL: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	ref := "vault://secret/db/orders#password"
	if _, err := r.Resolve(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	v.Put("secret", "db/orders", map[string]any{"password": "rotated"})
	now = now.Add(59 * time.Second)
	if got, _ := r.Resolve(context.Background(), ref); got != "s3cr3t-pw" {
		t.Fatalf("within the TTL got %q, want the cached value", got)
	}
	now = now.Add(2 * time.Second)
	if got, _ := r.Resolve(context.Background(), ref); got != "rotated" {
		t.Fatalf("after the TTL got %q, want the new value", got)
	}
}

func TestResolveVaultAppRole(t *testing.T) {
	v := newVault(t)
	v.AddAppRole("role-1", "secret-1")
	r, err := NewResolver(Settings{Vault: VaultSettings{Address: v.URL, Auth: AuthAppRole, RoleID: "role-1", SecretID: "secret-1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 {
		if got, err := r.Resolve(ctx, "vault://secret/db/orders#password"); err != nil || got != "s3cr3t-pw" {
			t.Fatalf("Resolve = %q, %v", got, err)
		}
	}
	if n := v.Logins.Load(); n != 1 {
		t.Fatalf("logged in %d times, want 1 (the token is reused)", n)
	}
	v.RevokeAll("root-token")
	if got, err := r.Resolve(ctx, "vault://secret/db/orders#password"); err != nil || got != "s3cr3t-pw" {
		t.Fatalf("after a revocation Resolve = %q, %v (want a new login)", got, err)
	}
	if n := v.Logins.Load(); n != 2 {
		t.Fatalf("logged in %d times, want 2", n)
	}
	bad, err := NewResolver(Settings{Vault: VaultSettings{Address: v.URL, Auth: AuthAppRole, RoleID: "role-1", SecretID: "wrong"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Resolve(ctx, "vault://secret/db/orders#password")
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "vault://secret/db/orders#password") {
		t.Fatalf("a wrong secret id: %v, want permission denied naming the reference", err)
	}
}

func TestResolveVaultKubernetes(t *testing.T) {
	v := newVault(t)
	v.AddKubernetesRole("aggregator", "eyJ.sa-token")
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("eyJ.sa-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := NewResolver(Settings{Vault: VaultSettings{Address: v.URL, Auth: AuthKubernetes, KubernetesRole: "aggregator", KubernetesTokenPath: tok}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r.Resolve(context.Background(), "vault://secret/db/orders#password"); err != nil || got != "s3cr3t-pw" {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
}

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestResolveErrors(t *testing.T) {
	v := newVault(t)
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "pw"), []byte("outside-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "pw"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, MaxFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	good := Settings{Vault: VaultSettings{Address: v.URL, Auth: AuthToken, Token: "root-token"}, FileRoots: []string{dir}}
	wrongToken := good
	wrongToken.Vault.Token = "nope"
	down := good
	down.Vault.Address = "http://" + closedAddr(t)
	tests := []struct {
		name string
		set  Settings
		ref  string
		want error
	}{
		{"missing secret", good, "vault://secret/db/nothing#password", ErrNotFound},
		{"missing key", good, "vault://secret/db/orders#user", ErrKeyMissing},
		{"non-string key", good, "vault://secret/db/orders#port", ErrKeyMissing},
		{"wrong token", wrongToken, "vault://secret/db/orders#password", ErrPermission},
		{"unreachable", down, "vault://secret/db/orders#password", ErrUnreachable},
		{"no vault", Settings{}, "vault://secret/db/orders#password", ErrNotConfigured},
		{"no file roots", Settings{}, "file://" + filepath.Join(dir, "pw"), ErrNotConfigured},
		{"missing file", good, "file://" + filepath.Join(dir, "none"), ErrNotFound},
		{"outside roots", good, "file://" + filepath.Join(outside, "pw"), ErrRefused},
		{"outside roots, missing", good, "file:///etc/nothing-here", ErrRefused},
		{"dot-dot out of a root", good, "file://" + dir + "/../" + filepath.Base(outside) + "/pw", ErrRefused},
		{"symlink out of a root", good, "file://" + filepath.Join(dir, "link"), ErrRefused},
		{"too large", good, "file://" + filepath.Join(dir, "big"), ErrRefused},
		{"malformed", good, "vault://secret/db/orders", ErrRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewResolver(tt.set, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Resolve(context.Background(), tt.ref)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Resolve(%s) = %q, %v; want %v", tt.ref, got, err, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.ref) {
				t.Fatalf("the error %q does not name the reference %s", msg, tt.ref)
			}
			for _, secret := range []string{"s3cr3t-pw", "outside-value", "root-token"} {
				if strings.Contains(msg, secret) {
					t.Fatalf("the error %q shows a secret", msg)
				}
			}
		})
	}
}

func TestResolveFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "db-password"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "two-lines"), []byte("a\nb\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := NewResolver(Settings{FileRoots: []string{dir}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"db-password": "from-file", "two-lines": "a\nb\n"} {
		got, err := r.Resolve(context.Background(), "file://"+filepath.Join(dir, file))
		if err != nil || got != want {
			t.Errorf("%s: Resolve = %q, %v; want %q (one trailing newline trimmed)", file, got, err, want)
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	err := Settings{Vault: VaultSettings{Address: "vault:8200", Auth: "ldap"}, FileRoots: []string{"rel"}, CacheTTL: -time.Second}.Validate()
	var se *SettingsError
	if !errors.As(err, &se) {
		t.Fatalf("Validate = %v", err)
	}
	want := []string{"vault.address", "vault.auth", "file_roots[0]", "cache_ttl"}
	if len(se.Problems) != len(want) {
		t.Fatalf("problems %q, want one for each of %q", se.Problems, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(se.Problems[i], w+":") {
			t.Errorf("problem %d = %q, want it to start with %s", i, se.Problems[i], w)
		}
	}
}
