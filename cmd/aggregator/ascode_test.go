package main

import (
	"database/sql"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/dataaggregator/aggregator/internal/config"
)

// ascodeServer starts a server with an admin API token.
func ascodeServer(t *testing.T) (*server, string) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.FileRoots = t.TempDir(), []string{t.TempDir()}
	cfg.AdminPassword = "Ascode-Passw0rd-1"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv := serveFor(t, cfg)
	var tok struct{ Token string }
	srv.call(http.MethodPost, "/api/v1/auth/tokens", "application/json", `{"name":"ci"}`, &tok)
	return srv, tok.Token
}

// mariaUser creates a MariaDB user with a password, so that a connector's check proves which
// password it was given.
func mariaUser(t *testing.T, user, password string) {
	t.Helper()
	db, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/test")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"DROP USER IF EXISTS '" + user + "'@'%'",
		"CREATE USER '" + user + "'@'%' IDENTIFIED BY '" + password + "'",
		"GRANT SELECT ON test.* TO '" + user + "'@'%'",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		if db, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/test"); err == nil {
			db.Exec("DROP USER IF EXISTS '" + user + "'@'%'")
			db.Close()
		}
	})
}

const ascodeOrders = `version: 1
name: orders-daily
description: orders into the warehouse
sources:
  - id: in
    type: csv
    config: {path: orders.csv}
transforms:
  - id: big
    transformation: Big Orders
    inputs: [in]
destinations:
  - id: out
    connector: warehouse
    inputs: [big]
    config: {table: orders}
schedule: {cron: "0 6 * * *"}
`

const ascodeAfter = `version: 1
name: orders-report
sources:
  - id: in
    type: csv
    config: {path: orders.csv}
destinations:
  - id: out
    type: csv
    inputs: [in]
    config: {path: report.csv}
triggers: {after: [orders-daily]}
`

// TestPipelinesAsCode: export from one server, plan and apply into an empty second one (secrets
// from the environment, never in files), a second apply changes nothing, an edited file is one
// update with its diff, a change in the web app shows as drift until export writes it back and
// apply marks it again, --prune deletes, and a directory with bad files changes nothing and names
// every problem with its file, line and column.
func TestPipelinesAsCode(t *testing.T) {
	const password = "Maria-Secret-42"
	mariaUser(t, "ascode", password)
	a, tokA := ascodeServer(t)
	var conn, tr, p1, p2 struct{ ID string }
	a.call(http.MethodPost, "/api/v1/connectors", "application/json",
		`{"name":"warehouse","type":"mysql","description":"the shop's MariaDB","config":{"host":"127.0.0.1","port":3306,"user":"ascode","password":"`+password+`","database":"test"}}`, &conn)
	a.call(http.MethodPost, "/api/v1/transformations", "application/json", `{"name":"Big Orders","type":"filter","config":{"expression":"amount > 100"}}`, &tr)
	a.call(http.MethodPost, "/api/v1/pipelines", "application/yaml", ascodeOrders, &p1)
	a.call(http.MethodPost, "/api/v1/pipelines", "application/yaml", ascodeAfter, &p2)

	dir := t.TempDir()
	t.Setenv("AGGREGATOR_TOKEN", tokA)
	out, _, err := run(t, "", "export", "--dir", dir, "--server", a.base)
	if err != nil || !strings.Contains(out, "wrote 4 files") || !strings.Contains(out, "WAREHOUSE_PASSWORD") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	connFile := readFile(t, filepath.Join(dir, "connectors", "warehouse.yaml"))
	if !strings.Contains(connFile, "password: ${WAREHOUSE_PASSWORD}") || !strings.Contains(connFile, "user: ascode") {
		t.Fatalf("connector file:\n%s", connFile)
	}
	if got := readFile(t, filepath.Join(dir, "pipelines", "orders-daily.yaml")); got != ascodeOrders {
		t.Fatalf("the pipeline file is not the spec as written:\n%s", got)
	}
	if got := readFile(t, filepath.Join(dir, "transformations", "big-orders.yaml")); !strings.Contains(got, "expression: amount > 100") {
		t.Fatalf("transformation file:\n%s", got)
	}
	assertNoSecretIn(t, dir, password)

	// An empty server: without the variable, a new connector cannot be created, and nothing is.
	b, tokB := ascodeServer(t)
	t.Setenv("AGGREGATOR_TOKEN", tokB)
	t.Setenv("AGGREGATOR_SERVER", b.base)
	out, _, err = run(t, "", "apply", "--dir", dir)
	if err == nil || !regexp.MustCompile(`connectors/warehouse\.yaml:\d+:\d+: config\.password: \$\{WAREHOUSE_PASSWORD\}: it is not set`).MatchString(out) {
		t.Fatalf("apply without the secret: %v\n%s", err, out)
	}
	assertCount(t, b, "connectors", 0)
	assertCount(t, b, "pipelines", 0)

	t.Setenv("WAREHOUSE_PASSWORD", password)
	out, _, err = run(t, "", "plan", "--dir", dir, "--exit-code")
	var ex errExit
	if !errors.As(err, &ex) || ex.code != 2 || !strings.Contains(out, "Plan: 4 to create, 0 to update") {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	out, _, err = run(t, "", "apply", "--dir", dir)
	if err != nil || !strings.Contains(out, "Applied: 4 created, 0 updated, 0 deleted.") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	// The first pipeline was created before the one that runs after it.
	if i, j := strings.Index(out, "created pipeline orders-daily"), strings.Index(out, "created pipeline orders-report"); i < 0 || j < i {
		t.Fatalf("pipelines out of order:\n%s", out)
	}
	// The password from the environment arrived: the check connects as ascode.
	bConn := findByName(t, b, "connectors", "warehouse")
	var check struct {
		OK      bool   `json:"ok"`
		Message string `json:"message"`
	}
	b.call(http.MethodPost, "/api/v1/connectors/"+bConn+"/check", "", "", &check)
	if !check.OK {
		t.Fatalf("check of the applied connector: %+v", check)
	}
	var got struct {
		SpecText string `json:"spec_text"`
		Managed  *struct {
			Path    string
			Drifted *bool
		}
	}
	bPipe := findByName(t, b, "pipelines", "orders-daily")
	b.call(http.MethodGet, "/api/v1/pipelines/"+bPipe, "", "", &got)
	if got.SpecText != ascodeOrders || got.Managed == nil || got.Managed.Path != "pipelines/orders-daily.yaml" || got.Managed.Drifted == nil || *got.Managed.Drifted {
		t.Fatalf("applied pipeline: %+v", got)
	}

	// Idempotent.
	out, _, err = run(t, "", "apply", "--dir", dir)
	if err != nil || !strings.Contains(out, "Plan: 0 to create, 0 to update, 0 only on the server") || !strings.Contains(out, "Applied: 0 created, 0 updated") {
		t.Fatalf("second apply: %v\n%s", err, out)
	}
	if _, _, err := run(t, "", "plan", "--dir", dir, "--exit-code"); err != nil {
		t.Fatalf("plan --exit-code after apply: %v", err)
	}

	// An edited file: one update, with its diff.
	edited := strings.Replace(ascodeOrders, "orders into the warehouse", "orders into the warehouse, daily", 1)
	writeFile(t, filepath.Join(dir, "pipelines", "orders-daily.yaml"), edited)
	out, _, err = run(t, "", "plan", "--dir", dir)
	if err != nil || !strings.Contains(out, "~ pipeline orders-daily (pipelines/orders-daily.yaml): update") ||
		!strings.Contains(out, "+description: orders into the warehouse, daily") || !strings.Contains(out, "-description: orders into the warehouse\n") {
		t.Fatalf("plan of an edit: %v\n%s", err, out)
	}
	if out, _, err = run(t, "", "apply", "--dir", dir); err != nil || !strings.Contains(out, "Applied: 0 created, 1 updated") {
		t.Fatalf("apply of an edit: %v\n%s", err, out)
	}

	// A change on the server (the web app): drift, until export writes it back and apply marks it.
	uiEdit := strings.Replace(edited, `cron: "0 6 * * *"`, `cron: "0 7 * * *"`, 1)
	b.call(http.MethodPut, "/api/v1/pipelines/"+bPipe, "application/yaml", uiEdit, nil)
	b.call(http.MethodGet, "/api/v1/pipelines/"+bPipe, "", "", &got)
	if got.Managed == nil || got.Managed.Drifted == nil || !*got.Managed.Drifted {
		t.Fatalf("a change after apply is not drift: %+v", got.Managed)
	}
	out, _, _ = run(t, "", "plan", "--dir", dir)
	if !strings.Contains(out, "changed in the web app or the API since the last apply") || !strings.Contains(out, `+schedule: {cron: "0 6 * * *"}`) {
		t.Fatalf("plan of a drifted pipeline:\n%s", out)
	}
	if out, _, err = run(t, "", "export", "--dir", dir); err != nil {
		t.Fatalf("export back: %v\n%s", err, out)
	}
	if readFile(t, filepath.Join(dir, "pipelines", "orders-daily.yaml")) != uiEdit {
		t.Fatal("export did not write the web app's change back to the file")
	}
	out, _, err = run(t, "", "apply", "--dir", dir)
	if err != nil || !strings.Contains(out, "unchanged; marked as managed from its file") {
		t.Fatalf("apply after export: %v\n%s", err, out)
	}
	b.call(http.MethodGet, "/api/v1/pipelines/"+bPipe, "", "", &got)
	if *got.Managed.Drifted {
		t.Fatal("still drifted after export and apply")
	}

	// Prune: a removed file deletes its object only with --prune.
	if err := os.Remove(filepath.Join(dir, "pipelines", "orders-report.yaml")); err != nil {
		t.Fatal(err)
	}
	out, _, _ = run(t, "", "apply", "--dir", dir)
	if !strings.Contains(out, "- pipeline orders-report: only on the server") {
		t.Fatalf("apply without --prune:\n%s", out)
	}
	assertCount(t, b, "pipelines", 2)
	if out, _, err = run(t, "", "apply", "--dir", dir, "--prune"); err != nil || !strings.Contains(out, "deleted pipeline orders-report") {
		t.Fatalf("apply --prune: %v\n%s", err, out)
	}
	assertCount(t, b, "pipelines", 1)

	// Bad files: every problem named with its place, and nothing changes.
	writeFile(t, filepath.Join(dir, "connectors", "warehouse.yaml"), strings.Replace(connFile, "user: ascode", "user: ascode\n  colour: blue", 1))
	writeFile(t, filepath.Join(dir, "transformations", "broken.yaml"), "name: Broken\ntype: filter\nconfig: {expression: \"amount >\"}\nextra: 1\n")
	writeFile(t, filepath.Join(dir, "pipelines", "bad.yaml"), "version: 1\nname: bad\nsources: [\n")
	writeFile(t, filepath.Join(dir, "pipelines", "orders-daily.yaml"), strings.Replace(uiEdit, "description:", "descripton:", 1))
	out, _, err = run(t, "", "apply", "--dir", dir)
	for _, want := range []string{
		`transformations/broken.yaml:4:1: extra: unknown key`,
		`pipelines/bad.yaml:3:`,
		`pipelines/orders-daily.yaml:3:1: descripton:`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("apply of bad files does not say %q:\n%s", want, out)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("apply of bad files: %v", err)
	}
	assertCount(t, b, "transformations", 1)
	// The connector's unknown config key is found once the files parse.
	for _, f := range []string{"transformations/broken.yaml", "pipelines/bad.yaml"} {
		os.Remove(filepath.Join(dir, f))
	}
	writeFile(t, filepath.Join(dir, "pipelines", "orders-daily.yaml"), uiEdit)
	out, _, err = run(t, "", "apply", "--dir", dir)
	if err == nil || !regexp.MustCompile(`connectors/warehouse\.yaml:\d+:\d+: config\.colour: `).MatchString(out) {
		t.Fatalf("apply of a connector with an unknown key: %v\n%s", err, out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertNoSecretIn(t *testing.T, dir, secret string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		if strings.Contains(readFile(t, p), secret) {
			t.Errorf("%s holds the secret", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func assertCount(t *testing.T, s *server, kind string, want int) {
	t.Helper()
	var page struct{ Total int }
	s.call(http.MethodGet, "/api/v1/"+kind, "", "", &page)
	if page.Total != want {
		t.Fatalf("%s on the server: %d, want %d", kind, page.Total, want)
	}
}

func findByName(t *testing.T, s *server, kind, name string) string {
	t.Helper()
	var page struct {
		Items []struct{ ID, Name string }
	}
	s.call(http.MethodGet, "/api/v1/"+kind+"?per_page=200", "", "", &page)
	for _, it := range page.Items {
		if it.Name == name {
			return it.ID
		}
	}
	t.Fatalf("no %s named %s", kind, name)
	return ""
}
