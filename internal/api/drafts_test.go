package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/auth"
)

// A spec with errors is refused (422) unless it is saved as a draft; a draft keeps its problems
// (node and field), cannot run (409 naming them) and becomes runnable when a valid spec is saved.
func TestDraftPipelines(t *testing.T) {
	e := setup(t, setupOptions{})
	e.writeInput()
	designer := e.tokens[auth.RoleDesigner]
	good := specYAML("drafty")
	bad := strings.Replace(strings.Replace(good, "amount > 2", "amount >", 1), "type: csv\n    inputs: [big]", "type: nosuch\n    inputs: [big]", 1)

	if r := e.do(http.MethodPost, "/api/v1/pipelines", designer, bad); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid spec without draft: %d %s", r.status, r.body)
	}
	r := e.do(http.MethodPost, "/api/v1/pipelines?draft=true", designer, bad)
	if r.status != http.StatusCreated {
		t.Fatalf("draft save: %d %s", r.status, r.body)
	}
	var p Pipeline
	r.decode(t, &p)
	if !p.Draft || p.Name != "drafty" || len(p.Problems) != 2 {
		t.Fatalf("draft: %s", r.body)
	}
	byNode := map[string]DraftProblem{}
	for _, pr := range p.Problems {
		byNode[pr.Node] = pr
	}
	if pr := byNode["big"]; pr.Field != "config.expression" || pr.Path != "transforms[0].config.expression" || pr.Message == "" || pr.Line == 0 {
		t.Fatalf("the expression problem: %+v", pr)
	}
	if pr := byNode["out"]; pr.Field != "type" || !strings.Contains(pr.Message, "nosuch") {
		t.Fatalf("the destination type problem: %+v", pr)
	}
	// GET shows the draft; running it is refused, naming node and field.
	var got Pipeline
	e.do(http.MethodGet, "/api/v1/pipelines/"+p.ID, designer, nil).decode(t, &got)
	if !got.Draft || len(got.Problems) != 2 {
		t.Fatalf("get draft: %+v", got)
	}
	r = e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", designer, nil)
	if r.status != http.StatusConflict {
		t.Fatalf("run a draft: %d %s", r.status, r.body)
	}
	if pr := r.problem(t); !strings.Contains(pr.Detail, "is a draft and cannot run") || !strings.Contains(pr.Detail, "node big: transforms[0].config.expression") ||
		!strings.Contains(string(r.body), `"location":"spec.destinations[0].type"`) {
		t.Fatalf("run a draft: %s", r.body)
	}

	// Saving a valid spec makes it runnable; a later draft version blocks it again, with the old
	// name kept when the draft does not even parse.
	r = e.do(http.MethodPut, "/api/v1/pipelines/"+p.ID+"?draft=true", designer, good)
	got = Pipeline{}
	r.decode(t, &got)
	if r.status != http.StatusOK || got.Draft || got.Problems != nil || got.Version != 2 {
		t.Fatalf("valid save: %d %s", r.status, r.body)
	}
	var run Run
	if r := e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", designer, nil); r.status != http.StatusAccepted {
		t.Fatalf("run after the fix: %d %s", r.status, r.body)
	} else {
		r.decode(t, &run)
	}
	if run = e.awaitRun(run.ID); run.Status != "succeeded" {
		t.Fatalf("run after the fix: %+v", run)
	}
	r = e.do(http.MethodPut, "/api/v1/pipelines/"+p.ID+"?draft=true", designer, "version: 1\nsources: [")
	got = Pipeline{}
	r.decode(t, &got)
	if r.status != http.StatusOK || !got.Draft || got.Name != "drafty" || got.Version != 3 || len(got.Problems) == 0 {
		t.Fatalf("unparsable draft: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", designer, nil); r.status != http.StatusConflict {
		t.Fatalf("run the unparsable draft: %d %s", r.status, r.body)
	}
	var versions Page[PipelineVersion]
	e.do(http.MethodGet, "/api/v1/pipelines/"+p.ID+"/versions", designer, nil).decode(t, &versions)
	if len(versions.Items) != 3 || !versions.Items[0].Draft || versions.Items[1].Draft || !versions.Items[2].Draft {
		t.Fatalf("versions (newest first) draft, valid, draft: %+v", versions.Items)
	}
	// The last valid version still runs when asked for by number.
	if r := e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run?version=2", designer, nil); r.status != http.StatusAccepted {
		t.Fatalf("run version 2: %d %s", r.status, r.body)
	}
	// Replaying dead letters needs the current version: refused while it is a draft.
	if r := e.do(http.MethodPost, "/api/v1/runs/"+run.ID+"/dead-letters/replay", designer, nil); r.status != http.StatusConflict ||
		!strings.Contains(r.problem(t).Detail, "draft") {
		t.Fatalf("replay onto a draft: %d %s", r.status, r.body)
	}
	// A draft must name the pipeline when it is created.
	if r := e.do(http.MethodPost, "/api/v1/pipelines?draft=true", designer, "version: 1\nsources: ["); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("nameless draft: %d %s", r.status, r.body)
	}
}
