package api

import (
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/mysql"
	"github.com/dataaggregator/aggregator/internal/secretref/vaulttest"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

func TestSecretManagersAPI(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	admin := e.tokens[auth.RoleAdmin]
	v := vaulttest.New("vault-root-token-xyz")
	t.Cleanup(v.Close)
	v.Put("secret", "db", map[string]any{"password": "pw-value-xyz"})

	var got SecretManagerSettingsView
	e.do(http.MethodGet, "/api/v1/admin/settings/secret-managers", admin, nil).decode(t, &got)
	if got.Settings.CacheTTL != "5m0s" || got.Settings.Vault.Address != "" || got.UpdatedAt != nil {
		t.Fatalf("defaults = %+v", got)
	}
	body := SecretManagerSettings{Vault: VaultSettings{Address: v.URL, Auth: "token", Token: "vault-root-token-xyz"}, FileRoots: []string{"/run/secrets"}, CacheTTL: "1m"}
	r := e.do(http.MethodPut, "/api/v1/admin/settings/secret-managers", admin, body)
	if r.status != http.StatusOK || strings.Contains(string(r.body), "vault-root-token-xyz") {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	e.do(http.MethodGet, "/api/v1/admin/settings/secret-managers", e.tokens[auth.RoleDeveloper], nil).decode(t, &got)
	if got.Settings.Vault.Token != "********" || got.Settings.Vault.Address != v.URL || got.Settings.CacheTTL != "1m0s" || got.UpdatedBy != e.users[auth.RoleAdmin].Username {
		t.Fatalf("after put = %+v", got)
	}
	entries := e.auditEntries(store.AuditFilter{Action: "settings.secret_managers_update"})
	if len(entries) != 1 || entries[0].Result != "success" || strings.Contains(string(entries[0].Details), "vault-root-token-xyz") {
		t.Fatalf("audit = %+v", entries)
	}
	if r := e.do(http.MethodPut, "/api/v1/admin/settings/secret-managers", e.tokens[auth.RoleDesigner], body); r.status != http.StatusForbidden {
		t.Fatalf("a designer changed the settings: %d", r.status)
	}

	// Bad settings: one 422 naming each field.
	bad := SecretManagerSettings{Vault: VaultSettings{Address: "vault:8200", Auth: "ldap"}, FileRoots: []string{"relative"}, CacheTTL: "1m"}
	r = e.do(http.MethodPut, "/api/v1/admin/settings/secret-managers", admin, bad)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad put: %d %s", r.status, r.body)
	}
	locs := map[string]bool{}
	for _, d := range r.problem(t).Errors {
		locs[d.Location] = true
	}
	for _, l := range []string{"body.vault.address", "body.vault.auth", "body.file_roots[0]"} {
		if !locs[l] {
			t.Errorf("no error at %s: %s", l, r.body)
		}
	}

	// Test: resolves with the settings as edited (the stored token kept), never showing the value.
	var res SecretManagerTestResult
	shown := got.Settings
	e.do(http.MethodPost, "/api/v1/admin/settings/secret-managers/test", admin, SecretManagerTest{Settings: shown, Reference: "vault://secret/db#password"}).decode(t, &res)
	if !res.OK || strings.Contains(res.Message, "pw-value-xyz") {
		t.Fatalf("test = %+v", res)
	}
	e.do(http.MethodPost, "/api/v1/admin/settings/secret-managers/test", admin, SecretManagerTest{Settings: shown, Reference: "vault://secret/nope#password"}).decode(t, &res)
	if res.OK || res.Message != "secret reference vault://secret/nope#password: not found" {
		t.Fatalf("test of a missing secret = %+v", res)
	}
	if r := e.do(http.MethodPost, "/api/v1/admin/settings/secret-managers/test", admin, SecretManagerTest{Settings: shown, Reference: "hunter2"}); r.status != http.StatusUnprocessableEntity || strings.Contains(string(r.body), "hunter2") {
		t.Fatalf("test of a literal: %d %s", r.status, r.body)
	}
}

// A MariaDB connector whose password lives in a Vault-compatible server runs a pipeline; the
// password is in a user created with it, so a wrong one fails the login.
func TestSecretRefPipelineMariaDB(t *testing.T) {
	t.Parallel()
	my := testutil.MySQL(t)
	e := setup(t, setupOptions{connectors: []connector.Connector{mysql.New()}})
	admin, designer := e.tokens[auth.RoleAdmin], e.tokens[auth.RoleDesigner]

	user, password := "refs_"+my.Database[len(my.Database)-8:], "Vault-Pw-9931"
	db, err := sql.Open("mysql", my.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(10,2))",
		"INSERT INTO orders VALUES (1, 1.50), (2, 2.50), (3, 3.50)",
		"DROP USER IF EXISTS '" + user + "'@'%'",
		"CREATE USER '" + user + "'@'%' IDENTIFIED BY '" + password + "'",
		"GRANT SELECT ON " + my.Database + ".* TO '" + user + "'@'%'",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() { _, _ = db.Exec("DROP USER IF EXISTS '" + user + "'@'%'") })

	v := vaulttest.New("root-token")
	t.Cleanup(v.Close)
	v.AddAppRole("aggregator", "approle-secret")
	v.Put("secret", "warehouse", map[string]any{"password": password})
	roots := t.TempDir()
	if r := e.do(http.MethodPut, "/api/v1/admin/settings/secret-managers", admin, SecretManagerSettings{
		Vault:     VaultSettings{Address: v.URL, Auth: "approle", RoleID: "aggregator", SecretID: "approle-secret"},
		FileRoots: []string{roots}, CacheTTL: "1m"}); r.status != http.StatusOK {
		t.Fatalf("settings: %d %s", r.status, r.body)
	}
	outside := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(outside, []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}

	create := func(name, ref string) Connector {
		t.Helper()
		r := e.do(http.MethodPost, "/api/v1/connectors", designer, map[string]any{"name": name, "type": "mysql",
			"config": map[string]any{"host": "127.0.0.1", "port": 3306, "user": user, "password": ref, "database": my.Database}})
		if r.status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, r.status, r.body)
		}
		var c Connector
		r.decode(t, &c)
		if want := ref; strings.Contains(ref, "://") && c.Config["password"] != want {
			t.Fatalf("the connector shows its password as %v, want the reference %s", c.Config["password"], ref)
		}
		return c
	}
	check := func(c Connector) CheckResult {
		t.Helper()
		var res CheckResult
		e.do(http.MethodPost, "/api/v1/connectors/"+c.ID+"/check", designer, nil).decode(t, &res)
		return res
	}
	run := func(name string) Run {
		t.Helper()
		spec := fmt.Sprintf(`version: 1
name: from-%s
sources:
  - id: src
    connector: %s
    config: {table: orders}
destinations:
  - id: out
    type: csv
    inputs: [src]
    config: {path: out-%s.csv}
    write: {mode: overwrite}
`, name, name, name)
		r := e.do(http.MethodPost, "/api/v1/pipelines", designer, spec, "Content-Type", "application/yaml")
		if r.status != http.StatusCreated {
			t.Fatalf("pipeline: %d %s", r.status, r.body)
		}
		var p Pipeline
		r.decode(t, &p)
		var rn Run
		e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", designer, nil).decode(t, &rn)
		return e.awaitRun(rn.ID)
	}

	good := create("warehouse", "vault://secret/warehouse#password")
	if res := check(good); !res.OK {
		t.Fatalf("check: %+v", res)
	}
	if rn := run("warehouse"); rn.Status != "succeeded" || nodesByID(rn)["out"].Out != 3 {
		t.Fatalf("run: %+v", rn)
	}
	out, err := os.ReadFile(filepath.Join(e.data.files, "out-warehouse.csv"))
	if err != nil || !strings.Contains(string(out), "3,3.50") {
		t.Fatalf("output %q, %v", out, err)
	}

	// A literal wrong password proves the login checks it.
	wrong := create("wrong", "not-the-password")
	if res := check(wrong); res.OK {
		t.Fatalf("a wrong password passed the check: %+v", res)
	}

	for name, tc := range map[string]struct{ ref, want string }{
		"missing": {"vault://secret/warehouse#nokey", "key missing"},
		"gone":    {"vault://secret/nothing#password", "not found"},
		"outside": {"file://" + outside, "outside the allowed file roots"},
	} {
		c := create(name, tc.ref)
		res := check(c)
		want := fmt.Sprintf(`saved connector %q: password: secret reference %s: `, name, tc.ref)
		if res.OK || !strings.HasPrefix(res.Message, want) || !strings.Contains(res.Message, tc.want) {
			t.Errorf("%s: check = %+v, want a failure starting %q", name, res, want)
		}
		rn := run(name)
		if rn.Status != "failed" || !strings.Contains(rn.Error, tc.ref) || strings.Contains(rn.Error, password) {
			t.Errorf("%s: run %s: %q, want failed naming %s", name, rn.Status, rn.Error, tc.ref)
		}
	}

	// Vault down: the check and the run fail naming the reference (the cached value expired).
	v.Close()
	down := create("down", "vault://secret/other#password")
	if res := check(down); res.OK || !strings.Contains(res.Message, "vault://secret/other#password: secret manager unreachable") {
		t.Fatalf("check with Vault down: %+v", res)
	}
	if rn := run("down"); rn.Status != "failed" || !strings.Contains(rn.Error, "vault://secret/other#password: secret manager unreachable") {
		t.Fatalf("run with Vault down: %s %q", rn.Status, rn.Error)
	}
}
