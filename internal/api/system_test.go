package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/auth"
)

func TestSystemLogsAndRequestTrace(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts setupOptions) {
		e := setup(t, opts)
		admin := e.tokens[auth.RoleAdmin]
		p := e.fixturePipeline()
		const reqID = "trace-request-0001"
		var run Run
		r := e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", admin, nil, "X-Request-ID", reqID)
		if r.status != http.StatusAccepted {
			t.Fatalf("run: %d %s", r.status, r.body)
		}
		r.decode(t, &run)
		if run.RequestID != reqID {
			t.Fatalf("the run does not keep its request id: %+v", run)
		}
		run = e.awaitRun(run.ID)
		e.do(http.MethodGet, "/api/v1/pipelines?secret_password=x", admin, nil)
		// Flush what was logged so far (the writer is asynchronous).
		if err := e.logWriter.Close(context.Background()); err != nil {
			t.Fatal(err)
		}

		type page struct {
			Items      []SystemLog `json:"items"`
			NextCursor string      `json:"next_cursor"`
			Writer     *struct {
				Written uint64 `json:"written"`
				Dropped uint64 `json:"dropped"`
			} `json:"writer"`
		}
		list := func(query string) page {
			t.Helper()
			var pg page
			r := e.do(http.MethodGet, "/api/v1/system/logs?"+query, admin, nil)
			if r.status != http.StatusOK {
				t.Fatalf("list %s: %d %s", query, r.status, r.body)
			}
			r.decode(t, &pg)
			return pg
		}
		byReq := list("request_id=" + reqID)
		if len(byReq.Items) == 0 || byReq.Writer == nil || byReq.Writer.Written == 0 {
			t.Fatalf("records of the request: %+v", byReq)
		}
		var access *SystemLog
		for i, it := range byReq.Items {
			if it.RequestID != reqID {
				t.Fatalf("filter by request id returned %+v", it)
			}
			if it.Message == "request" {
				access = &byReq.Items[i]
			}
		}
		if access == nil || access.Component != "" && access.Level != "info" || access.User != "admin1" ||
			!strings.Contains(string(access.Attrs), `"status":202`) {
			t.Fatalf("the access log record: %+v", access)
		}
		if got := list("level=error"); len(got.Items) != 0 {
			t.Errorf("no error was logged, got %+v", got.Items)
		}
		if got := list("q=" + url.QueryEscape("/api/v1/pipelines/"+p.ID+"/run")); len(got.Items) == 0 {
			t.Errorf("text search found nothing")
		}
		if got := list("run_id=" + run.ID + "&request_id=" + reqID); len(got.Items) != 0 {
			t.Errorf("filters combine (AND): the request's access records name no run, got %+v", got.Items)
		}
		// Cursor pages of one walk the records once each.
		first := list("limit=1")
		second := list("limit=1&cursor=" + first.NextCursor)
		if first.NextCursor == "" || len(second.Items) != 1 || second.Items[0].ID >= first.Items[0].ID {
			t.Fatalf("cursor pages: %+v then %+v", first, second)
		}
		for _, bad := range []string{"cursor=abc", "level=fatal", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "limit=100000"} {
			if r := e.do(http.MethodGet, "/api/v1/system/logs?"+bad, admin, nil); r.status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %s, want 422", bad, r.status, r.body)
			}
		}
		if r := e.do(http.MethodGet, "/api/v1/system/logs", e.tokens[auth.RoleDeveloper], nil); r.status != http.StatusForbidden {
			t.Errorf("a developer reads system logs: %d", r.status)
		}

		// The trace: the request's records, its audit entry, the run it started and the run's lines.
		var trace struct {
			Logs  []SystemLog  `json:"logs"`
			Audit []AuditEntry `json:"audit"`
			Runs  []TracedRun  `json:"runs"`
		}
		r = e.do(http.MethodGet, "/api/v1/system/requests/"+reqID, admin, nil)
		if r.status != http.StatusOK {
			t.Fatalf("trace: %d %s", r.status, r.body)
		}
		r.decode(t, &trace)
		if len(trace.Logs) == 0 || len(trace.Audit) != 1 || trace.Audit[0].RequestID != reqID || len(trace.Runs) != 1 {
			t.Fatalf("trace: %+v", trace)
		}
		if trace.Runs[0].Run.ID != run.ID || len(trace.Runs[0].Logs) == 0 {
			t.Fatalf("the traced run and its lines: %+v", trace.Runs[0])
		}
		var none struct {
			Logs  []SystemLog  `json:"logs"`
			Audit []AuditEntry `json:"audit"`
			Runs  []TracedRun  `json:"runs"`
		}
		e.do(http.MethodGet, "/api/v1/system/requests/unknown-request", admin, nil).decode(t, &none)
		if none.Logs == nil || none.Audit == nil || none.Runs == nil || len(none.Logs)+len(none.Audit)+len(none.Runs) != 0 {
			t.Errorf("an unknown request: empty lists, got %+v", none)
		}
		// Secrets named in a query string never reach the store's attributes unredacted? The path
		// is logged, not the query: the value must not appear anywhere.
		for _, it := range list("limit=500").Items {
			if strings.Contains(string(it.Attrs), "secret_password=x") {
				t.Fatalf("a query string was stored: %s", it.Attrs)
			}
		}
	})
}

func TestSystemHealth(t *testing.T) {
	e := setup(t, setupOptions{})
	var h SystemHealth
	r := e.do(http.MethodGet, "/api/v1/system/health", e.tokens[auth.RoleAdmin], nil)
	if r.status != http.StatusOK {
		t.Fatalf("health: %d %s", r.status, r.body)
	}
	r.decode(t, &h)
	if h.Store.Status != "ok" || h.Store.Dialect != "sqlite" || h.Store.SchemaVersion != h.Store.LatestSchema {
		t.Errorf("store: %+v", h.Store)
	}
	if h.Redis.Status != "off" || h.Redis.Configured {
		t.Errorf("redis without REDIS_URL: %+v", h.Redis)
	}
	if h.Disk.Status == "error" || h.Disk.TotalBytes == 0 || h.Disk.FreeBytes > h.Disk.TotalBytes || h.Disk.Path == "" {
		t.Errorf("disk: %+v", h.Disk)
	}
	if h.Workers.Status != "warn" || h.Workers.Alive != 0 {
		t.Errorf("no worker registered: %+v", h.Workers)
	}
	if h.Build.Version != "test" || h.Build.Commit != "3f2c1e9a0b7d" || h.Build.GoVersion == "" || h.Build.OS == "" {
		t.Errorf("build: %+v", h.Build)
	}
	if h.Logs.Status != "ok" || h.Logs.Writer == nil || h.Logs.Writer.Capacity == 0 {
		t.Errorf("log writer: %+v", h.Logs)
	}
	if h.Status != "warn" {
		t.Errorf("overall %q, want warn (no worker)", h.Status)
	}
}
