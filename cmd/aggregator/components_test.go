package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dataaggregator/aggregator/internal/app"
	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/internal/runner"
)

// server is an in-process `aggregator serve` signed in as admin.
type server struct {
	t     *testing.T
	base  string
	token string
}

func serveFor(t *testing.T, cfg config.Config) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{Listener: ln, Console: io.Discard, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	s := &server{t: t, base: "http://" + ln.Addr().String()}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	s.call(http.MethodPost, "/api/v1/auth/login", "application/json",
		`{"login":"admin","password":"`+cfg.AdminPassword+`"}`, &login)
	s.token = login.AccessToken
	return s
}

func (s *server) call(method, path, ctype, body string, out any) []byte {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		s.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return raw
}

type apiRun struct{ ID, Status, Error string }

// run saves spec, runs it and waits (bounded) for its end.
func (s *server) run(spec string) apiRun {
	s.t.Helper()
	var p struct{ ID string }
	s.call(http.MethodPost, "/api/v1/pipelines", "application/yaml", spec, &p)
	var r apiRun
	s.call(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", "", "", &r)
	deadline := time.Now().Add(60 * time.Second)
	for r.Status == "queued" || r.Status == "running" {
		if time.Now().After(deadline) {
			s.t.Fatalf("run still %s after 60s", r.Status)
		}
		time.Sleep(20 * time.Millisecond) // bounded poll of the run's status
		s.call(http.MethodGet, "/api/v1/runs/"+r.ID, "", "", &r)
	}
	return r
}

func parseDeadLetters(t *testing.T, b []byte) []runner.DeadLetter {
	t.Helper()
	var out []runner.DeadLetter
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var d runner.DeadLetter
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("dead letter %q: %v", l, err)
		}
		out = append(out, d)
	}
	return out
}

// The CLI commands and the server are built from the same app.Components: they offer the same
// connectors, and with the same FILE_ROOTS the same pipeline keeps the same dead letters (source
// naming the file, line, field) and fails on a missing file with the same error naming the roots.
func TestCLIAndServerShareComponents(t *testing.T) {
	dir := copyExamples(t)
	t.Setenv("FILE_ROOTS", dir)
	cfg := config.Default()
	cfg.DataDir, cfg.Port, cfg.FileRoots = t.TempDir(), 8001, []string{dir}
	cfg.AdminPassword = "Components-Passw0rd-1"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv := serveFor(t, cfg)

	// The same connectors.
	out, _, err := runCLI(t, "connectors", "--json", "--data-dir", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var cli, api []struct{ Name string }
	if err := json.Unmarshal([]byte(out), &cli); err != nil {
		t.Fatal(err)
	}
	srv.call(http.MethodGet, "/api/v1/connector-types", "", "", &api)
	if diff := cmp.Diff(cli, api); diff != "" || len(cli) < 5 {
		t.Errorf("connectors (-cli +server):\n%s", diff)
	}

	// The same dead letters.
	specFile := filepath.Join(dir, "customers-clean.yaml")
	spec, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	dl := filepath.Join(t.TempDir(), "rejects.ndjson")
	if out, stderr, err := runCLI(t, "run", "-f", specFile, "--data-dir", t.TempDir(), "--dead-letter", dl, "--progress", "none"); err != nil {
		t.Fatalf("cli run: %v\n%s%s", err, out, stderr)
	}
	cliDL, err := os.ReadFile(dl)
	if err != nil {
		t.Fatal(err)
	}
	r := srv.run(string(spec))
	if r.Status != "succeeded" {
		t.Fatalf("api run: %+v", r)
	}
	apiDL := srv.call(http.MethodGet, "/api/v1/runs/"+r.ID+"/dead-letters?format=ndjson", "", "", nil)
	got, want := parseDeadLetters(t, apiDL), parseDeadLetters(t, cliDL)
	// The server numbers its dead letters (what a replay's edits name); a CLI file has no store ids.
	for i := range got {
		if got[i].ID == 0 {
			t.Fatalf("server dead letter %d has no id: %+v", i, got[i])
		}
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(runner.DeadLetter{}, "ID")); diff != "" || len(want) == 0 || want[0].Source != "data/customers.csv" {
		t.Errorf("dead letters (-cli +server):\n%s", diff)
	}

	// The same missing-file error, naming the root tried.
	gone := bytes.Replace(spec, []byte("data/customers.csv"), []byte("data/gone.csv"), 1)
	goneFile := filepath.Join(dir, "gone.yaml")
	if err := os.WriteFile(goneFile, bytes.Replace(gone, []byte("name: customers-clean"), []byte("name: gone"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runCLI(t, "run", "-f", goneFile, "--data-dir", t.TempDir(), "--progress", "none")
	if err == nil {
		t.Fatal("cli run of a missing file succeeded")
	}
	real, _ := filepath.EvalSymlinks(dir)
	wantErr := `file "data/gone.csv" does not exist in any file root (tried ` + real + ")"
	failed := srv.run(strings.Replace(string(gone), "name: customers-clean", "name: gone", 1))
	if !strings.Contains(stderr, wantErr) || failed.Status != "failed" || !strings.Contains(failed.Error, wantErr) {
		t.Errorf("missing file:\n cli: %q\n api: %s %q\n want both to contain %q", stderr, failed.Status, failed.Error, wantErr)
	}
}
