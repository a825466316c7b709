package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
)

// TestDeploymentControlThroughTheAPI: GET /runs/{id} of a deployed run has its deployment; pause,
// resume, restart and stop move it (executor and above, audited); a control that does not apply is
// 409 naming the state, and a run that is not a deployment is 409 too.
func TestDeploymentControlThroughTheAPI(t *testing.T) {
	e := setup(t, setupOptions{})
	run := e.fixtureDeployment(store.DeploymentRunning)
	r := e.do(http.MethodGet, "/api/v1/runs/"+run.ID, e.tokens[auth.RoleViewer], nil)
	var got Run
	r.decode(t, &got)
	if r.status != http.StatusOK || got.Deployment == nil || got.Deployment.State != store.DeploymentRunning || got.Deployment.Parallelism != 1 ||
		len(got.Deployment.Instances) != 1 || got.Deployment.Instances[0].WorkerID != "elsewhere" || got.Deployment.Instances[0].State != "running" {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPost, "/api/v1/runs/"+run.ID+"/pause", e.tokens[auth.RoleViewer], nil); r.status != http.StatusForbidden {
		t.Fatalf("viewer pauses: %d", r.status)
	}
	steps := []struct {
		control string
		status  int
		state   store.DeploymentState
		detail  string
	}{
		{"resume", http.StatusConflict, "", "cannot resume run " + run.ID + ": the deployment is running"},
		{"pause", http.StatusOK, store.DeploymentPaused, ""},
		{"pause", http.StatusConflict, "", "cannot pause run " + run.ID + ": the deployment is paused"},
		{"resume", http.StatusOK, store.DeploymentRunning, ""},
		{"restart", http.StatusOK, store.DeploymentRestarting, ""},
		{"stop", http.StatusOK, store.DeploymentStopping, ""},
		{"restart", http.StatusConflict, "", "cannot restart run " + run.ID + ": the deployment is stopping"},
	}
	for _, s := range steps {
		r := e.do(http.MethodPost, "/api/v1/runs/"+run.ID+"/"+s.control, e.tokens[auth.RoleExecutor], nil)
		if r.status != s.status {
			t.Fatalf("%s: %d %s, want %d", s.control, r.status, r.body, s.status)
		}
		if s.status != http.StatusOK {
			if p := r.problem(t); !strings.Contains(p.Detail, s.detail) {
				t.Fatalf("%s: detail %q, want %q", s.control, p.Detail, s.detail)
			}
			continue
		}
		var got Run
		r.decode(t, &got)
		if got.Deployment == nil || got.Deployment.State != s.state {
			t.Fatalf("%s: %s, want state %s", s.control, r.body, s.state)
		}
	}
	if got := e.auditEntries(store.AuditFilter{Action: "run.pause", TargetID: run.ID}); len(got) != 3 {
		t.Fatalf("pause audit entries = %+v, want the refused viewer, the pause and the conflict", got)
	}
	plain := e.fixtureRun(true)
	r = e.do(http.MethodPost, "/api/v1/runs/"+plain.ID+"/stop", e.tokens[auth.RoleExecutor], nil)
	if r.status != http.StatusConflict || !strings.Contains(r.problem(t).Detail, "not a deployment") {
		t.Fatalf("stop of a run that is not a deployment: %d %s", r.status, r.body)
	}
}
