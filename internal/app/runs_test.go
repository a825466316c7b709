package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestServePostedPipelineRuns drives the whole platform as a user would: sign in, save a pipeline,
// run it, and read the run's per-node counters.
func TestServePostedPipelineRuns(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	files := t.TempDir()
	cfg.FileRoots = []string{files}
	cfg.AdminPassword = "Runs-Wiring-Passw0rd-1"
	in := "id,amount\n1,5\n2,1\n3,7\n4,oops\n"
	if err := os.WriteFile(filepath.Join(files, "in.csv"), []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	r := start(t, cfg, Options{})
	res, body := postJSON(t, r.base+"/api/v1/auth/login", map[string]any{"login": "admin", "password": cfg.AdminPassword})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(body, &login)
	call := func(method, path, contentType string, payload []byte, out any) int {
		t.Helper()
		req, _ := http.NewRequest(method, r.base+path, bytes.NewReader(payload))
		req.Header.Set("Authorization", "Bearer "+login.AccessToken)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
			}
		}
		return res.StatusCode
	}
	spec := `version: 1
name: wiring
sources:
  - {id: src, type: csv, config: {path: in.csv, types: {amount: int}}}
transforms:
  - {id: big, type: filter, inputs: [src], config: {expression: "amount > 2"}}
destinations:
  - {id: out, type: ndjson, inputs: [big], config: {path: out.ndjson}, write: {mode: overwrite}}
`
	var p struct{ ID string }
	if st := call(http.MethodPost, "/api/v1/pipelines", "application/yaml", []byte(spec), &p); st != http.StatusCreated {
		t.Fatalf("create pipeline: %d", st)
	}
	var run struct {
		ID          string
		Status      string
		Error       string
		DeadLetters *int `json:"dead_letters"`
		Nodes       []struct {
			ID                string
			In, Out, Rejected int64
		}
	}
	if st := call(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", "", nil, &run); st != http.StatusAccepted {
		t.Fatalf("run: %d", st)
	}
	deadline := time.Now().Add(30 * time.Second)
	for run.Status != "succeeded" && run.Status != "failed" && run.Status != "cancelled" {
		if time.Now().After(deadline) {
			t.Fatalf("run still %s after 30s", run.Status)
		}
		time.Sleep(20 * time.Millisecond) // bounded poll
		call(http.MethodGet, "/api/v1/runs/"+run.ID, "", nil, &run)
	}
	if run.Status != "succeeded" || run.DeadLetters == nil || *run.DeadLetters != 1 {
		t.Fatalf("run = %+v", run)
	}
	counters := map[string][3]int64{}
	for _, n := range run.Nodes {
		counters[n.ID] = [3]int64{n.In, n.Out, n.Rejected}
	}
	want := map[string][3]int64{"src": {0, 3, 1}, "big": {3, 2, 0}, "out": {2, 2, 0}}
	for id, w := range want {
		if counters[id] != w {
			t.Errorf("node %s counters (in, out, rejected) = %v, want %v", id, counters[id], w)
		}
	}
	// The destination's relative path resolves under DATA_DIR/files, not in the file root.
	if b, err := os.ReadFile(filepath.Join(cfg.DataDir, "files", "out.ndjson")); err != nil || bytes.Count(b, []byte("\n")) != 2 {
		t.Fatalf("DATA_DIR/files/out.ndjson: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(files, "out.ndjson")); !os.IsNotExist(err) {
		t.Errorf("out.ndjson was written into the file root: %v", err)
	}
}
