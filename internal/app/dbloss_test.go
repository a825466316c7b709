package app

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/testutil"
)

// waitFor polls cond (a log read, an API call) until it holds or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(within); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWorkerThatLosesTheDatabaseReconnects: a worker process whose connections to the PostgreSQL
// store are cut (a network loss, a database restart) says so in its log, takes no run while it
// cannot reach the store, says when it can again, and then takes the run that was queued
// meanwhile, with no restart. The database the other tests share stays up: the cut is a proxy's.
func TestWorkerThatLosesTheDatabaseReconnects(t *testing.T) {
	t.Parallel()
	pg := testutil.Postgres(t)
	u, err := url.Parse(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testutil.NewProxy(t, u.Host)
	u.Host = proxy.Addr
	files := t.TempDir()
	if err := os.WriteFile(filepath.Join(files, "in.csv"), []byte("id,name\n1,a\n2,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	api := testConfig(t)
	api.DatabaseURL, api.RunWorkers, api.FileRoots = pg.URL, 0, []string{files}
	api.AdminPassword = "Lost-Database-Passw0rd-3"
	apiNode := start(t, api, Options{})

	wcfg := api
	// wcfg keeps api.DataDir: the same development SECRET_KEY file as the API node.
	wcfg.DatabaseURL = u.String()
	wcfg.RunLease = 3 * time.Second // a heartbeat every 500 ms
	worker := start(t, wcfg, Options{Worker: &WorkerOptions{Concurrency: 1}})
	waitFor(t, "the worker to register", 20*time.Second, func() bool {
		return strings.Contains(worker.logs.String(), "worker registered")
	})

	admin := signIn(t, apiNode, api.AdminPassword)
	var p struct{ ID string }
	if st := admin.call(http.MethodPost, "/api/v1/pipelines", `version: 1
name: through-the-cut
sources:
  - {id: in, type: csv, config: {path: in.csv}}
destinations:
  - {id: out, type: ndjson, inputs: [in], config: {path: out.ndjson}}
`, &p); st != http.StatusCreated {
		t.Fatalf("create pipeline: %d", st)
	}

	proxy.Cut()
	waitFor(t, "the worker to say it lost the database", 20*time.Second, func() bool {
		return strings.Contains(worker.logs.String(), "the metadata database cannot be reached: this worker takes no new jobs until it can")
	})
	var run struct {
		ID       string
		Status   string
		Error    string
		Attempts []struct {
			WorkerID string `json:"worker_id"`
		}
	}
	if st := admin.call(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", nil, &run); st != http.StatusAccepted {
		t.Fatalf("run: %d", st)
	}
	// A negative, so a window: four heartbeats and two fetch polls of a worker that could reach
	// the store would have taken the run in that time. It still waits; the loss is logged once.
	cut := worker.logs.String()
	time.Sleep(2 * time.Second)
	admin.call(http.MethodGet, "/api/v1/runs/"+run.ID, nil, &run)
	if run.Status != "queued" {
		t.Fatalf("while the worker cannot reach the store the run is %s, want queued", run.Status)
	}
	if strings.Count(worker.logs.String(), "cannot be reached") != strings.Count(cut, "cannot be reached") {
		t.Fatal("the loss was logged again at each failed heartbeat; want once per loss")
	}

	proxy.Restore()
	waitFor(t, "the worker to say it reached the database again", 30*time.Second, func() bool {
		return strings.Contains(worker.logs.String(), "the metadata database can be reached again: taking jobs")
	})
	waitFor(t, "the queued run to finish on the worker", 60*time.Second, func() bool {
		admin.call(http.MethodGet, "/api/v1/runs/"+run.ID, nil, &run)
		return run.Status == "succeeded" || run.Status == "failed" || run.Status == "cancelled"
	})
	if run.Status != "succeeded" {
		t.Fatalf("run %s: %s", run.Status, run.Error)
	}
	if len(run.Attempts) == 0 || run.Attempts[len(run.Attempts)-1].WorkerID != worker.app.queue.WorkerID() {
		t.Fatalf("attempts %+v, want the last on worker %s", run.Attempts, worker.app.queue.WorkerID())
	}
}
