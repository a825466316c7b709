package connections

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/secretref"
	"github.com/dataaggregator/aggregator/internal/secretref/vaulttest"
	"github.com/dataaggregator/aggregator/internal/store"
)

func setupRefs(t *testing.T) (*Service, *store.Store, *vaulttest.Server, string) {
	t.Helper()
	e := setup(t, setupOpts{})
	v := vaulttest.New("root-token")
	t.Cleanup(v.Close)
	v.Put("secret", "db/orders", map[string]any{"password": "vault-" + canary})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("file-"+canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := secretref.NewResolver(secretref.Settings{Vault: secretref.VaultSettings{Address: v.URL, Auth: secretref.AuthToken, Token: "root-token"},
		FileRoots: []string{dir}, CacheTTL: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := connector.NewRegistry(fakeDB{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{Store: e.st, Connectors: reg, Keys: keyring(t, keyA), Refs: res})
	if err != nil {
		t.Fatal(err)
	}
	return svc, e.st, v, dir
}

func TestReferencesStoredAndShownAsWritten(t *testing.T) {
	ctx := context.Background()
	svc, st, _, dir := setupRefs(t)
	fileRef := "file://" + filepath.Join(dir, "token")
	c, err := svc.Create(ctx, Input{Name: "orders", Type: "fakedb", Config: map[string]any{
		"host": "vault://not/a#secret-field", "password": "vault://secret/db/orders#password",
		"auth": map[string]any{"user": "u", "token": fileRef}}}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"host": "vault://not/a#secret-field", "password": "vault://secret/db/orders#password",
		"auth": map[string]any{"user": "u", "token": fileRef}}
	for _, got := range []map[string]any{c.Config, mustGet(t, svc, c.ID).Config} {
		if !equalJSON(got, want) {
			t.Fatalf("config shown as %v, want the references as written %v", got, want)
		}
	}
	row, err := st.GetConnector(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.Secrets != "" || strings.Contains(string(row.Config), canary) {
		t.Fatalf("stored config %s, sealed %q: want the references only", row.Config, row.Secrets)
	}

	typ, cfg, err := svc.Resolve(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if typ != "fakedb" || cfg["password"] != "vault-"+canary || cfg["auth"].(map[string]any)["token"] != "file-"+canary {
		t.Fatalf("Resolve gave %v", cfg)
	}
	if cfg["host"] != "vault://not/a#secret-field" {
		t.Fatalf("a reference in a non-secret field was resolved: %v", cfg["host"])
	}

	// A literal value and a reference side by side: the literal is sealed and redacted.
	c, err = svc.Update(ctx, c.ID, Input{Name: "orders", Type: "fakedb", Config: map[string]any{
		"host": "h", "password": "literal-" + canary, "auth": map[string]any{"token": fileRef}}}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if c.Config["password"] != configspec.Redacted || c.Config["auth"].(map[string]any)["token"] != fileRef {
		t.Fatalf("after update the config shows %v", c.Config)
	}
	// Sent back as read, both are kept.
	if _, err := svc.Update(ctx, c.ID, Input{Name: "orders", Type: "fakedb", Config: c.Config}, "alice"); err != nil {
		t.Fatal(err)
	}
	_, cfg, err = svc.Resolve(ctx, "orders")
	if err != nil || cfg["password"] != "literal-"+canary || cfg["auth"].(map[string]any)["token"] != "file-"+canary {
		t.Fatalf("Resolve after a round trip: %v, %v", cfg, err)
	}
}

func TestReferenceCheck(t *testing.T) {
	ctx := context.Background()
	svc, _, _, dir := setupRefs(t)
	good, err := svc.Create(ctx, Input{Name: "good", Type: "fakedb", Config: map[string]any{"host": "h", "password": "vault://secret/db/orders#password"}}, "a")
	if err != nil {
		t.Fatal(err)
	}
	// fakeDB's Check fails quoting the password it was given: the resolved value, scrubbed.
	res, err := svc.Check(ctx, good.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Message != "login refused for password ******** at h" {
		t.Fatalf("Check message %q, want the resolved password scrubbed", res.Message)
	}

	tests := []struct {
		name, ref string
		want      error
	}{
		{"missing secret", "vault://secret/db/missing#password", secretref.ErrNotFound},
		{"missing key", "vault://secret/db/orders#nokey", secretref.ErrKeyMissing},
		{"outside file roots", "file:///etc/hostname", secretref.ErrRefused},
		{"missing file", "file://" + filepath.Join(dir, "none"), secretref.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := svc.Create(ctx, Input{Name: tt.name, Type: "fakedb", Config: map[string]any{"host": "h", "password": tt.ref}}, "a")
			if err != nil {
				t.Fatal(err)
			}
			res, err := svc.Check(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK || !strings.Contains(res.Message, tt.ref) || !strings.Contains(res.Message, "password") {
				t.Fatalf("Check = %+v, want a failure naming the field and %s", res, tt.ref)
			}
			_, _, err = svc.Resolve(ctx, tt.name)
			var re *RefError
			if !errors.As(err, &re) || !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.ref) {
				t.Fatalf("Resolve = %v, want a *RefError matching %v naming %s", err, tt.want, tt.ref)
			}
			if strings.Contains(err.Error(), canary) {
				t.Fatalf("the error shows a secret: %v", err)
			}
		})
	}
}

func TestReferenceUnreachable(t *testing.T) {
	ctx := context.Background()
	svc, _, v, _ := setupRefs(t)
	c, err := svc.Create(ctx, Input{Name: "down", Type: "fakedb", Config: map[string]any{"host": "h", "password": "vault://secret/db/orders#password"}}, "a")
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	res, err := svc.Check(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || !strings.Contains(res.Message, "vault://secret/db/orders#password: secret manager unreachable") {
		t.Fatalf("Check with Vault down = %+v", res)
	}
}

func TestMalformedReferenceRefused(t *testing.T) {
	svc, _, _, _ := setupRefs(t)
	_, err := svc.Create(context.Background(), Input{Name: "bad", Type: "fakedb", Config: map[string]any{"host": "h", "password": "vault://secret/db"}}, "a")
	var ie *InputError
	if !errors.As(err, &ie) || len(ie.Errs) != 1 || ie.Errs[0].Path != "password" || !strings.Contains(ie.Errs[0].Message, "#<key>") {
		t.Fatalf("Create with a malformed reference = %v", err)
	}
}

func mustGet(t *testing.T, svc *Service, id string) Connector {
	t.Helper()
	c, err := svc.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
