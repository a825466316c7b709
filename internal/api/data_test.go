package api

import (
	"bytes"

	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"
	"github.com/xuri/excelize/v2"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/runner"
	"github.com/dataaggregator/aggregator/internal/store"
)

// awaitRun polls GET /runs/{id} (bounded) until the run is finished.
func (e *env) awaitRun(id string) Run {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := e.do(http.MethodGet, "/api/v1/runs/"+id, e.tokens[auth.RoleViewer], nil)
		if r.status != http.StatusOK {
			e.t.Fatalf("get run: %d %s", r.status, r.body)
		}
		var run Run
		r.decode(e.t, &run)
		switch run.Status {
		case "succeeded", "failed", "cancelled":
			return run
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s still %s after 60s", id, run.Status)
		}
		time.Sleep(20 * time.Millisecond) // polling interval of a bounded loop
	}
}

func nodesByID(run Run) map[string]struct{ In, Out, Rejected, Filtered int64 } {
	out := map[string]struct{ In, Out, Rejected, Filtered int64 }{}
	for _, n := range run.Nodes {
		out[n.ID] = struct{ In, Out, Rejected, Filtered int64 }{n.In, n.Out, n.Rejected, n.Filtered}
	}
	return out
}

func TestPipelineLifecycleThroughTheAPI(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := setup(t, setupOptions{postgres: backend == "postgres"})
			e.writeInput()
			designer := e.tokens[auth.RoleDesigner]

			// Create from YAML text (comments kept), read back as an object.
			yamlSpec := "# orders over 2\n" + specYAML("orders")
			r := e.do(http.MethodPost, "/api/v1/pipelines", designer, yamlSpec, "Content-Type", "application/yaml")
			if r.status != http.StatusCreated {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			var p Pipeline
			r.decode(t, &p)
			var specObj map[string]any
			if err := json.Unmarshal(p.Spec, &specObj); err != nil {
				t.Fatalf("spec is not a JSON object: %v: %s", err, p.Spec)
			}
			if p.Name != "orders" || p.Version != 1 || p.SpecText != yamlSpec || specObj["name"] != "orders" {
				t.Fatalf("created pipeline = %+v", p)
			}
			// Every save is a version; JSON bodies work too.
			specJSON := []byte(p.Spec)
			r = e.do(http.MethodPut, "/api/v1/pipelines/"+p.ID+"?comment=json&expected_version=1", designer, specJSON)
			if r.status != http.StatusOK {
				t.Fatalf("update: %d %s", r.status, r.body)
			}
			r.decode(t, &p)
			if p.Version != 2 {
				t.Fatalf("version after update = %d", p.Version)
			}
			if r := e.do(http.MethodPut, "/api/v1/pipelines/"+p.ID+"?expected_version=1", designer, specJSON); r.status != http.StatusConflict {
				t.Fatalf("stale update: %d %s", r.status, r.body)
			}
			var versions Page[PipelineVersion]
			e.do(http.MethodGet, "/api/v1/pipelines/"+p.ID+"/versions", e.tokens[auth.RoleViewer], nil).decode(t, &versions)
			if versions.Total != 2 || versions.Items[0].Version != 2 || versions.Items[0].Comment != "json" || versions.Items[1].SpecText != yamlSpec {
				t.Fatalf("versions = %+v", versions)
			}

			// Preview: per-node samples, nothing written.
			r = e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/preview?rows=2", designer, nil)
			if r.status != http.StatusOK {
				t.Fatalf("preview: %d %s", r.status, r.body)
			}
			var pv Preview
			r.decode(t, &pv)
			if len(pv.Nodes) != 3 || pv.Nodes[0].ID != "orders" || len(pv.Nodes[0].Rows) != 2 || len(pv.Nodes[0].Fields) != 3 {
				t.Fatalf("preview = %s", r.body)
			}
			if _, err := os.Stat(filepath.Join(e.data.files, "out-orders.csv")); !os.IsNotExist(err) {
				t.Fatalf("preview wrote the destination: %v", err)
			}

			// Run as an executor: 202 with the queued run, then counters.
			r = e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", e.tokens[auth.RoleExecutor], nil)
			if r.status != http.StatusAccepted {
				t.Fatalf("run: %d %s", r.status, r.body)
			}
			var run Run
			r.decode(t, &run)
			if run.PipelineVersion != 2 || run.ActorName != e.users[auth.RoleExecutor].Username {
				t.Fatalf("queued run = %+v", run)
			}
			run = e.awaitRun(run.ID)
			if run.Status != "succeeded" || run.StartedAt == nil || run.FinishedAt == nil || run.DurationMS == nil {
				t.Fatalf("finished run = %+v", run)
			}
			nodes := nodesByID(run)
			if nodes["orders"].Out != 5 || nodes["orders"].Rejected != 2 || nodes["big"].Out != 3 || nodes["big"].Filtered != 2 || nodes["out"].Out != 3 {
				t.Fatalf("node counters = %+v", nodes)
			}
			if run.DeadLetters == nil || *run.DeadLetters != 2 {
				t.Fatalf("dead letters count = %v", run.DeadLetters)
			}

			// Dead letters as CSV and NDJSON downloads.
			r = e.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/dead-letters?format=csv", e.tokens[auth.RoleViewer], nil)
			if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
				!strings.Contains(r.header.Get("Content-Disposition"), "attachment; filename=\"run-"+run.ID+"-dead-letters.csv\"") {
				t.Fatalf("csv download: %d %v %s", r.status, r.header, r.body)
			}
			recs, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
			if err != nil || len(recs) != 3 || recs[0][2] != "line" || recs[1][1] != "in.csv" || recs[1][2] != "7" || recs[1][4] == "" {
				t.Fatalf("csv dead letters = %q (%v)", recs, err)
			}
			r = e.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/dead-letters?format=ndjson", e.tokens[auth.RoleViewer], nil)
			lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
			var first runner.DeadLetter
			if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil || first.Line != 7 || first.Node != "orders" || first.Source != "in.csv" || !strings.Contains(first.Raw, "short") {
				t.Fatalf("ndjson dead letters = %s", r.body)
			}

			// Dead letters as Excel and Parquet: the bodies hold the two rejected rows.
			r = e.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/dead-letters?format=xlsx", e.tokens[auth.RoleViewer], nil)
			xf, err := excelize.OpenReader(bytes.NewReader(r.body))
			if err != nil {
				t.Fatalf("xlsx dead letters: %d %v", r.status, err)
			}
			xrows, _ := xf.GetRows("Sheet1")
			xf.Close()
			if len(xrows) != 3 || xrows[0][3] != "line" || xrows[1][3] != "7" || xrows[1][2] != "in.csv" ||
				!strings.Contains(r.header.Get("Content-Disposition"), "run-"+run.ID+"-dead-letters.xlsx") {
				t.Fatalf("xlsx dead letters = %q", xrows)
			}
			r = e.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/dead-letters?format=parquet", e.tokens[auth.RoleViewer], nil)
			pf, err := pq.OpenFile(bytes.NewReader(r.body), int64(len(r.body)))
			if err != nil || pf.NumRows() != 2 || r.header.Get("Content-Type") != "application/vnd.apache.parquet" {
				t.Fatalf("parquet dead letters: %d %v %v", r.status, err, r.header)
			}

			// Logs, lists and filters.
			var logs Page[RunLogLine]
			e.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/logs", e.tokens[auth.RoleViewer], nil).decode(t, &logs)
			if logs.Total < 2 || !strings.HasPrefix(logs.Items[0].Message, "run started") {
				t.Fatalf("logs = %+v", logs)
			}
			var list Page[Run]
			e.do(http.MethodGet, "/api/v1/runs?pipeline_id="+p.ID+"&status=succeeded", e.tokens[auth.RoleViewer], nil).decode(t, &list)
			if list.Total != 1 || list.Items[0].ID != run.ID {
				t.Fatalf("runs list = %+v", list)
			}
			e.do(http.MethodGet, "/api/v1/runs?pipeline_id="+p.ID+"&status=failed", e.tokens[auth.RoleViewer], nil).decode(t, &list)
			if list.Total != 0 {
				t.Fatalf("failed runs = %+v", list)
			}
			if r := e.do(http.MethodPost, "/api/v1/runs/"+run.ID+"/cancel", e.tokens[auth.RoleExecutor], nil); r.status != http.StatusConflict {
				t.Fatalf("cancel finished run: %d %s", r.status, r.body)
			}

			// Soft delete: gone from the API, its runs stay.
			if r := e.do(http.MethodDelete, "/api/v1/pipelines/"+p.ID, designer, nil); r.status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.status, r.body)
			}
			if r := e.do(http.MethodGet, "/api/v1/pipelines/"+p.ID, designer, nil); r.status != http.StatusNotFound {
				t.Fatalf("get deleted: %d", r.status)
			}
			if r := e.do(http.MethodGet, "/api/v1/runs/"+run.ID, designer, nil); r.status != http.StatusOK {
				t.Fatalf("run of a deleted pipeline: %d", r.status)
			}
			// Audited with the pipeline as target.
			if got := e.auditEntries(store.AuditFilter{Action: "pipeline.", TargetID: p.ID}); len(got) < 4 {
				t.Fatalf("audit entries for the pipeline: %+v", got)
			}
		})
	}
}

func TestBadSpecsAreRefusedWithEveryProblem(t *testing.T) {
	e := setup(t, setupOptions{})
	e.writeInput()
	designer := e.tokens[auth.RoleDesigner]
	good := specYAML("bad")
	cycle := strings.Replace(strings.Replace(good, "inputs: [orders]", "inputs: [orders, second]", 1),
		"destinations:", "  - id: second\n    type: filter\n    inputs: [big]\n    config: {expression: \"true\"}\ndestinations:", 1)
	tests := []struct {
		name, body string
		wantLoc    []string
		wantText   string
	}{
		{"malformed yaml", "version: 1\nname: [unclosed\n", nil, "line"},
		{"unknown field", strings.Replace(good, "name: bad", "name: bad\ncolour: red", 1), []string{"body.colour"}, "unknown"},
		{"unknown types", strings.NewReplacer("type: filter", "type: nosuch", "type: csv\n    inputs", "type: nowhere\n    inputs").Replace(good),
			[]string{"body.transforms[0].type", "body.destinations[0].type"}, "nosuch"},
		{"cycle", cycle, []string{"body.transforms"}, "cycle"},
		{"bad expression", strings.Replace(good, "amount > 2", "amount >", 1), []string{"body.transforms[0].config.expression"}, "expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(http.MethodPost, "/api/v1/pipelines", designer, tt.body)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", r.status, r.body)
			}
			p := r.problem(t)
			locs := map[string]bool{}
			for _, d := range p.Errors {
				locs[d.Location] = true
			}
			for _, want := range tt.wantLoc {
				found := false
				for l := range locs {
					found = found || strings.HasPrefix(l, want)
				}
				if !found {
					t.Errorf("no problem at %s; got %s", want, r.body)
				}
			}
			if !strings.Contains(strings.ToLower(string(r.body)), tt.wantText) {
				t.Errorf("problem does not mention %q: %s", tt.wantText, r.body)
			}
			// validate says the same with 200.
			v := e.do(http.MethodPost, "/api/v1/pipelines/validate", designer, tt.body)
			var out Validation
			v.decode(t, &out)
			if v.status != http.StatusOK || out.Valid || len(out.Problems) == 0 {
				t.Errorf("validate: %d %s", v.status, v.body)
			}
		})
	}
	var list Page[Pipeline]
	e.do(http.MethodGet, "/api/v1/pipelines", designer, nil).decode(t, &list)
	if list.Total != 0 {
		t.Fatalf("refused specs were saved: %+v", list)
	}
	v := e.do(http.MethodPost, "/api/v1/pipelines/validate", designer, good)
	var out Validation
	v.decode(t, &out)
	if !out.Valid || len(out.Problems) != 0 || !strings.Contains(string(v.body), `"problems":[]`) {
		t.Fatalf("validate good spec: %s", v.body)
	}
	if r := e.do(http.MethodPost, "/api/v1/pipelines", designer, ""); r.status < 400 || r.status >= 500 {
		t.Fatalf("empty body: %d %s", r.status, r.body)
	}
}

func TestUploads(t *testing.T) {
	e := setup(t, setupOptions{})
	designer := e.tokens[auth.RoleDesigner]
	upload := func(name string, content []byte) response {
		body, ct := multipartBody("file", name, content)
		return e.do(http.MethodPost, "/api/v1/files", designer, body, "Content-Type", ct)
	}
	tests := []struct {
		name, file string
		content    []byte
		status     int
		format     string
	}{
		{"csv", "orders.csv", []byte(inCSV), http.StatusCreated, "csv"},
		{"tsv", "t.txt", []byte("id\tname\n1\ta\n"), http.StatusCreated, "tsv"},
		{"json array", "a.json", []byte(`[{"id":1}]`), http.StatusCreated, "json"},
		{"ndjson", "a.log", []byte("{\"id\":1}\n{\"id\":2}\n"), http.StatusCreated, "ndjson"},
		{"xml", "a.xml", []byte(`<?xml version="1.0"?><rows><row id="1"/></rows>`), http.StatusCreated, "xml"},
		{"gzip", "a.csv.gz", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0}, http.StatusCreated, "gzip"},
		{"png disguised as csv", "evil.csv", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 32)...), http.StatusUnsupportedMediaType, ""},
		{"windows executable", "tool.exe", append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 64)...), http.StatusUnsupportedMediaType, ""},
		{"plain zip", "a.zip", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00readme.txt"), http.StatusUnsupportedMediaType, ""},
		{"html", "page.xml", []byte("<!DOCTYPE html><html></html>"), http.StatusUnsupportedMediaType, ""},
		{"empty", "empty.csv", nil, http.StatusUnprocessableEntity, ""},
		{"over the limit", "big.csv", []byte(strings.Repeat("1,2,3\n", testMaxUpload/6+10)), http.StatusRequestEntityTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := upload(tt.file, tt.content)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status != http.StatusCreated {
				r.problem(t)
				return
			}
			var f File
			r.decode(t, &f)
			sum := sha256.Sum256(tt.content)
			if f.Format != tt.format || f.Size != int64(len(tt.content)) || f.SHA256 != hex.EncodeToString(sum[:]) || f.Name != tt.file {
				t.Fatalf("file = %+v", f)
			}
			stored, err := os.ReadFile(filepath.Join(e.data.deps.UploadDir, f.ID))
			if err != nil || string(stored) != string(tt.content) {
				t.Fatalf("stored file: %v", err)
			}
		})
	}
	// Nothing half-written: only the accepted files are in the upload directory.
	entries, _ := os.ReadDir(e.data.deps.UploadDir)
	if len(entries) != 6 {
		var names []string
		for _, en := range entries {
			names = append(names, en.Name())
		}
		t.Fatalf("upload dir holds %v, want the 6 accepted files", names)
	}
	if r := e.do(http.MethodPost, "/api/v1/files", designer, "not multipart", "Content-Type", "text/plain"); r.status != http.StatusUnsupportedMediaType {
		t.Fatalf("non-multipart: %d %s", r.status, r.body)
	}

	// A pipeline reads an upload by id; deleting the upload removes the file.
	var f File
	upload("orders.csv", []byte(inCSV)).decode(t, &f)
	spec := strings.Replace(specYAML("from-upload"), "config: {path: in.csv}", "config: {upload: "+f.ID+"}", 1)
	r := e.do(http.MethodPost, "/api/v1/pipelines", designer, spec)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var p Pipeline
	r.decode(t, &p)
	var run Run
	e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", designer, nil).decode(t, &run)
	if run = e.awaitRun(run.ID); run.Status != "succeeded" || nodesByID(run)["out"].Out != 3 {
		t.Fatalf("run on an upload: %+v", run)
	}
	if r := e.do(http.MethodDelete, "/api/v1/files/"+f.ID, designer, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if _, err := os.Stat(filepath.Join(e.data.deps.UploadDir, f.ID)); !os.IsNotExist(err) {
		t.Fatalf("deleted upload still on disk: %v", err)
	}
	if r := e.do(http.MethodGet, "/api/v1/files/"+f.ID, designer, nil); r.status != http.StatusNotFound {
		t.Fatalf("get deleted upload: %d", r.status)
	}
}

func TestConnectorSecretsNeverLeave(t *testing.T) {
	e := setup(t, setupOptions{})
	designer := e.tokens[auth.RoleDesigner]
	const secret = "pa55-w0rd-never-shown"
	body := map[string]any{"name": "warehouse", "type": "postgres", "config": map[string]any{"host": "db.invalid", "password": secret, "table": "orders"}}
	r := e.do(http.MethodPost, "/api/v1/connectors", designer, body)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var c Connector
	r.decode(t, &c)
	if c.Config["password"] != "********" || c.Config["host"] != "db.invalid" {
		t.Fatalf("created connector config = %v", c.Config)
	}
	// Send back what was read (redacted) with a change: the secret is kept.
	c.Config["table"] = "orders_v2"
	r = e.do(http.MethodPut, "/api/v1/connectors/"+c.ID, designer, map[string]any{"name": "warehouse", "type": "postgres", "config": c.Config})
	if r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	stored, err := e.store.GetConnector(context.Background(), c.ID)
	if err != nil || strings.Contains(string(stored.Config)+stored.Secrets, secret) || !strings.Contains(string(stored.Config), "orders_v2") || stored.Secrets == "" {
		t.Fatalf("stored row after a redacted update: %s %q (%v)", stored.Config, stored.Secrets, err)
	}
	if _, full, err := e.data.deps.Connections.Resolve(context.Background(), "warehouse"); err != nil || full["password"] != secret {
		t.Fatalf("secret after a redacted update: %v (%v)", full["password"], err)
	}
	// Viewers and executives never see configs; the list shows none.
	for _, role := range []auth.Role{auth.RoleViewer, auth.RoleExecutive, auth.RoleExecutor} {
		if r := e.do(http.MethodGet, "/api/v1/connectors/"+c.ID, e.tokens[role], nil); r.status != http.StatusForbidden {
			t.Errorf("%s reading a connector config: %d", role, r.status)
		}
	}
	var responses []string
	for _, path := range []string{"/api/v1/connectors/" + c.ID, "/api/v1/connectors", "/api/v1/connector-types"} {
		r := e.do(http.MethodGet, path, designer, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", path, r.status)
		}
		responses = append(responses, string(r.body))
	}
	var list Page[Connector]
	e.do(http.MethodGet, "/api/v1/connectors", e.tokens[auth.RoleViewer], nil).decode(t, &list)
	if list.Total != 1 || list.Items[0].Config != nil {
		t.Fatalf("viewer's list = %+v", list)
	}
	// A check that fails says why without the secret.
	r = e.do(http.MethodPost, "/api/v1/connectors/"+c.ID+"/check", designer, nil)
	var cr CheckResult
	r.decode(t, &cr)
	if r.status != http.StatusOK || cr.OK || cr.Message == "" {
		t.Fatalf("check: %d %s", r.status, r.body)
	}
	responses = append(responses, string(r.body))
	// Invalid config: 422 with paths, no echo of the secret.
	r = e.do(http.MethodPost, "/api/v1/connectors", designer, map[string]any{"name": "x", "type": "postgres", "config": map[string]any{"password": secret, "port": "many"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "body.config.port") {
		t.Fatalf("bad config: %d %s", r.status, r.body)
	}
	responses = append(responses, string(r.body))
	for _, a := range e.auditEntries(store.AuditFilter{}) {
		responses = append(responses, string(a.Details))
	}
	for i, text := range responses {
		if strings.Contains(text, secret) {
			t.Errorf("response %d carries the secret: %s", i, text)
		}
	}
	e.assertLogLacks(t, secret)
}

// assertLogLacks fails when the server's log carries s.
func (e *env) assertLogLacks(t *testing.T, s string) {
	t.Helper()
	if strings.Contains(e.logs.String(), s) {
		t.Errorf("the server log carries a secret")
	}
}

func TestSavedTransformations(t *testing.T) {
	e := setup(t, setupOptions{})
	designer := e.tokens[auth.RoleDesigner]
	r := e.do(http.MethodPost, "/api/v1/transformations", designer, map[string]any{"name": "big", "type": "filter", "config": map[string]any{"expression": "amount >"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "body.config.expression") {
		t.Fatalf("bad expression: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/api/v1/transformations", designer, map[string]any{"name": "big", "type": "nosuch"})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "body.type") {
		t.Fatalf("unknown type: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/api/v1/transformations", designer, map[string]any{"name": "big", "type": "filter", "config": map[string]any{"expression": "amount > 2"}})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var tr Transformation
	r.decode(t, &tr)
	r = e.do(http.MethodPost, "/api/v1/transformations/"+tr.ID+"/preview", designer,
		map[string]any{"rows": []any{map[string]any{"id": 1, "amount": 1}, map[string]any{"id": 2, "amount": 5.5}}})
	var pv TransformationPreview
	r.decode(t, &pv)
	if r.status != http.StatusOK || len(pv.Rows) != 1 || fmt.Sprint(pv.Rows[0]["id"]) != "2" || pv.Counters["filtered"] != 1 {
		t.Fatalf("preview: %d %s", r.status, r.body)
	}
	// Used by name in a pipeline.
	e.writeInput()
	spec := strings.Replace(specYAML("saved-tr"), "type: filter\n    inputs: [orders]\n    config: {expression: \"amount > 2\"}", "transformation: big\n    inputs: [orders]", 1)
	r = e.do(http.MethodPost, "/api/v1/pipelines", designer, spec)
	if r.status != http.StatusCreated {
		t.Fatalf("pipeline with a saved transformation: %d %s", r.status, r.body)
	}
	var p Pipeline
	r.decode(t, &p)
	var run Run
	e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", designer, nil).decode(t, &run)
	if run = e.awaitRun(run.ID); run.Status != "succeeded" || nodesByID(run)["out"].Out != 3 {
		t.Fatalf("run: %+v", run)
	}
	r = e.do(http.MethodPut, "/api/v1/transformations/"+tr.ID+"?expected_version=1", designer, map[string]any{"name": "big", "type": "filter", "config": map[string]any{"expression": "amount > 3"}})
	if r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPut, "/api/v1/transformations/"+tr.ID+"?expected_version=1", designer, map[string]any{"name": "big", "type": "filter"})
	if r.status != http.StatusConflict && r.status != http.StatusUnprocessableEntity {
		t.Fatalf("stale update: %d %s", r.status, r.body)
	}
}

func TestCancelRunThroughTheAPI(t *testing.T) {
	e := setup(t, setupOptions{})
	run := e.fixtureRun(true)
	r := e.do(http.MethodPost, "/api/v1/runs/"+run.ID+"/cancel", e.tokens[auth.RoleViewer], nil)
	if r.status != http.StatusForbidden {
		t.Fatalf("viewer cancels: %d", r.status)
	}
	r = e.do(http.MethodPost, "/api/v1/runs/"+run.ID+"/cancel", e.tokens[auth.RoleExecutor], nil)
	var got Run
	r.decode(t, &got)
	if r.status != http.StatusOK || !got.CancelRequested || got.Status != "running" {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if got := e.auditEntries(store.AuditFilter{Action: "run.cancel", TargetID: run.ID}); len(got) != 2 {
		t.Fatalf("cancel audit entries = %+v", got)
	}
}

func TestSuggestMapping(t *testing.T) {
	e := setup(t, setupOptions{})
	body := map[string]any{
		"source": []any{map[string]any{"name": "CustomerID", "type": "int"}, map[string]any{"name": "e_mail"},
			map[string]any{"name": "zzz", "type": "date"}},
		"destination": []any{map[string]any{"name": "customer_id", "type": "int"}, map[string]any{"name": "email", "type": "string"},
			map[string]any{"name": "created", "type": "timestamp"}},
	}
	r := e.do(http.MethodPost, "/api/v1/mappings/suggest", e.tokens[auth.RoleDesigner], body)
	if r.status != http.StatusOK {
		t.Fatalf("suggest: %d %s", r.status, r.body)
	}
	var res MappingResult
	r.decode(t, &res)
	pairs := map[string]MappingSuggestion{}
	for _, s := range res.Suggestions {
		pairs[s.Source] = s
	}
	if p := pairs["CustomerID"]; p.Destination != "customer_id" || p.Confidence <= 0.5 || p.Reason == "" || p.SourceType != "int" {
		t.Errorf("CustomerID -> %+v", p)
	}
	if p := pairs["e_mail"]; p.Destination != "email" {
		t.Errorf("e_mail -> %+v", p)
	}
	if len(res.UnmatchedSource) != 1 || res.UnmatchedSource[0] != "zzz" {
		t.Errorf("unmatched source = %v", res.UnmatchedSource)
	}
	body["source"] = []any{map[string]any{"name": "a", "type": "colour"}}
	r = e.do(http.MethodPost, "/api/v1/mappings/suggest", e.tokens[auth.RoleDesigner], body)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "body.source[0].type") {
		t.Fatalf("bad type: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPost, "/api/v1/mappings/suggest", e.tokens[auth.RoleExecutor], body); r.status != http.StatusForbidden {
		t.Fatalf("executor: %d", r.status)
	}
}

func TestDeepValidationOpensSources(t *testing.T) {
	e := setup(t, setupOptions{})
	e.writeInput()
	designer := e.tokens[auth.RoleDesigner]
	spec := strings.Replace(specYAML("deep"), "amount > 2", "colour == 'red'", 1)
	var out Validation
	e.do(http.MethodPost, "/api/v1/pipelines/validate", designer, spec).decode(t, &out)
	if !out.Valid {
		t.Fatalf("shallow validation: %+v", out)
	}
	r := e.do(http.MethodPost, "/api/v1/pipelines/validate?deep=true", designer, spec)
	r.decode(t, &out)
	if r.status != http.StatusOK || out.Valid || len(out.Problems) == 0 || !strings.HasPrefix(out.Problems[0].Path, "transforms[0]") {
		t.Fatalf("deep validation: %d %s", r.status, r.body)
	}
	missing := strings.Replace(specYAML("deep2"), "path: in.csv", "path: nowhere.csv", 1)
	e.do(http.MethodPost, "/api/v1/pipelines/validate?deep=true", designer, missing).decode(t, &out)
	if out.Valid || !strings.HasPrefix(out.Problems[0].Path, "sources[0]") || !strings.Contains(out.Problems[0].Message, "nowhere.csv") {
		t.Fatalf("deep validation of a missing file: %+v", out)
	}
}

func TestUploadIsDocumentedAsMultipart(t *testing.T) {
	e := setup(t, setupOptions{})
	op := e.api.OpenAPI().Paths["/api/v1/files"].Post
	if op.RequestBody == nil || op.RequestBody.Content["multipart/form-data"] == nil ||
		op.RequestBody.Content["multipart/form-data"].Schema.Properties["file"].Format != "binary" {
		t.Fatalf("upload request body = %+v", op.RequestBody)
	}
}

// A stored pipeline is readable by roles that may not see credentials: a secret written inline is
// refused (with its path), and the same pipeline saved with `connector:` is accepted.
func TestInlineSecretsAreRefusedInStoredPipelines(t *testing.T) {
	e := setup(t, setupOptions{})
	designer := e.tokens[auth.RoleDesigner]
	const secret = "inline-pa55-never-stored"
	inline := `version: 1
name: pg-copy
sources:
  - id: src
    type: postgres
    config: {host: db.invalid, password: ` + secret + `, table: orders}
destinations:
  - id: out
    type: csv
    inputs: [src]
    config: {path: out.csv}
`
	r := e.do(http.MethodPost, "/api/v1/pipelines", designer, inline, "Content-Type", "application/yaml")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "sources[0].config.password") || !strings.Contains(string(r.body), "connector") {
		t.Fatalf("inline secret: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), secret) {
		t.Fatalf("the refusal echoes the secret: %s", r.body)
	}
	var out Validation
	e.do(http.MethodPost, "/api/v1/pipelines/validate", designer, inline, "Content-Type", "application/yaml").decode(t, &out)
	if out.Valid || len(out.Problems) != 1 || out.Problems[0].Path != "sources[0].config.password" || out.Problems[0].Line != 6 {
		t.Fatalf("validate: %+v", out)
	}
	var list Page[Pipeline]
	e.do(http.MethodGet, "/api/v1/pipelines", designer, nil).decode(t, &list)
	if list.Total != 0 {
		t.Fatalf("the refused pipeline was stored: %+v", list)
	}
	// The credentials in a saved connector, named by the pipeline: accepted, and no secret in sight.
	c := e.do(http.MethodPost, "/api/v1/connectors", designer, map[string]any{"name": "warehouse", "type": "postgres",
		"config": map[string]any{"host": "db.invalid", "password": secret, "table": "orders"}})
	if c.status != http.StatusCreated {
		t.Fatalf("create connector: %d %s", c.status, c.body)
	}
	named := strings.Replace(inline, "    type: postgres\n    config: {host: db.invalid, password: "+secret+", table: orders}\n", "    connector: warehouse\n", 1)
	r = e.do(http.MethodPost, "/api/v1/pipelines", designer, named, "Content-Type", "application/yaml")
	if r.status != http.StatusCreated {
		t.Fatalf("pipeline with connector: %d %s", r.status, r.body)
	}
	var p Pipeline
	r.decode(t, &p)
	g := e.do(http.MethodGet, "/api/v1/pipelines/"+p.ID, e.tokens[auth.RoleViewer], nil)
	if g.status != http.StatusOK || strings.Contains(string(g.body), secret) {
		t.Fatalf("viewer reading the pipeline: %d %s", g.status, g.body)
	}
	// Beside the saved connector, the pipeline picks its table; pointing the saved credentials at
	// another host is refused at its path.
	other := strings.Replace(named, "    connector: warehouse\n", "    connector: warehouse\n    config: {table: invoices, batch_size: 5000}\n", 1)
	other = strings.Replace(other, "name: ", "name: other-", 1)
	if r := e.do(http.MethodPost, "/api/v1/pipelines", designer, other, "Content-Type", "application/yaml"); r.status != http.StatusCreated {
		t.Fatalf("pipeline with its own table beside the connector: %d %s", r.status, r.body)
	}
	moved := strings.Replace(named, "    connector: warehouse\n", "    connector: warehouse\n    config: {host: attacker.example, table: invoices}\n", 1)
	moved = strings.Replace(moved, "name: ", "name: moved-", 1)
	r = e.do(http.MethodPost, "/api/v1/pipelines", designer, moved, "Content-Type", "application/yaml")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "sources[0].config.host") ||
		!strings.Contains(string(r.body), "cannot be set beside a saved connector") {
		t.Fatalf("pipeline moving the saved connector's host: %d %s", r.status, r.body)
	}
}

func TestTransformTypesCarryTheirSchemas(t *testing.T) {
	e := setup(t, setupOptions{})
	var types []struct {
		Name         string         `json:"name"`
		MinInputs    int            `json:"min_inputs"`
		ConfigSchema map[string]any `json:"config_schema"`
	}
	r := e.do(http.MethodGet, "/api/v1/transform-types", e.tokens[auth.RoleDesigner], nil)
	if r.status != http.StatusOK {
		t.Fatalf("transform-types: %d %s", r.status, r.body)
	}
	r.decode(t, &types)
	byName := map[string]map[string]any{}
	for _, tt := range types {
		byName[tt.Name] = tt.ConfigSchema
		if tt.MinInputs < 1 {
			t.Errorf("%s: min_inputs %d", tt.Name, tt.MinInputs)
		}
	}
	for _, want := range []string{"map", "filter", "validate", "dedup", "join", "aggregate", "window", "stream_dedup"} {
		s, ok := byName[want]
		if !ok {
			t.Fatalf("transform type %q missing from %v", want, byName)
		}
		if s["type"] != "object" || s["properties"] == nil {
			t.Errorf("%s: config schema %v", want, s)
		}
	}
}

// The pipeline list is what the web app's list page shows: name, description, version, schedule,
// updated_at and the latest run's status and time, without the spec.
func TestPipelineListShowsTheLatestRun(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts setupOptions) {
		e := setup(t, opts)
		idle := e.fixturePipeline()
		run := e.fixtureRunWithOutput() // succeeded, of another fixture pipeline
		r := e.do(http.MethodGet, "/api/v1/pipelines?per_page=100", e.tokens[auth.RoleViewer], nil)
		var list Page[Pipeline]
		r.decode(t, &list)
		if r.status != http.StatusOK || list.Total != 2 || len(list.Items) != 2 {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		for _, key := range []string{`"spec"`, `"spec_text"`} {
			if strings.Contains(string(r.body), key) {
				t.Errorf("the list carries %s: %s", key, r.body)
			}
		}
		byID := map[string]Pipeline{}
		for _, p := range list.Items {
			byID[p.ID] = p
		}
		for _, id := range []string{idle.ID, run.PipelineID} {
			stored, err := e.store.GetPipeline(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			got := byID[id]
			if got.Name != stored.Name || got.Version != stored.Version || !got.UpdatedAt.Equal(stored.UpdatedAt) || got.CreatedBy != stored.CreatedBy {
				t.Errorf("pipeline %s listed as %+v, stored %+v", id, got, stored)
			}
		}
		if last := byID[idle.ID].LastRun; last != nil {
			t.Errorf("a pipeline that never ran has a last run: %+v", last)
		}
		want := &PipelineLastRun{ID: run.ID, Status: "succeeded", CreatedAt: run.CreatedAt, FinishedAt: run.FinishedAt}
		if got := byID[run.PipelineID].LastRun; got == nil || got.ID != want.ID || got.Status != want.Status ||
			!got.CreatedAt.Equal(want.CreatedAt) || got.FinishedAt == nil || !got.FinishedAt.Equal(*want.FinishedAt) {
			t.Errorf("last run = %+v, want %+v", got, want)
		}
	})
}

func TestExpressionFunctionsListed(t *testing.T) {
	e := setup(t, setupOptions{})
	var fns []struct {
		Name      string `json:"name"`
		Signature string `json:"signature"`
		Group     string `json:"group"`
	}
	r := e.do(http.MethodGet, "/api/v1/expression-functions", e.tokens[auth.RoleViewer], nil)
	if r.status != http.StatusOK {
		t.Fatalf("expression-functions: %d %s", r.status, r.body)
	}
	r.decode(t, &fns)
	byName := map[string]string{}
	for _, f := range fns {
		if f.Signature == "" || f.Group == "" {
			t.Errorf("%s: signature %q group %q", f.Name, f.Signature, f.Group)
		}
		byName[f.Name] = f.Signature
	}
	for _, want := range []string{"upper", "trim", "coalesce", "to_int"} {
		if !strings.HasPrefix(byName[want], want+"(") {
			t.Errorf("%s: signature %q in %d functions", want, byName[want], len(fns))
		}
	}
}

// The server never expands ${NAME} from its environment (a pipeline designer could read it): the
// reference stays as written, in validation and in deep validation.
func TestServerDoesNotExpandEnvironmentReferences(t *testing.T) {
	t.Setenv("AGG_TEST_SERVER_SECRET", "server-env-value-never-read")
	e := setup(t, setupOptions{})
	e.writeInput()
	designer := e.tokens[auth.RoleDesigner]
	spec := strings.Replace(specYAML("env"), "path: in.csv", `path: "${AGG_TEST_SERVER_SECRET}.csv"`, 1)
	r := e.do(http.MethodPost, "/api/v1/pipelines/validate?deep=true", designer, spec)
	var out Validation
	r.decode(t, &out)
	if strings.Contains(string(r.body), "server-env-value-never-read") {
		t.Fatalf("the server expanded an environment variable: %s", r.body)
	}
	if out.Valid || len(out.Problems) == 0 || !strings.Contains(out.Problems[0].Message, "${AGG_TEST_SERVER_SECRET}.csv") {
		t.Fatalf("want the literal path named in a problem: %s", r.body)
	}
}

// The request tester runs the first request with the settings being edited: records and schema,
// or the error; a saved connector's stored secrets fill those the form sends as ********.
func TestConnectorTestRequest(t *testing.T) {
	e := setup(t, setupOptions{})
	designer := e.tokens[auth.RoleDesigner]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-123456" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"bad token tok-wrong"}`)
			return
		}
		fmt.Fprint(w, `{"data":[{"id":1,"name":"a","at":"2024-01-01T00:00:00Z"},{"id":2,"name":"b","at":"2024-01-02T00:00:00Z"},{"id":3,"name":"c","at":null}],"next":"/x?p=2"}`)
	}))
	t.Cleanup(srv.Close)
	cfg := map[string]any{"url": srv.URL + "/x", "records_path": "data", "auth": map[string]any{"type": "bearer", "token": "tok-123456"},
		"pagination": map[string]any{"type": "next_url", "path": "next"}}
	var out TestRequestResult
	r := e.do(http.MethodPost, "/api/v1/connectors/test-request", designer, map[string]any{"type": "rest", "config": cfg, "limit": 2})
	r.decode(t, &out)
	if r.status != http.StatusOK || !out.OK || out.Status != 200 || out.Total != 3 || len(out.Records) != 2 || !out.HasNext || out.URL != srv.URL+"/x" {
		t.Fatalf("test request: %d %s", r.status, r.body)
	}
	if got := fmt.Sprint(out.Fields); got != "[{id int true} {name string true} {at timestamp true}]" {
		t.Errorf("fields = %s", got)
	}
	// A saved connector being edited: the form sends its secret back as ********.
	var c Connector
	if r := e.do(http.MethodPost, "/api/v1/connectors", designer, map[string]any{"name": "api", "type": "rest", "config": cfg}); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	} else {
		r.decode(t, &c)
	}
	cfg["auth"] = map[string]any{"type": "bearer", "token": "********"}
	e.do(http.MethodPost, "/api/v1/connectors/test-request", designer, map[string]any{"type": "rest", "config": cfg, "connector_id": c.ID}).decode(t, &out)
	if !out.OK {
		t.Errorf("with the stored secret: %+v", out)
	}
	// A failure is a result with the status and the first bytes of the body, never the secret.
	cfg["auth"] = map[string]any{"type": "bearer", "token": "tok-wrong"}
	r = e.do(http.MethodPost, "/api/v1/connectors/test-request", designer, map[string]any{"type": "rest", "config": cfg})
	r.decode(t, &out)
	if out.OK || !strings.Contains(out.Message, "GET "+srv.URL+`/x: 401 Unauthorized: {"error":"bad token REDACTED"}`) || strings.Contains(string(r.body), "tok-wrong") {
		t.Errorf("failure: %s", r.body)
	}
	// The guard refuses what ALLOWED_OUTBOUND_HOSTS does not list, and says why.
	e.do(http.MethodPost, "/api/v1/connectors/test-request", designer, map[string]any{"type": "rest", "config": map[string]any{"url": "http://127.0.0.2:9/x"}}).decode(t, &out)
	if out.OK || !strings.Contains(out.Message, "refused to connect to 127.0.0.2:9 (loopback address): not allowed unless ALLOWED_OUTBOUND_HOSTS lists it") {
		t.Errorf("guard: %+v", out)
	}
	// A bad config is a 422 at its path; a type without a tester is a 422 too; viewers may not.
	if r := e.do(http.MethodPost, "/api/v1/connectors/test-request", designer, map[string]any{"type": "rest", "config": map[string]any{"url": "ftp://x"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "body.config.url") {
		t.Errorf("bad config: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPost, "/api/v1/connectors/test-request", designer, map[string]any{"type": "csv", "config": map[string]any{"path": "in.csv"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "no request tester") {
		t.Errorf("csv: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPost, "/api/v1/connectors/test-request", e.tokens[auth.RoleViewer], map[string]any{"type": "rest", "config": cfg}); r.status != http.StatusForbidden {
		t.Errorf("viewer: %d", r.status)
	}
}

// A secret in a nested object (the REST connector's auth.token) is refused inline too, at its path.
func TestNestedInlineSecretsAreRefused(t *testing.T) {
	e := setup(t, setupOptions{})
	const secret = "nested-t0ken-never-stored"
	spec := "version: 1\nname: api-copy\nsources:\n  - id: src\n    type: rest\n    config:\n      url: https://api.example.com/items\n      auth: {type: bearer, token: " + secret + "}\ndestinations:\n  - id: out\n    type: csv\n    inputs: [src]\n    config: {path: out.csv}\n"
	var out Validation
	r := e.do(http.MethodPost, "/api/v1/pipelines/validate", e.tokens[auth.RoleDesigner], spec, "Content-Type", "application/yaml")
	r.decode(t, &out)
	if out.Valid || len(out.Problems) != 1 || out.Problems[0].Path != "sources[0].config.auth.token" || out.Problems[0].Line != 8 {
		t.Fatalf("validate: %s", r.body)
	}
	if strings.Contains(string(r.body), secret) {
		t.Fatalf("the refusal echoes the secret: %s", r.body)
	}
}
