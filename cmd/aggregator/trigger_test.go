package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/config"
)

// triggerSpec copies in.csv (or a missing file) to out-<name>.csv.
func triggerSpec(name, input string) string {
	return `version: 1
name: ` + name + `
sources:
  - id: in
    type: csv
    config: {path: ` + input + `}
destinations:
  - id: out
    type: csv
    inputs: [in]
    config: {path: out-` + name + `.csv}
    write: {mode: overwrite}
`
}

// TestTriggerWait: `aggregator trigger <name> --wait` against a running server queues a run
// recorded as manual via cli, follows it and exits 0 when it succeeds; a failed run is a non-zero
// exit naming the run and the error; an unknown pipeline, a missing token and a wrong token say so.
func TestTriggerWait(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte("id,name\n1,a\n2,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir, cfg.FileRoots = t.TempDir(), []string{dir}
	cfg.AdminPassword = "Trigger-Passw0rd-1"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv := serveFor(t, cfg)
	var tok struct{ Token string }
	srv.call(http.MethodPost, "/api/v1/auth/tokens", "application/json", `{"name":"cli"}`, &tok)
	var good, bad struct{ ID string }
	srv.call(http.MethodPost, "/api/v1/pipelines", "application/yaml", triggerSpec("Copy-Orders", "in.csv"), &good)
	srv.call(http.MethodPost, "/api/v1/pipelines", "application/yaml", triggerSpec("broken", "missing.csv"), &bad)
	t.Setenv("AGGREGATOR_URL", srv.base)

	out, _, err := run(t, "", "trigger", "copy-orders", "--wait", "--token", tok.Token)
	if err != nil || !strings.Contains(out, "of pipeline Copy-Orders: succeeded") {
		t.Fatalf("trigger --wait: %v\n%s", err, out)
	}
	runID := strings.Fields(out)[1]
	var r struct {
		Trigger       string
		TriggerDetail struct{ Via, User string } `json:"trigger_detail"`
	}
	srv.call(http.MethodGet, "/api/v1/runs/"+runID, "", "", &r)
	if r.Trigger != "manual" || r.TriggerDetail.Via != "cli" || r.TriggerDetail.User != "admin" {
		t.Fatalf("run %s: trigger %q detail %+v", runID, r.Trigger, r.TriggerDetail)
	}

	t.Setenv("AGGREGATOR_TOKEN", tok.Token)
	out, _, err = run(t, "", "trigger", bad.ID, "--wait")
	if err == nil || !strings.Contains(err.Error(), "of pipeline broken failed: ") || !strings.Contains(err.Error(), "missing.csv") {
		t.Fatalf("trigger --wait of a failing pipeline: %v\n%s", err, out)
	}
	if out, _, err := run(t, "", "trigger", good.ID); err != nil || !strings.Contains(out, ": queued") {
		t.Fatalf("trigger without --wait: %v\n%s", err, out)
	}
	cases := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"unknown pipeline", []string{"trigger", "nope"}, tok.Token, `no pipeline is named "nope"`},
		{"no token", []string{"trigger", "copy-orders"}, "", "an API token is required"},
		{"wrong token", []string{"trigger", "copy-orders"}, "agg_wrong", "401 Unauthorized"},
		{"webhook token with --wait", []string{"trigger", good.ID, "--wait"}, "aggwh_x", "--wait needs an API token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("AGGREGATOR_TOKEN", c.env)
			if _, _, err := run(t, "", c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%v: %v, want %q", c.args, err, c.want)
			}
		})
	}
}
