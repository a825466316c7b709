package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"os"
	"path/filepath"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Fixtures for the data routes, made directly in the store (and the file
// root) so that each request of the route table has something to act on.

// specYAML is a valid pipeline: in.csv -> filter -> out-<name>.csv.
func specYAML(name string) string {
	return fmt.Sprintf(`version: 1
name: %s
sources:
  - id: orders
    type: csv
    config: {path: in.csv}
transforms:
  - id: big
    type: filter
    inputs: [orders]
    config: {expression: "amount > 2"}
destinations:
  - id: out
    type: csv
    inputs: [big]
    config: {path: out-%s.csv}
    write: {mode: overwrite}
error_policy: {on_reject: dead_letter}
`, name, name)
}

// inCSV has 5 good rows (3 with amount > 2) and 2 broken ones (lines 7 and 8).
const inCSV = "id,name,amount\n1,a,1.5\n2,b,2.5\n3,c,3.5\n4,d,4.5\n5,e,0.5\n6,short\n7,\"open,1\n"

func (e *env) writeInput() {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.data.files, "in.csv"), []byte(inCSV), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) fixturePipeline() store.Pipeline {
	e.t.Helper()
	e.writeInput()
	name := uniq("pipe")
	p, err := e.store.CreatePipeline(context.Background(), store.Pipeline{Name: name, Spec: specYAML(name), CreatedBy: "fixture"})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// fixtureScheduledPipeline is a fixture pipeline with a schedule (Europe/Berlin).
func (e *env) fixtureScheduledPipeline(cron string) store.Pipeline {
	e.t.Helper()
	e.writeInput()
	name := uniq("sched")
	spec := specYAML(name) + "schedule: {cron: \"" + cron + "\", timezone: Europe/Berlin}\n"
	p, err := e.store.CreatePipeline(context.Background(), store.Pipeline{Name: name, Spec: spec, Schedule: cron,
		Timezone: "Europe/Berlin", Enabled: true, CreatedBy: "fixture"})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// fixtureRun is a run of a fixture pipeline; running is true for one claimed
// by another (imaginary) worker, so that it stays running until cancelled.
func (e *env) fixtureRun(running bool) store.Run {
	e.t.Helper()
	p := e.fixturePipeline()
	r, err := e.store.CreateRun(context.Background(), store.Run{PipelineID: p.ID, PipelineVersion: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	if running {
		// Claim it at once for another worker (the dispatcher may be faster:
		// then take another).
		if r2, err := e.store.ClaimRun(context.Background(), r.ID, "elsewhere"); err == nil {
			return r2
		}
		return e.fixtureRun(true)
	}
	return r
}

// fixtureDeployment is a running run deployed as one consumer instance that another worker runs
// (no job is queued for it), its deployment in state.
func (e *env) fixtureDeployment(state store.DeploymentState) store.Run {
	e.t.Helper()
	ctx := context.Background()
	r := e.fixtureRun(true)
	err := e.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateChunks(ctx, r.ID, []store.Chunk{{Idx: 0}}); err != nil {
			return err
		}
		return tx.CreateDeployment(ctx, r.ID, 1)
	})
	if err == nil {
		_, err = e.store.ClaimChunk(ctx, r.ID, 0, "elsewhere")
	}
	if err == nil && state != store.DeploymentRunning {
		err = e.store.InTx(ctx, func(tx *store.Tx) error {
			return tx.SetDeploymentState(ctx, r.ID, []store.DeploymentState{store.DeploymentRunning}, state)
		})
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// fixtureRunWithOutput is a succeeded run whose destination "out" wrote out/<run>.ndjson under the
// output directory.
func (e *env) fixtureRunWithOutput() store.Run {
	e.t.Helper()
	r := e.fixtureRun(true)
	dir, err := filepath.EvalSymlinks(e.data.files)
	if err != nil {
		e.t.Fatal(err)
	}
	abs := filepath.Join(dir, "out", r.ID+".ndjson")
	body := []byte(`{"id":1}` + "\n")
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(abs, body, 0o644); err != nil {
		e.t.Fatal(err)
	}
	outputs, _ := json.Marshal([]map[string]any{{"node": "out", "name": filepath.Base(abs), "path": "out/" + filepath.Base(abs),
		"abs": abs, "bytes": len(body), "rows": 1}})
	done, err := e.store.FinishRun(context.Background(), r.ID, []store.RunStatus{store.RunRunning},
		store.RunFinish{Status: store.RunSucceeded, Outputs: outputs})
	if err != nil {
		e.t.Fatal(err)
	}
	return done
}

// fixtureRunWithDeadLetter is a failed run with one dead letter (rejected by node "big").
func (e *env) fixtureRunWithDeadLetter() store.Run {
	e.t.Helper()
	r := e.fixtureRun(true)
	ctx := context.Background()
	if err := e.store.AddDeadLetters(ctx, []store.DeadLetter{{RunID: r.ID, Node: "big", Source: "in.csv", Line: 2, Reason: "bad",
		Raw: json.RawMessage(`{"values":{"id":"1","name":"a","amount":"9"}}`)}}); err != nil {
		e.t.Fatal(err)
	}
	done, err := e.store.FinishRun(ctx, r.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{Status: store.RunFailed, Error: "x"})
	if err != nil {
		e.t.Fatal(err)
	}
	return done
}

// fixtureAwaiting is a run paused for a review of schema changes.
func (e *env) fixtureAwaiting() store.Run {
	e.t.Helper()
	r := e.fixtureRun(true)
	rv := `{"status":"pending","node":"out","target":"public.t","policy":"review","changes":[{"column":"note","kind":"column_added","new_type":"string","against":"destination"}],"requested_at":"2026-01-01T00:00:00Z"}`
	p, err := e.store.PauseRun(context.Background(), r.ID, r.WorkerID, r.Attempt, json.RawMessage(rv))
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// managed marks an object as applied from a file and returns its id.
func (e *env) managed(kind, id string) string {
	e.t.Helper()
	if _, err := e.store.PutManaged(context.Background(), store.Managed{Kind: kind, ObjectID: id, Path: kind + "s/x.yaml", Digest: "d"}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) fixtureTransformation() store.Transformation {
	e.t.Helper()
	t, err := e.store.CreateTransformation(context.Background(), store.Transformation{Name: uniq("tr"), Type: "filter",
		Config: json.RawMessage(`{"expression":"amount > 2"}`)})
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func (e *env) fixtureConnector() store.Connector {
	e.t.Helper()
	e.writeInput()
	c, err := e.store.CreateConnector(context.Background(), store.Connector{Name: uniq("conn"), Type: "csv",
		Config: json.RawMessage(`{"path":"in.csv"}`)})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) fixtureFile() store.UploadedFile {
	e.t.Helper()
	dir := e.data.deps.UploadDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		e.t.Fatal(err)
	}
	id := uniq("file")
	p := filepath.Join(dir, id)
	if err := os.WriteFile(p, []byte(inCSV), 0o600); err != nil {
		e.t.Fatal(err)
	}
	f, err := e.store.CreateUploadedFile(context.Background(), store.UploadedFile{ID: id, OriginalName: "in.csv", StoredPath: p,
		Size: int64(len(inCSV)), ContentType: "text/csv", SHA256: "00"})
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

// multipartBody builds a form with one file part.
func multipartBody(field, filename string, content []byte) ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	part, _ := w.CreateFormFile(field, filename)
	_, _ = part.Write(content)
	_ = w.Close()
	return b.Bytes(), w.FormDataContentType()
}

func dataRouteTable() map[string]routeCase {
	pipelinePath := func(suffix string) func(*env, store.User) call {
		return func(e *env, _ store.User) call {
			return call{path: "/api/v1/pipelines/" + e.fixturePipeline().ID + suffix}
		}
	}
	scheduledPath := func(suffix string) func(*env, store.User) call {
		return func(e *env, _ store.User) call {
			return call{path: "/api/v1/pipelines/" + e.fixtureScheduledPipeline("*/5 * * * *").ID + suffix}
		}
	}
	runPath := func(suffix string, running bool) func(*env, store.User) call {
		return func(e *env, _ store.User) call {
			return call{path: "/api/v1/runs/" + e.fixtureRun(running).ID + suffix}
		}
	}
	deploymentPath := func(suffix string, state store.DeploymentState) func(*env, store.User) call {
		return func(e *env, _ store.User) call {
			return call{path: "/api/v1/runs/" + e.fixtureDeployment(state).ID + suffix}
		}
	}
	specBody := func(path string) func(*env, store.User) call {
		return func(e *env, _ store.User) call {
			e.writeInput()
			return call{path: path, body: specYAML(uniq("spec"))}
		}
	}
	transformationPath := func(suffix string, body any) func(*env, store.User) call {
		return func(e *env, _ store.User) call {
			return call{path: "/api/v1/transformations/" + e.fixtureTransformation().ID + suffix, body: body}
		}
	}
	connectorPath := func(suffix string, body any) func(*env, store.User) call {
		return func(e *env, _ store.User) call {
			return call{path: "/api/v1/connectors/" + e.fixtureConnector().ID + suffix, body: body}
		}
	}
	filePath := func(e *env, _ store.User) call { return call{path: "/api/v1/files/" + e.fixtureFile().ID} }
	sample := map[string]any{"rows": []any{map[string]any{"amount": 1}, map[string]any{"amount": 5}}}
	return map[string]routeCase{
		"GET /api/v1/pipelines":           {perm: auth.PermPipelinesRead, prepare: func(*env, store.User) call { return call{path: "/api/v1/pipelines?search=pipe&page=1&per_page=5"} }},
		"POST /api/v1/pipelines":          {perm: auth.PermPipelinesWrite, prepare: specBody("/api/v1/pipelines")},
		"POST /api/v1/pipelines/validate": {perm: auth.PermPipelinesWrite, prepare: specBody("/api/v1/pipelines/validate")},
		"POST /api/v1/pipelines/preview":  {perm: auth.PermPipelinesWrite, prepare: specBody("/api/v1/pipelines/preview?rows=3")},
		"GET /api/v1/pipelines/{id}":      {perm: auth.PermPipelinesRead, prepare: pipelinePath("")},
		"PUT /api/v1/pipelines/{id}": {perm: auth.PermPipelinesWrite, prepare: func(e *env, _ store.User) call {
			p := e.fixturePipeline()
			return call{path: "/api/v1/pipelines/" + p.ID, body: specYAML(p.Name)}
		}},
		"DELETE /api/v1/pipelines/{id}":             {perm: auth.PermPipelinesWrite, prepare: pipelinePath("")},
		"GET /api/v1/pipelines/{id}/versions":       {perm: auth.PermPipelinesRead, prepare: pipelinePath("/versions")},
		"POST /api/v1/pipelines/{id}/preview":       {perm: auth.PermPipelinesWrite, prepare: pipelinePath("/preview")},
		"POST /api/v1/pipelines/{id}/run":           {perm: auth.PermPipelinesRun, prepare: pipelinePath("/run")},
		"GET /api/v1/pipelines/{id}/trigger-token":  {perm: auth.PermPipelinesRead, prepare: pipelinePath("/trigger-token")},
		"POST /api/v1/pipelines/{id}/trigger-token": {perm: auth.PermPipelinesWrite, prepare: pipelinePath("/trigger-token")},
		"DELETE /api/v1/pipelines/{id}/trigger-token": {perm: auth.PermPipelinesWrite, prepare: func(e *env, _ store.User) call {
			p := e.fixturePipeline()
			e.triggerToken(p.ID)
			return call{path: "/api/v1/pipelines/" + p.ID + "/trigger-token"}
		}},
		"POST /api/v1/pipelines/{id}/trigger": {public: true, prepare: func(e *env, _ store.User) call {
			p := e.fixturePipeline()
			return call{path: "/api/v1/pipelines/" + p.ID + "/trigger", headers: []string{"X-Trigger-Token", e.triggerToken(p.ID)}}
		}},
		"PUT /api/v1/pipelines/{id}/managed": {perm: auth.PermPipelinesWrite, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/pipelines/" + e.fixturePipeline().ID + "/managed", body: map[string]any{"path": "pipelines/p.yaml"}}
		}},
		"DELETE /api/v1/pipelines/{id}/managed": {perm: auth.PermPipelinesWrite, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/pipelines/" + e.managed(store.ManagedPipeline, e.fixturePipeline().ID) + "/managed"}
		}},
		"PUT /api/v1/connectors/{id}/managed": {perm: auth.PermConnectorsWrite, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/connectors/" + e.fixtureConnector().ID + "/managed", body: map[string]any{"path": "connectors/c.yaml"}}
		}},
		"DELETE /api/v1/connectors/{id}/managed": {perm: auth.PermConnectorsWrite, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/connectors/" + e.managed(store.ManagedConnector, e.fixtureConnector().ID) + "/managed"}
		}},
		"PUT /api/v1/transformations/{id}/managed": {perm: auth.PermTransformationsWrite, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/transformations/" + e.fixtureTransformation().ID + "/managed", body: map[string]any{"path": "transformations/t.yaml"}}
		}},
		"DELETE /api/v1/transformations/{id}/managed": {perm: auth.PermTransformationsWrite, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/transformations/" + e.managed(store.ManagedTransformation, e.fixtureTransformation().ID) + "/managed"}
		}},
		"POST /api/v1/pipelines/{id}/schedule/pause":  {perm: auth.PermPipelinesRun, prepare: scheduledPath("/schedule/pause")},
		"POST /api/v1/pipelines/{id}/schedule/resume": {perm: auth.PermPipelinesRun, prepare: scheduledPath("/schedule/resume")},
		"GET /api/v1/schedules/preview": {perm: auth.PermPipelinesRead, prepare: func(*env, store.User) call {
			return call{path: "/api/v1/schedules/preview?cron=*/15+*+*+*+*&timezone=Europe/Berlin"}
		}},
		"GET /api/v1/runs": {perm: auth.PermRunsRead, prepare: func(*env, store.User) call {
			return call{path: "/api/v1/runs?status=succeeded,failed&from=2020-01-01T00:00:00Z"}
		}},
		"GET /api/v1/workers": {perm: auth.PermWorkersRead, prepare: func(*env, store.User) call {
			return call{path: "/api/v1/workers"}
		}},
		"GET /api/v1/runs/{id}":          {perm: auth.PermRunsRead, prepare: runPath("", false)},
		"POST /api/v1/runs/{id}/cancel":  {perm: auth.PermPipelinesCancel, prepare: runPath("/cancel", true)},
		"POST /api/v1/runs/{id}/stop":    {perm: auth.PermRunsControl, prepare: deploymentPath("/stop", store.DeploymentRunning)},
		"POST /api/v1/runs/{id}/pause":   {perm: auth.PermRunsControl, prepare: deploymentPath("/pause", store.DeploymentRunning)},
		"POST /api/v1/runs/{id}/resume":  {perm: auth.PermRunsControl, prepare: deploymentPath("/resume", store.DeploymentPaused)},
		"POST /api/v1/runs/{id}/restart": {perm: auth.PermRunsControl, prepare: deploymentPath("/restart", store.DeploymentRunning)},
		"GET /api/v1/runs/{id}/logs":     {perm: auth.PermRunsRead, prepare: runPath("/logs", false)},
		"POST /api/v1/runs/{id}/schema-review/approve": {perm: auth.PermRunsReview, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/runs/" + e.fixtureAwaiting().ID + "/schema-review/approve", body: map[string]any{"comment": "ok"}}
		}},
		"POST /api/v1/runs/{id}/schema-review/reject": {perm: auth.PermRunsReview, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/runs/" + e.fixtureAwaiting().ID + "/schema-review/reject", body: map[string]any{"comment": "no"}}
		}},
		"GET /api/v1/runs/{id}/dead-letters": {perm: auth.PermRunsRead, prepare: runPath("/dead-letters?format=csv", false)},
		"POST /api/v1/runs/{id}/dead-letters/replay": {perm: auth.PermRunsReplay, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/runs/" + e.fixtureRunWithDeadLetter().ID + "/dead-letters/replay"}
		}},
		"GET /api/v1/runs/{id}/outputs": {perm: auth.PermRunsRead, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/runs/" + e.fixtureRunWithOutput().ID + "/outputs"}
		}},
		"GET /api/v1/runs/{id}/outputs/{node}": {perm: auth.PermRunsRead, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/runs/" + e.fixtureRunWithOutput().ID + "/outputs/out"}
		}},
		"GET /api/v1/transformations": {perm: auth.PermTransformationsRead, prepare: func(*env, store.User) call { return call{path: "/api/v1/transformations?search=tr"} }},
		"POST /api/v1/transformations": {perm: auth.PermTransformationsWrite, prepare: func(*env, store.User) call {
			return call{path: "/api/v1/transformations", body: map[string]any{"name": uniq("tr"), "type": "filter", "config": map[string]any{"expression": "amount > 2"}}}
		}},
		"POST /api/v1/transformations/preview": {perm: auth.PermTransformationsWrite, prepare: func(*env, store.User) call {
			return call{path: "/api/v1/transformations/preview", body: map[string]any{"type": "filter", "config": map[string]any{"expression": "amount > 2"}, "rows": sample["rows"]}}
		}},
		"GET /api/v1/transformations/{id}": {perm: auth.PermTransformationsRead, prepare: transformationPath("", nil)},
		"PUT /api/v1/transformations/{id}": {perm: auth.PermTransformationsWrite, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/transformations/" + e.fixtureTransformation().ID, body: map[string]any{"name": uniq("tr"), "type": "filter", "config": map[string]any{"expression": "amount > 3"}}}
		}},
		"DELETE /api/v1/transformations/{id}":       {perm: auth.PermTransformationsWrite, prepare: transformationPath("", nil)},
		"POST /api/v1/transformations/{id}/preview": {perm: auth.PermTransformationsWrite, prepare: transformationPath("/preview", sample)},
		"POST /api/v1/mappings/suggest": {perm: auth.PermMappingsRead, prepare: func(*env, store.User) call {
			return call{path: "/api/v1/mappings/suggest", body: map[string]any{
				"source":      []any{map[string]any{"name": "CustomerID", "type": "int"}},
				"destination": []any{map[string]any{"name": "customer_id", "type": "int"}}}}
		}},
		"GET /api/v1/files": {perm: auth.PermFilesRead, prepare: func(*env, store.User) call { return call{path: "/api/v1/files?mine=false"} }},
		"POST /api/v1/files": {perm: auth.PermFilesWrite, prepare: func(*env, store.User) call {
			body, ct := multipartBody("file", "orders.csv", []byte(inCSV))
			return call{path: "/api/v1/files", body: body, headers: []string{"Content-Type", ct}}
		}},
		"GET /api/v1/files/{id}":           {perm: auth.PermFilesRead, prepare: filePath},
		"DELETE /api/v1/files/{id}":        {perm: auth.PermFilesWrite, prepare: filePath},
		"GET /api/v1/transform-types":      {perm: auth.PermPipelinesRead, prepare: func(*env, store.User) call { return call{path: "/api/v1/transform-types"} }},
		"GET /api/v1/expression-functions": {perm: auth.PermPipelinesRead, prepare: func(*env, store.User) call { return call{path: "/api/v1/expression-functions"} }},
		"GET /api/v1/pipeline-templates":   {perm: auth.PermPipelinesRead, prepare: func(*env, store.User) call { return call{path: "/api/v1/pipeline-templates"} }},
		"GET /api/v1/connector-types":      {perm: auth.PermConnectorsRead, prepare: func(*env, store.User) call { return call{path: "/api/v1/connector-types"} }},
		"GET /api/v1/connectors":           {perm: auth.PermConnectorsRead, prepare: func(*env, store.User) call { return call{path: "/api/v1/connectors?type=csv"} }},
		"POST /api/v1/connectors": {perm: auth.PermConnectorsWrite, prepare: func(*env, store.User) call {
			return call{path: "/api/v1/connectors", body: map[string]any{"name": uniq("conn"), "type": "csv", "config": map[string]any{"path": "in.csv"}}}
		}},
		"GET /api/v1/connectors/{id}": {perm: auth.PermConnectorsReadConfig, prepare: connectorPath("", nil)},
		"PUT /api/v1/connectors/{id}": {perm: auth.PermConnectorsWrite, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/connectors/" + e.fixtureConnector().ID, body: map[string]any{"name": uniq("conn"), "type": "csv", "config": map[string]any{"path": "in.csv", "delimiter": ";"}}}
		}},
		"DELETE /api/v1/connectors/{id}":        {perm: auth.PermConnectorsWrite, prepare: connectorPath("", nil)},
		"POST /api/v1/connectors/{id}/check":    {perm: auth.PermConnectorsWrite, prepare: connectorPath("/check", nil)},
		"POST /api/v1/connectors/{id}/discover": {perm: auth.PermConnectorsWrite, prepare: connectorPath("/discover", nil)},
		"POST /api/v1/connectors/{id}/oauth/start": {perm: auth.PermConnectorsWrite, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/connectors/" + e.fixtureSalesforce().ID + "/oauth/start"}
		}},
		"POST /api/v1/connectors/oauth/callback": {perm: auth.PermConnectorsWrite, prepare: func(e *env, u store.User) call {
			if u.ID == "" {
				return call{body: map[string]any{"state": "s", "code": "c"}}
			}
			_, state := e.startOAuth(u)
			return call{body: map[string]any{"state": state, "code": "good-code"}}
		}},
		"POST /api/v1/connectors/test-request": {perm: auth.PermConnectorsWrite, prepare: func(*env, store.User) call {
			return call{body: map[string]any{"type": "rest", "config": map[string]any{"url": "http://169.254.169.254/latest/meta-data/"}}}
		}},
	}
}
