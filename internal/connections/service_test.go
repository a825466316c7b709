package connections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/secrets"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

const (
	keyA   = "0123456789abcdef0123456789abcdef-key-a"
	keyB   = "fedcba9876543210fedcba9876543210-key-b"
	canary = "canary-Zq81-secret"
)

// fakeDB is a connector type with a secret password and a nested secret token; its Check fails
// quoting the password, as a careless driver might.
type fakeDB struct{}

func (fakeDB) Spec() connector.Spec {
	return connector.Spec{Name: "fakedb", Source: true, Config: configspec.Spec{Params: []configspec.Param{
		{Name: "host", Type: configspec.String, Required: true},
		{Name: "password", Type: configspec.String, Secret: true},
		{Name: "auth", Type: configspec.Object, Fields: []configspec.Param{
			{Name: "user", Type: configspec.String},
			{Name: "token", Type: configspec.String, Secret: true},
		}},
	}}}
}

func (fakeDB) Check(_ context.Context, _ connector.Env, cfg map[string]any) error {
	return fmt.Errorf("login refused for password %v at %v", cfg["password"], cfg["host"])
}

type setupOpts struct {
	postgres bool
	keys     *secrets.Keyring
}

type env struct {
	svc *Service
	st  *store.Store
}

func setup(t *testing.T, o setupOpts) env {
	t.Helper()
	opts := store.Options{Dialect: store.SQLite, DSN: filepath.Join(t.TempDir(), "meta.db")}
	if o.postgres {
		opts = store.Options{Dialect: store.Postgres, DSN: testutil.Postgres(t).URL}
	}
	st := storetest.Open(t, opts)
	return env{svc: newService(t, st, o.keys), st: st}
}

func newService(t *testing.T, st *store.Store, keys *secrets.Keyring) *Service {
	t.Helper()
	reg, err := connector.NewRegistry(fakeDB{})
	if err != nil {
		t.Fatal(err)
	}
	if keys == nil {
		keys = keyring(t, keyA)
	}
	svc, err := New(Options{Store: st, Connectors: reg, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func keyring(t *testing.T, cur string, prev ...string) *secrets.Keyring {
	t.Helper()
	k, err := secrets.NewKeyring(cur, prev...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func eachBackend(t *testing.T, f func(t *testing.T, o setupOpts)) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, setupOpts{postgres: pg})
		})
	}
}

var bg = context.Background()

func TestSecretsSealedRedactedAndKept(t *testing.T) { eachBackend(t, testSecretsSealedRedactedAndKept) }

func testSecretsSealedRedactedAndKept(t *testing.T, o setupOpts) {
	e := setup(t, o)
	in := Input{Name: "warehouse", Type: "fakedb", Config: map[string]any{
		"host": "db.internal", "password": canary, "auth": map[string]any{"user": "app", "token": canary + "-token"}}}
	c, err := e.svc.Create(bg, in, "alice")
	if err != nil {
		t.Fatal(err)
	}
	wantView := map[string]any{"host": "db.internal", "password": configspec.Redacted,
		"auth": map[string]any{"user": "app", "token": configspec.Redacted}}
	assertJSON(t, "create result", c.Config, wantView)

	// The store holds neither secret in clear, and the sealed value is bound to the row.
	row, err := e.st.GetConnector(bg, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(row.Config), "canary") || strings.Contains(row.Secrets, "canary") {
		t.Fatalf("stored row shows the secret: config %s secrets %s", row.Config, row.Secrets)
	}
	if row.Secrets == "" || row.SecretsKeyID != keyring(t, keyA).CurrentID() {
		t.Fatalf("secrets not sealed under the current key: %q %q", row.Secrets, row.SecretsKeyID)
	}

	got, err := e.svc.Get(bg, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, "get", got.Config, wantView)
	typ, full, err := e.svc.Resolve(bg, "WAREHOUSE")
	if err != nil || typ != "fakedb" {
		t.Fatalf("resolve: %s %v", typ, err)
	}
	assertJSON(t, "resolved config", full, in.Config)

	// An update that sends back what it read (or leaves a secret out) keeps the stored secrets.
	if _, err := e.svc.Update(bg, c.ID, Input{Name: "warehouse", Type: "fakedb", Config: map[string]any{
		"host": "db2.internal", "auth": map[string]any{"user": "app", "token": configspec.Redacted}}}, "bob"); err != nil {
		t.Fatal(err)
	}
	_, full, _ = e.svc.Resolve(bg, "warehouse")
	assertJSON(t, "after an update keeping secrets", full, map[string]any{
		"host": "db2.internal", "password": canary, "auth": map[string]any{"user": "app", "token": canary + "-token"}})
	// A new value replaces the old one.
	if _, err := e.svc.Update(bg, c.ID, Input{Name: "warehouse", Type: "fakedb", Config: map[string]any{
		"host": "db2.internal", "password": "new-pass-value"}}, "bob"); err != nil {
		t.Fatal(err)
	}
	_, full, _ = e.svc.Resolve(bg, "warehouse")
	if full["password"] != "new-pass-value" {
		t.Fatalf("password after replacing it: %v", full["password"])
	}

	// Check's message does not repeat the secret the connector quoted.
	res, err := e.svc.Check(bg, c.ID)
	if err != nil || res.OK || strings.Contains(res.Message, "new-pass-value") || !strings.Contains(res.Message, "db2.internal") {
		t.Fatalf("check: %+v %v", res, err)
	}

	// Delete purges config and secrets from the kept row.
	if err := e.svc.Delete(bg, c.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	var cfg, sealed, keyID string
	if err := e.st.DB().QueryRowContext(bg, `SELECT CAST(config AS TEXT), secrets, secrets_key_id FROM connectors WHERE id = $1`, c.ID).
		Scan(&cfg, &sealed, &keyID); err != nil {
		t.Fatal(err)
	}
	if cfg != "{}" || sealed != "" || keyID != "" {
		t.Fatalf("deleted connector kept config %s, secrets %q, key id %q", cfg, sealed, keyID)
	}
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{})
	_, err := e.svc.Create(bg, Input{Name: "x", Type: "nope"}, "a")
	var ie *InputError
	if !errors.As(err, &ie) || ie.Field != "type" {
		t.Fatalf("unknown type: %v", err)
	}
	_, err = e.svc.Create(bg, Input{Name: "x", Type: "fakedb", Config: map[string]any{"password": 5}}, "a")
	if !errors.As(err, &ie) || ie.Field != "config" || len(ie.Errs) != 2 {
		t.Fatalf("bad config: %v", err)
	}
}

func TestWrongKeyIsRefusedAndNamed(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{})
	if _, err := e.svc.Create(bg, Input{Name: "warehouse", Type: "fakedb", Config: map[string]any{"host": "h", "password": canary}}, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Create(bg, Input{Name: "plain", Type: "fakedb", Config: map[string]any{"host": "h"}}, "a"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Verify(bg); err != nil {
		t.Fatalf("verify with the right key: %v", err)
	}
	wrong := newService(t, e.st, keyring(t, keyB))
	err := wrong.Verify(bg)
	var km *KeyMismatchError
	if !errors.As(err, &km) || !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "1 saved connector(s)") ||
		!strings.Contains(err.Error(), keyring(t, keyA).CurrentID()) {
		t.Fatalf("verify with a wrong key: %v", err)
	}
	if strings.Contains(err.Error(), keyA) || strings.Contains(err.Error(), keyB) {
		t.Fatalf("error shows key material: %v", err)
	}
	// At use, the error names the connector.
	if _, _, err := wrong.Resolve(bg, "warehouse"); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `saved connector "warehouse"`) {
		t.Fatalf("resolve with a wrong key: %v", err)
	}
	// A connector without secrets needs no key.
	if _, _, err := wrong.Resolve(bg, "plain"); err != nil {
		t.Fatal(err)
	}
}

func TestRotate(t *testing.T) { eachBackend(t, testRotate) }

func testRotate(t *testing.T, o setupOpts) {
	e := setup(t, o)
	for i := range 3 {
		if _, err := e.svc.Create(bg, Input{Name: fmt.Sprintf("c%d", i), Type: "fakedb", Config: map[string]any{"host": "h", "password": fmt.Sprintf("%s-%d", canary, i)}}, "a"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.Create(bg, Input{Name: "nosecret", Type: "fakedb", Config: map[string]any{"host": "h"}}, "a"); err != nil {
		t.Fatal(err)
	}
	// A row an earlier version stored with its secret in the config.
	legacyCfg, _ := json.Marshal(map[string]any{"host": "h", "password": canary + "-legacy"})
	if _, err := e.st.CreateConnector(bg, store.Connector{Name: "legacy", Type: "fakedb", Config: legacyCfg}); err != nil {
		t.Fatal(err)
	}

	// At start, a server seals the plain-text row and leaves the sealed ones alone.
	rep, err := e.svc.SealPlaintext(bg)
	if err != nil || rep.Sealed != 1 || rep.Resealed != 0 || rep.NoSecrets != 1 {
		t.Fatalf("seal plaintext: %+v %v", rep, err)
	}
	row, _ := e.st.GetConnectorByName(bg, "legacy")
	if strings.Contains(string(row.Config), "canary") || row.Secrets == "" {
		t.Fatalf("legacy row not sealed: %s", row.Config)
	}

	// Nodes rolled to the new key keep reading the old one through the previous key.
	rolled := newService(t, e.st, keyring(t, keyB, keyA))
	if err := rolled.Verify(bg); err != nil {
		t.Fatal(err)
	}
	rep, err = rolled.Rotate(bg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resealed != 4 || rep.Sealed != 0 || rep.NoSecrets != 1 || rep.Current != 0 || len(rep.Failed) != 0 {
		t.Fatalf("rotate report: %+v", rep)
	}
	ids, err := e.st.ConnectorKeyIDs(bg)
	if err != nil || len(ids) != 1 || ids[keyring(t, keyB).CurrentID()] != 4 {
		t.Fatalf("key ids after rotation: %v %v", ids, err)
	}
	// The old key is no longer needed, the values are intact, the legacy row is sealed.
	onlyNew := newService(t, e.st, keyring(t, keyB))
	if err := onlyNew.Verify(bg); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, cfg, err := onlyNew.Resolve(bg, fmt.Sprintf("c%d", i)); err != nil || cfg["password"] != fmt.Sprintf("%s-%d", canary, i) {
			t.Fatalf("c%d after rotation: %v %v", i, cfg, err)
		}
	}
	if _, cfg, err := onlyNew.Resolve(bg, "legacy"); err != nil || cfg["password"] != canary+"-legacy" {
		t.Fatalf("legacy after sealing: %v %v", cfg, err)
	}
	// A second rotation finds everything current.
	rep, err = onlyNew.Rotate(bg)
	if err != nil || rep.Current != 4 || rep.Resealed+rep.Sealed != 0 {
		t.Fatalf("second rotation: %+v %v", rep, err)
	}
	// Without the previous key a rotation cannot open old values, and says which.
	if _, err := e.svc.Create(bg, Input{Name: "late", Type: "fakedb", Config: map[string]any{"host": "h", "password": "p-late"}}, "a"); err != nil {
		t.Fatal(err)
	}
	rep, _ = onlyNew.Rotate(bg)
	if len(rep.Failed) != 1 || !strings.Contains(rep.Failed[0].Error(), `saved connector "late"`) || !errors.Is(rep.Failed[0], secrets.ErrUnknownKey) {
		t.Fatalf("rotation without the old key: %+v", rep)
	}
}

func TestSealedValueBelongsToItsRow(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{})
	a, _ := e.svc.Create(bg, Input{Name: "a", Type: "fakedb", Config: map[string]any{"host": "h", "password": "pa"}}, "x")
	b, _ := e.svc.Create(bg, Input{Name: "b", Type: "fakedb", Config: map[string]any{"host": "h", "password": "pb"}}, "x")
	rowA, _ := e.st.GetConnector(bg, a.ID)
	// Copy a's sealed secrets onto b: b must not open them.
	if _, err := e.st.DB().ExecContext(bg, `UPDATE connectors SET secrets = $1 WHERE id = $2`, rowA.Secrets, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Resolve(bg, "b"); !errors.Is(err, secrets.ErrCorrupt) || !strings.Contains(err.Error(), `"b"`) {
		t.Fatalf("swapped secrets: %v", err)
	}
}

func assertJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}
