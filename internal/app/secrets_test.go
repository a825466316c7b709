package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/internal/secrets"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// session signs in as admin and records every response body it receives.
type session struct {
	t         *testing.T
	base      string
	token     string
	responses bytes.Buffer
}

func signIn(t *testing.T, r *running, password string) *session {
	t.Helper()
	s := &session{t: t, base: r.base}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.call(http.MethodPost, "/api/v1/auth/login", map[string]any{"login": "admin", "password": password}, &login); st != http.StatusOK {
		t.Fatalf("login: %d", st)
	}
	s.token = login.AccessToken
	return s
}

// call sends body (JSON, or a string as YAML), decodes the response into out and returns the status.
func (s *session) call(method, path string, body, out any) int {
	s.t.Helper()
	var payload io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		payload, ctype = strings.NewReader(b), "application/yaml"
	default:
		raw, _ := json.Marshal(b)
		payload = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, s.base+path, payload)
	req.Header.Set("Content-Type", ctype)
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	fmt.Fprintf(&s.responses, "%s %s -> %d\n%s\n%s\n", method, path, res.StatusCode, res.Header, raw)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
		}
	}
	return res.StatusCode
}

// TestCanarySecretFoundNowhere saves a connector with a canary password through the API, then
// creates, reads, lists, updates, checks, discovers and runs with it, and looks for the canary in
// the metadata store's files (SQLite: the database, its WAL and every file in DATA_DIR;
// PostgreSQL: a pg_dump of the store's schema), in the logs and in every API response.
func TestCanarySecretFoundNowhere(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testCanary(t, pg)
		})
	}
}

func testCanary(t *testing.T, pgStore bool) {
	const canary = "Canary-7d41-Never-Stored"
	cfg := testConfig(t)
	cfg.LogLevel = "debug"
	cfg.AdminPassword = "Canary-Owner-Passw0rd-1"
	files := t.TempDir()
	cfg.FileRoots = []string{files}
	var meta testutil.PG
	if pgStore {
		meta = testutil.Postgres(t)
		cfg.DatabaseURL = meta.URL
	}
	dest := testutil.Postgres(t) // the destination's schema (trust auth: any password connects)
	if out, err := exec.Command("psql", "-v", "ON_ERROR_STOP=1", "-c", "CREATE TABLE "+dest.Schema+".canary_out (id BIGINT, name TEXT)", dest.BaseURL).CombinedOutput(); err != nil {
		t.Fatalf("create the destination table: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(files, "in.csv"), []byte("id,name\n1,a\n2,b\n3,c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := start(t, cfg, Options{})
	s := signIn(t, r, cfg.AdminPassword)

	config := map[string]any{"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": canary,
		"database": "test", "ssl_mode": "disable", "schema": dest.Schema, "table": "canary_out"}
	var c struct {
		ID     string
		Config map[string]any
	}
	if st := s.call(http.MethodPost, "/api/v1/connectors", map[string]any{"name": "wh", "type": "postgres", "config": config}, &c); st != http.StatusCreated {
		t.Fatalf("create connector: %d", st)
	}
	if st := s.call(http.MethodGet, "/api/v1/connectors/"+c.ID, nil, &c); st != http.StatusOK || c.Config["password"] != "********" {
		t.Fatalf("read connector: %d %v", st, c.Config)
	}
	s.call(http.MethodGet, "/api/v1/connectors", nil, nil)
	c.Config["application_name"] = "canary-test"
	if st := s.call(http.MethodPut, "/api/v1/connectors/"+c.ID, map[string]any{"name": "wh", "type": "postgres", "config": c.Config}, nil); st != http.StatusOK {
		t.Fatalf("update connector: %d", st)
	}
	var check struct {
		OK      bool
		Message string
	}
	if st := s.call(http.MethodPost, "/api/v1/connectors/"+c.ID+"/check", nil, &check); st != http.StatusOK || !check.OK {
		t.Fatalf("check: %d %+v (the kept password must still connect)", st, check)
	}
	s.call(http.MethodPost, "/api/v1/connectors/"+c.ID+"/discover", nil, nil)
	spec := `version: 1
name: canary
sources:
  - {id: src, type: csv, config: {path: in.csv}}
destinations:
  - {id: out, connector: wh, inputs: [src], write: {mode: append}}
`
	var p struct{ ID string }
	if st := s.call(http.MethodPost, "/api/v1/pipelines", spec, &p); st != http.StatusCreated {
		t.Fatalf("create pipeline: %d\n%s", st, s.responses.String())
	}
	s.call(http.MethodGet, "/api/v1/pipelines/"+p.ID, nil, nil)
	var run struct{ ID, Status, Error string }
	if st := s.call(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", nil, &run); st != http.StatusAccepted {
		t.Fatalf("run: %d", st)
	}
	deadline := time.Now().Add(30 * time.Second)
	for run.Status != "succeeded" && run.Status != "failed" && run.Status != "cancelled" {
		if time.Now().After(deadline) {
			t.Fatalf("run still %s after 30s", run.Status)
		}
		time.Sleep(20 * time.Millisecond) // bounded poll of the REST status
		s.call(http.MethodGet, "/api/v1/runs/"+run.ID, nil, &run)
	}
	if run.Status != "succeeded" {
		t.Fatalf("run: %+v", run)
	}
	s.call(http.MethodGet, "/api/v1/runs/"+run.ID+"/logs", nil, nil)
	s.call(http.MethodGet, "/api/v1/audit", nil, nil)

	var places []string
	look := func(where string, data []byte) {
		if bytes.Contains(data, []byte(canary)) {
			places = append(places, where)
		}
	}
	// While the server runs (the WAL holds the latest writes), and after it stopped.
	scanStore := func(when string) {
		if pgStore {
			out, err := exec.Command("pg_dump", "--schema="+meta.Schema, testutil.PostgresURL()).CombinedOutput()
			if err != nil {
				t.Fatalf("pg_dump: %v\n%s", err, out)
			}
			if !bytes.Contains(out, []byte("CREATE TABLE "+meta.Schema+".connectors")) {
				t.Fatalf("pg_dump did not dump the store's schema:\n%.500s", out)
			}
			look("pg_dump of the store "+when, out)
			return
		}
		seen := map[string]bool{}
		err := filepath.WalkDir(cfg.DataDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			seen[d.Name()] = true
			look(path+" "+when, data)
			return nil
		})
		if err != nil || !seen["aggregator.db"] || (when == "while running" && !seen["aggregator.db-wal"]) {
			t.Fatalf("scan DATA_DIR %s: %v (files %v)", when, err, seen)
		}
	}
	scanStore("while running")
	r.stop(t)
	scanStore("after stopping")
	look("the logs", []byte(r.logs.String()))
	look("the console", []byte(r.console.String()))
	look("the API responses", s.responses.Bytes())
	if len(places) > 0 {
		t.Fatalf("the canary secret was found in: %s", strings.Join(places, "; "))
	}
	// The secret did its work: the destination was written with it.
	if !strings.Contains(r.logs.String(), run.ID) {
		t.Fatal("the logs say nothing of the run (is the log captured?)")
	}
}

// TestWrongEncryptionKeyRefusesStart: a server started with a key that did not seal the stored
// secrets refuses to start, naming ENCRYPTION_KEY; with the old key in ENCRYPTION_KEY_PREVIOUS it
// starts, and `secrets rotate` moves everything to the new key.
func TestWrongEncryptionKeyRefusesStart(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.AdminPassword = "Key-Check-Passw0rd-1"
	r := start(t, cfg, Options{})
	s := signIn(t, r, cfg.AdminPassword)
	if st := s.call(http.MethodPost, "/api/v1/connectors", map[string]any{"name": "wh", "type": "postgres",
		"config": map[string]any{"host": "db.invalid", "password": "p-secret-1"}}, nil); st != http.StatusCreated {
		t.Fatalf("create connector: %d", st)
	}
	// The other sealed secrets: the secret managers' credentials and an alert channel's.
	if st := s.call(http.MethodPut, "/api/v1/admin/settings/secret-managers", map[string]any{"vault": map[string]any{"address": ""},
		"aws":        map[string]any{"region": "eu-west-1", "auth": "static", "access_key_id": "AKIAROTATE", "secret_access_key": "aws-rotate-secret"},
		"file_roots": []string{}, "cache_ttl": "1m"}, nil); st != http.StatusOK {
		t.Fatalf("save secret managers: %d", st)
	}
	if st := s.call(http.MethodPost, "/api/v1/alerts/channels", map[string]any{"type": "webhook", "name": "ops",
		"config": map[string]any{"url": "https://hooks.example.com/agg", "secret": "hook-rotate-secret"}}, nil); st != http.StatusCreated {
		t.Fatalf("create alert channel: %d", st)
	}
	r.stop(t)
	generated, err := os.ReadFile(cfg.EncryptionKeyFile())
	if err != nil {
		t.Fatalf("development key file: %v", err)
	}
	if info, _ := os.Stat(cfg.EncryptionKeyFile()); info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %o", info.Mode().Perm())
	}
	oldKey := strings.TrimSpace(string(generated))
	newKey := strings.Repeat("n", 40)

	tryStart := func(c config.Config) error {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		a, err := New(context.Background(), c, Options{Listener: ln, Console: io.Discard, Logger: slog.New(slog.DiscardHandler)})
		if err == nil {
			a.Close()
		}
		return err
	}
	wrong := cfg
	wrong.EncryptionKey = newKey
	err = tryStart(wrong)
	if err == nil || !strings.HasPrefix(err.Error(), "ENCRYPTION_KEY: does not match the stored secrets") ||
		!strings.Contains(err.Error(), "1 saved connector(s)") || strings.Contains(err.Error(), newKey) || strings.Contains(err.Error(), oldKey) {
		t.Fatalf("start with a wrong key: %v", err)
	}
	// A lost development key file is the same wrong key.
	if err := os.Remove(cfg.EncryptionKeyFile()); err != nil {
		t.Fatal(err)
	}
	if err := tryStart(cfg); err == nil || !strings.Contains(err.Error(), "ENCRYPTION_KEY: does not match") {
		t.Fatalf("start after losing the key file: %v", err)
	}

	rolled := wrong
	rolled.EncryptionKeyPrevious = []string{oldKey}
	if err := tryStart(rolled); err != nil {
		t.Fatalf("start with the old key as previous: %v", err)
	}
	rep, err := RotateSecrets(context.Background(), rolled, mustComponents(t, rolled))
	if err != nil || rep.Resealed != 1 || !rep.SecretManagers || rep.AlertChannels != 1 || len(rep.Failed) != 0 {
		t.Fatalf("rotate: %+v %v", rep, err)
	}
	if err := tryStart(wrong); err != nil {
		t.Fatalf("start with only the new key after rotation: %v", err)
	}
	// With only the new key, the secret managers' credentials open (the settings read back) and
	// the alert channel is sealed under the new key.
	r2 := start(t, wrong, Options{})
	s2 := signIn(t, r2, cfg.AdminPassword)
	var view struct {
		Settings struct {
			AWS struct {
				SecretAccessKey string `json:"secret_access_key"`
			} `json:"aws"`
		} `json:"settings"`
	}
	if st := s2.call(http.MethodGet, "/api/v1/admin/settings/secret-managers", nil, &view); st != http.StatusOK || view.Settings.AWS.SecretAccessKey != "********" {
		t.Fatalf("secret managers after rotation: %d %+v", st, view)
	}
	chans, err := r2.app.store.ListAlertChannels(context.Background())
	newRing, _ := secrets.NewKeyring(newKey)
	if err != nil || len(chans) != 1 || newRing == nil || chans[0].SecretsKeyID != newRing.CurrentID() {
		t.Fatalf("alert channels after rotation: %+v %v", chans, err)
	}
	if again, err := RotateSecrets(context.Background(), wrong, mustComponents(t, wrong)); err != nil || again.SecretManagers || again.AlertChannels != 0 || again.Resealed != 0 {
		t.Fatalf("a second rotation changed something: %+v %v", again, err)
	}
	r2.stop(t)
}
