package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
)

// triggerToken creates (or rotates) a pipeline's webhook token and returns it.
func (e *env) triggerToken(pipelineID string) string {
	e.t.Helper()
	plain, _, err := e.auth.CreateTriggerToken(context.Background(), pipelineID, "fixture")
	if err != nil {
		e.t.Fatal(err)
	}
	return plain
}

// TestTriggerTokenLifecycle: create shows the token once (stored hashed), GET shows its state but
// never the token, rotation voids the old token at once, revoke voids the current one.
func TestTriggerTokenLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts setupOptions) {
		e := setup(t, opts)
		p := e.fixturePipeline()
		designer := e.tokens[auth.RoleDesigner]
		base := "/api/v1/pipelines/" + p.ID

		var state TriggerToken
		e.do(http.MethodGet, base+"/trigger-token", designer, nil).decode(t, &state)
		if state.Exists || state.URL != base+"/trigger" {
			t.Fatalf("before any token: %+v", state)
		}
		r := e.do(http.MethodPost, base+"/trigger-token", designer, nil)
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		var created struct {
			TriggerToken
			Token string `json:"token"`
		}
		r.decode(t, &created)
		if !strings.HasPrefix(created.Token, auth.TriggerTokenPrefix) || !strings.HasPrefix(created.Token, created.Prefix) || !created.Exists {
			t.Fatalf("created %+v", created)
		}
		stored, err := e.store.GetTriggerToken(context.Background(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.TokenHash == created.Token || strings.Contains(stored.TokenHash, created.Token[len(created.Prefix):]) || len(stored.TokenHash) != 64 {
			t.Fatalf("the token is not stored hashed: %q", stored.TokenHash)
		}
		r = e.do(http.MethodGet, base+"/trigger-token", designer, nil)
		if strings.Contains(string(r.body), created.Token) {
			t.Fatal("GET shows the token")
		}
		r.decode(t, &state)
		if !state.Exists || state.Prefix != created.Prefix || state.LastUsedAt != nil || state.CreatedBy == "" {
			t.Fatalf("state %+v", state)
		}
		if r := e.do(http.MethodPost, base+"/trigger", "", nil, "X-Trigger-Token", created.Token); r.status != http.StatusAccepted {
			t.Fatalf("webhook with the token: %d %s", r.status, r.body)
		}
		e.do(http.MethodGet, base+"/trigger-token", designer, nil).decode(t, &state)
		if state.LastUsedAt == nil {
			t.Fatal("last_used_at not set after a call")
		}

		// Rotate: the old token stops working at once, the new one works.
		var rotated struct {
			Token string `json:"token"`
		}
		e.do(http.MethodPost, base+"/trigger-token", designer, nil).decode(t, &rotated)
		if rotated.Token == created.Token {
			t.Fatal("rotation returned the same token")
		}
		if r := e.do(http.MethodPost, base+"/trigger", created.Token, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("old token after rotation: %d", r.status)
		}
		if r := e.do(http.MethodPost, base+"/trigger", rotated.Token, nil); r.status != http.StatusAccepted {
			t.Fatalf("new token (Authorization: Bearer): %d %s", r.status, r.body)
		}
		// Revoke.
		if r := e.do(http.MethodDelete, base+"/trigger-token", designer, nil); r.status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		if r := e.do(http.MethodPost, base+"/trigger", rotated.Token, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("revoked token: %d", r.status)
		}
		if r := e.do(http.MethodDelete, base+"/trigger-token", designer, nil); r.status != http.StatusNotFound {
			t.Fatalf("revoke without a token: %d", r.status)
		}
		// A viewer may see the state, not change it.
		if r := e.do(http.MethodPost, base+"/trigger-token", e.tokens[auth.RoleViewer], nil); r.status != http.StatusForbidden {
			t.Fatalf("viewer creating a token: %d", r.status)
		}
	})
}

// TestWebhookWrongTokens: a wrong or missing token is 401 with the standard problem body and an
// audit entry (denied); after MaxFailures wrong tokens from one address for one pipeline, calls from
// there are 429 (even with the right token) while another pipeline is unaffected. A good call is
// audited as a success naming the token prefix and the run.
func TestWebhookWrongTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts setupOptions) {
		opts.triggerLimiter = auth.NewMemoryLimiter(auth.LimiterPolicy{MaxFailures: 3, Window: time.Minute, Lockout: time.Minute}, nil)
		e := setup(t, opts)
		p, other := e.fixturePipeline(), e.fixturePipeline()
		good, otherGood := e.triggerToken(p.ID), e.triggerToken(other.ID)
		path := "/api/v1/pipelines/" + p.ID + "/trigger"

		cases := []struct {
			name    string
			headers []string
		}{
			{"missing", nil},
			{"wrong bearer", []string{"Authorization", "Bearer " + good + "x"}},
			{"other pipeline's token", []string{"X-Trigger-Token", otherGood}},
		}
		for _, c := range cases {
			r := e.do(http.MethodPost, path, "", nil, c.headers...)
			if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%s: %d %s", c.name, r.status, r.body)
			}
			if pr := r.problem(t); !strings.Contains(pr.Detail, "wrong or missing webhook token") {
				t.Errorf("%s: detail %q", c.name, pr.Detail)
			}
			if strings.Contains(string(r.body), good) || strings.Contains(string(r.body), otherGood) {
				t.Fatalf("%s: the response shows a token", c.name)
			}
		}
		r := e.do(http.MethodPost, path, "", nil, "X-Trigger-Token", good)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("after 3 wrong tokens: %d %s, want 429 with Retry-After", r.status, r.body)
		}
		r.problem(t)
		if r := e.do(http.MethodPost, "/api/v1/pipelines/"+other.ID+"/trigger", "", nil, "X-Trigger-Token", otherGood); r.status != http.StatusAccepted {
			t.Fatalf("another pipeline from the same address: %d %s", r.status, r.body)
		}

		denied := e.auditEntries(store.AuditFilter{Action: "pipeline.webhook", TargetID: p.ID, Result: "denied"})
		if len(denied) != 3 {
			t.Fatalf("%d denied audit entries, want 3", len(denied))
		}
		for _, a := range denied {
			if strings.Contains(string(a.Details), good) || !strings.Contains(string(a.Details), "wrong or missing webhook token") {
				t.Errorf("denied entry details %s", a.Details)
			}
		}
		if n := len(e.auditEntries(store.AuditFilter{Action: "pipeline.webhook", TargetID: p.ID, Result: "failure"})); n != 1 {
			t.Errorf("%d failure entries for the 429, want 1", n)
		}
		ok := e.auditEntries(store.AuditFilter{Action: "pipeline.webhook", TargetID: other.ID, Result: "success"})
		if len(ok) != 1 || !strings.HasPrefix(ok[0].ActorName, "webhook "+otherGood[:len(auth.TriggerTokenPrefix)+8]) ||
			!strings.Contains(string(ok[0].Details), `"run_id"`) {
			t.Fatalf("success audit entries %+v", ok)
		}
	})
}

// TestWebhookRun: the run records trigger webhook with the token prefix and the JSON body; a
// non-JSON body is ignored; a draft is 409; on_busy: refuse with a queued run is 409.
func TestWebhookRun(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts setupOptions) {
		e := setup(t, opts)
		p := e.fixturePipeline()
		tok := e.triggerToken(p.ID)
		path := "/api/v1/pipelines/" + p.ID + "/trigger"
		r := e.do(http.MethodPost, path, "", map[string]any{"ref": "refs/heads/main", "n": 3}, "X-Trigger-Token", tok)
		if r.status != http.StatusAccepted {
			t.Fatalf("webhook: %d %s", r.status, r.body)
		}
		var wr WebhookRun
		r.decode(t, &wr)
		var run Run
		e.do(http.MethodGet, "/api/v1/runs/"+wr.RunID, e.tokens[auth.RoleViewer], nil).decode(t, &run)
		if run.Trigger != "webhook" || run.TriggerDetail == nil || run.TriggerDetail.TokenPrefix != tok[:len(auth.TriggerTokenPrefix)+8] {
			t.Fatalf("run trigger %q detail %+v", run.Trigger, run.TriggerDetail)
		}
		var payload map[string]any
		if err := json.Unmarshal(run.TriggerDetail.Payload, &payload); err != nil || payload["ref"] != "refs/heads/main" {
			t.Fatalf("payload %s (%v)", run.TriggerDetail.Payload, err)
		}
		r = e.do(http.MethodPost, path, "", "not json at all", "X-Trigger-Token", tok, "Content-Type", "text/plain")
		if r.status != http.StatusAccepted {
			t.Fatalf("webhook with a text body: %d %s", r.status, r.body)
		}
		r.decode(t, &wr)
		run = Run{}
		e.do(http.MethodGet, "/api/v1/runs/"+wr.RunID, e.tokens[auth.RoleViewer], nil).decode(t, &run)
		if run.TriggerDetail == nil || len(run.TriggerDetail.Payload) != 0 {
			t.Fatalf("a text body was kept: %+v", run.TriggerDetail)
		}

		// A draft cannot run.
		draft := e.fixturePipeline()
		dtok := e.triggerToken(draft.ID)
		broken := strings.Replace(specYAML(draft.Name), "amount > 2", "amount >", 1)
		if r := e.do(http.MethodPut, "/api/v1/pipelines/"+draft.ID+"?draft=true", e.tokens[auth.RoleDesigner], broken); r.status != http.StatusOK {
			t.Fatalf("save draft: %d %s", r.status, r.body)
		}
		if r := e.do(http.MethodPost, "/api/v1/pipelines/"+draft.ID+"/trigger", "", nil, "X-Trigger-Token", dtok); r.status != http.StatusConflict {
			t.Fatalf("webhook of a draft: %d %s", r.status, r.body)
		}

		// on_busy: refuse while a run is queued.
		busy, err := e.store.CreatePipeline(context.Background(), store.Pipeline{Name: uniq("busy"),
			Spec: specYAML("busy") + "policy: {max_concurrent_runs: 1, on_busy: refuse}\n"})
		if err != nil {
			t.Fatal(err)
		}
		btok := e.triggerToken(busy.ID)
		if _, err := e.store.CreateRun(context.Background(), store.Run{PipelineID: busy.ID, PipelineVersion: 1}); err != nil {
			t.Fatal(err)
		}
		r = e.do(http.MethodPost, "/api/v1/pipelines/"+busy.ID+"/trigger", "", nil, "X-Trigger-Token", btok)
		if r.status != http.StatusConflict || !strings.Contains(r.problem(t).Detail, "on_busy: refuse") {
			t.Fatalf("webhook of a busy pipeline: %d %s", r.status, r.body)
		}
	})
}

// TestRunRouteTrigger: the Run route records manual for a signed-in session (or via=cli), api for
// an API token, with the user in the detail.
func TestRunRouteTrigger(t *testing.T) {
	e := setup(t, setupOptions{})
	p := e.fixturePipeline()
	executor := e.users[auth.RoleExecutor]
	plainAPI, _, err := e.auth.CreateAPIToken(context.Background(), executor.ID, "ci", nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, token, query, trigger, via string
	}{
		{"session", e.tokens[auth.RoleExecutor], "", "manual", "ui"},
		{"api token", plainAPI, "", "api", "api"},
		{"cli with an api token", plainAPI, "?via=cli", "manual", "cli"},
	}
	for _, c := range cases {
		r := e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run"+c.query, c.token, nil)
		if r.status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", c.name, r.status, r.body)
		}
		var run Run
		r.decode(t, &run)
		if run.Trigger != c.trigger || run.TriggerDetail == nil || run.TriggerDetail.Via != c.via || run.TriggerDetail.User != executor.Username {
			t.Errorf("%s: trigger %q detail %+v, want %s via %s by %s", c.name, run.Trigger, run.TriggerDetail, c.trigger, c.via, executor.Username)
		}
	}
}

// specAfter is specYAML(name) running after the pipelines named.
func specAfter(name string, after ...string) string {
	if len(after) == 0 {
		return specYAML(name)
	}
	return specYAML(name) + "triggers: {after: [" + strings.Join(after, ", ") + "]}\n"
}

// TestDependencySaveRefusals: cycles (including a pipeline after itself) and unknown names are
// refused at save time with 422, the problem at triggers.after[i] naming the cycle or the name;
// nothing is saved. A valid chain saves, and GET shows both directions.
func TestDependencySaveRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts setupOptions) {
		e := setup(t, opts)
		e.writeInput()
		designer := e.tokens[auth.RoleDesigner]
		ids := map[string]string{}
		save := func(name string, after ...string) response {
			if id, ok := ids[name]; ok {
				return e.do(http.MethodPut, "/api/v1/pipelines/"+id, designer, specAfter(name, after...))
			}
			r := e.do(http.MethodPost, "/api/v1/pipelines", designer, specAfter(name, after...))
			if r.status == http.StatusCreated {
				var p Pipeline
				r.decode(t, &p)
				ids[name] = p.ID
			}
			return r
		}
		for _, n := range []string{"c", "b", "a", "e"} {
			if r := save(n); r.status != http.StatusCreated {
				t.Fatalf("create %s: %d %s", n, r.status, r.body)
			}
		}
		// a after b after c: a chain, no cycle.
		if r := save("a", "b"); r.status != http.StatusOK {
			t.Fatalf("a after b: %d %s", r.status, r.body)
		}
		if r := save("b", "c"); r.status != http.StatusOK {
			t.Fatalf("b after c: %d %s", r.status, r.body)
		}
		cases := []struct {
			name      string
			save      string
			after     []string
			wantPath  string
			wantWords string
		}{
			{"self", "c", []string{"c"}, "body.triggers.after[0]", "cycle: c -> c"},
			{"two", "b", []string{"a"}, "body.triggers.after[0]", "cycle: b -> a -> b"},
			{"three", "c", []string{"a"}, "body.triggers.after[0]", "cycle: c -> a -> b -> c"},
			{"three, second name", "c", []string{"e", "A"}, "body.triggers.after[1]", "cycle: c -> a -> b -> c"},
			{"unknown", "c", []string{"nope"}, "body.triggers.after[0]", `no saved pipeline is named "nope"`},
			{"new pipeline after itself", "d", []string{"d"}, "body.triggers.after[0]", "cycle: d -> d"},
		}
		for _, c := range cases {
			r := save(c.save, c.after...)
			if r.status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %s, want 422", c.name, r.status, r.body)
				continue
			}
			p := r.problem(t)
			found := false
			for _, f := range p.Errors {
				found = found || (f.Location == c.wantPath && strings.Contains(f.Message, c.wantWords))
			}
			if !found {
				t.Errorf("%s: problems %+v, want %q at %s", c.name, p.Errors, c.wantWords, c.wantPath)
			}
		}
		// The editor's validation as the user types finds the same problems without saving.
		vcases := []struct{ path, spec, want string }{
			{"/api/v1/pipelines/validate?pipeline_id=" + ids["c"], specAfter("c", "a"), "c -> a -> b -> c"},
			{"/api/v1/pipelines/validate", specAfter("z", "z"), "z -> z"},
			{"/api/v1/pipelines/validate", specAfter("z", "ghost"), `no saved pipeline is named "ghost"`},
		}
		for _, vc := range vcases {
			var v Validation
			vr := e.do(http.MethodPost, vc.path, designer, vc.spec)
			vr.decode(t, &v)
			if v.Valid || len(v.Problems) != 1 || v.Problems[0].Path != "triggers.after[0]" || !strings.Contains(v.Problems[0].Message, vc.want) {
				t.Errorf("validate %s: %+v, want %q", vc.path, v, vc.want)
			}
		}
		if _, ok := ids["d"]; ok {
			t.Error("pipeline d after itself was created")
		}
		var b Pipeline
		e.do(http.MethodGet, "/api/v1/pipelines/"+ids["b"], designer, nil).decode(t, &b)
		if b.Version != 2 || len(b.RunsAfter) != 1 || b.RunsAfter[0].Name != "c" || len(b.Dependents) != 1 || b.Dependents[0].Name != "a" {
			t.Fatalf("b: version %d runs after %+v, dependents %+v", b.Version, b.RunsAfter, b.Dependents)
		}

		// Deleting a pipeline others run after is refused with their names; once they no longer
		// do, it is deleted.
		r := e.do(http.MethodDelete, "/api/v1/pipelines/"+ids["c"], designer, nil)
		if r.status != http.StatusConflict || !strings.Contains(r.problem(t).Detail, "b run after it") {
			t.Fatalf("delete c: %d %s", r.status, r.body)
		}
		if r := save("b"); r.status != http.StatusOK {
			t.Fatalf("b after nothing: %d %s", r.status, r.body)
		}
		if r := e.do(http.MethodDelete, "/api/v1/pipelines/"+ids["c"], designer, nil); r.status != http.StatusNoContent {
			t.Fatalf("delete c after b no longer depends on it: %d %s", r.status, r.body)
		}
		// A dependent itself may be deleted: its edges go with it.
		if r := e.do(http.MethodDelete, "/api/v1/pipelines/"+ids["a"], designer, nil); r.status != http.StatusNoContent {
			t.Fatalf("delete a: %d %s", r.status, r.body)
		}
		b = Pipeline{}
		e.do(http.MethodGet, "/api/v1/pipelines/"+ids["b"], designer, nil).decode(t, &b)
		if len(b.Dependents) != 0 || len(b.RunsAfter) != 0 {
			t.Fatalf("b after deletes: runs after %+v, dependents %+v", b.RunsAfter, b.Dependents)
		}
	})
}
