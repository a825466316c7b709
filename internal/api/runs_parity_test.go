package api

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/ndjson"
	"github.com/dataaggregator/aggregator/internal/runner"
)

// customersDeadLetters are the dead letters of examples/customers-clean.yaml, exactly as the CLI
// writes them (cmd/aggregator TestRunWritesDeadLettersNamingEachBrokenLine).
var customersDeadLetters = []runner.DeadLetter{
	{Node: "customers", Source: "data/customers.csv", Line: 5, Reason: "has 3 fields, want 6 (id, name, email, country, signup_date, balance)",
		Raw: "4,Broken Row,only-three-columns"},
	{Node: "customers", Source: "data/customers.csv", Line: 7, Field: "signup_date", Reason: `invalid date "not-a-date" (want YYYY-MM-DD)`,
		Raw: "7,Barbara Liskov,barbara@example.com,US,not-a-date,310.00"},
	{Node: "customers", Source: "data/customers.csv", Line: 11, Field: "balance", Reason: `invalid decimal "abc": unexpected 'a'`,
		Raw: "10,Niklaus Wirth,niklaus@example.com,CH,2024-05-02,abc"},
	{Node: "customers", Source: "data/customers.csv", Line: 12, Reason: "unterminated quoted field 2: the quote opened on line 12 is never closed",
		Raw: "6,Unbalanced quote,bad@example.com,US,2024-03-06,1\n"},
}

// examplesIn copies examples/customers-clean.yaml's input into the server's file root and returns
// the spec text.
func examplesIn(t *testing.T, files string) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples")
	spec, err := os.ReadFile(filepath.Join(src, "customers-clean.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(src, "data", "customers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"data", "out"} {
		if err := os.MkdirAll(filepath.Join(files, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(files, "data", "customers.csv"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return string(spec)
}

func (e *env) runSpec(name, spec string) Run {
	e.t.Helper()
	designer := e.tokens[auth.RoleDesigner]
	r := e.do(http.MethodPost, "/api/v1/pipelines", designer, strings.Replace(spec, "name: customers-clean", "name: "+name, 1))
	if r.status != http.StatusCreated {
		e.t.Fatalf("create: %d %s", r.status, r.body)
	}
	var p Pipeline
	r.decode(e.t, &p)
	var run Run
	e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", designer, nil).decode(e.t, &run)
	return e.awaitRun(run.ID)
}

// The server and the CLI share the run wiring: a run through the API keeps the same dead letters
// as `aggregator run`, and a missing input names the file roots tried, as the CLI does.
func TestRunDeadLettersMatchTheCLI(t *testing.T) {
	e := setup(t, setupOptions{connectors: []connector.Connector{ndjson.New()}})
	spec := examplesIn(t, e.data.files)
	run := e.runSpec("customers", spec)
	if run.Status != "succeeded" {
		t.Fatalf("run = %+v", run)
	}
	r := e.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/dead-letters?format=ndjson", e.tokens[auth.RoleViewer], nil)
	var got []runner.DeadLetter
	for _, l := range strings.Split(strings.TrimSpace(string(r.body)), "\n") {
		var d runner.DeadLetter
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("dead letter %q: %v", l, err)
		}
		if d.ID == 0 {
			t.Errorf("dead letter %q has no id", l)
		}
		d.ID = 0 // the store's id; the CLI's file has none
		got = append(got, d)
	}
	if diff := cmp.Diff(customersDeadLetters, got); diff != "" {
		t.Errorf("dead letters (-want +got):\n%s", diff)
	}

	missing := e.runSpec("missing", strings.Replace(spec, "data/customers.csv", "data/gone.csv", 1))
	root, _ := filepath.EvalSymlinks(e.data.files)
	want := `file "data/gone.csv" does not exist in any file root (tried ` + root + ")"
	if missing.Status != "failed" || !strings.Contains(missing.Error, want) {
		t.Errorf("run of a missing file = %s %q, want failed with %q", missing.Status, missing.Error, want)
	}
}

// A run's file output is listed and downloads with its bytes and file name, by any role holding
// runs:read (a viewer), never unauthenticated; each download is in the audit log; an unknown node is
// 404.
func TestRunOutputsDownload(t *testing.T) {
	e := setup(t, setupOptions{connectors: []connector.Connector{ndjson.New()}})
	spec := examplesIn(t, e.data.files)
	run := e.runSpec("outputs", spec)
	if run.Status != "succeeded" {
		t.Fatalf("run = %+v", run)
	}
	written, err := os.ReadFile(filepath.Join(e.data.files, "out", "customers-clean.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	viewer := e.tokens[auth.RoleViewer]
	var list []RunOutput
	e.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/outputs", viewer, nil).decode(t, &list)
	want := []RunOutput{{Node: "clean", Name: "customers-clean.ndjson", Path: "out/customers-clean.ndjson", Bytes: int64(len(written)), Rows: 6}}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}

	r := e.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/outputs/clean", viewer, nil)
	if r.status != http.StatusOK || string(r.body) != string(written) {
		t.Fatalf("download: %d, %d bytes, want 200 and %d bytes", r.status, len(r.body), len(written))
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename=customers-clean.ndjson` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type = %q", ct)
	}
	if r := e.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/outputs/clean", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("unauthenticated download: %d, want 401", r.status)
	}
	if r := e.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/outputs/customers", viewer, nil); r.status != http.StatusNotFound {
		t.Errorf("download of a source node: %d, want 404", r.status)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Permission string `json:"x-permission"`
		} `json:"paths"`
	}
	e.do(http.MethodGet, "/api/v1/openapi.json", "", nil).decode(t, &doc)
	for _, p := range []string{"/api/v1/runs/{id}/outputs", "/api/v1/runs/{id}/outputs/{node}"} {
		if got := doc.Paths[p]["get"].Permission; got != string(auth.PermRunsRead) {
			t.Errorf("OpenAPI %s: x-permission %q, want %s", p, got, auth.PermRunsRead)
		}
	}
	var audit Page[AuditEntry]
	e.do(http.MethodGet, "/api/v1/audit-logs?action=run.output_download", e.tokens[auth.RoleAdmin], nil).decode(t, &audit)
	results := map[string]int{}
	for _, a := range audit.Items {
		if a.TargetID == run.ID {
			results[a.Result]++
		}
	}
	if results["success"] != 1 || results["denied"] != 1 || results["failure"] != 1 {
		t.Errorf("audit of the downloads = %v, want one success, one denied, one failure", results)
	}
}
