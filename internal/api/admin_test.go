package api

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
)

func TestRetentionSettingsAPI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, opts setupOptions) {
		e := setup(t, opts)
		admin := e.tokens[auth.RoleAdmin]
		var got RetentionSettingsView
		e.do(http.MethodGet, "/api/v1/admin/settings/retention", admin, nil).decode(t, &got)
		want := RetentionSettings{Runs: "90d", DeadLetters: "30d", ServerLogs: "30d", Uploads: "7d", StagedOutputs: "1d",
			Metrics1m: "30d", Metrics1h: "365d", Metrics1d: "1825d"}
		if got.Settings != want || got.Defaults != want || got.UpdatedAt != nil || got.CleanupInterval != "1h" {
			t.Fatalf("defaults = %+v", got)
		}

		next := RetentionSettings{Runs: "14d", DeadLetters: "7d", ServerLogs: "48h", Uploads: "2d", StagedOutputs: "6h"}
		r := e.do(http.MethodPut, "/api/v1/admin/settings/retention", admin, next)
		if r.status != http.StatusOK {
			t.Fatalf("put: %d %s", r.status, r.body)
		}
		e.do(http.MethodGet, "/api/v1/admin/settings/retention", e.tokens[auth.RoleDeveloper], nil).decode(t, &got)
		// The metrics periods were left out: they keep their values.
		if got.Settings != (RetentionSettings{Runs: "14d", DeadLetters: "7d", ServerLogs: "2d", Uploads: "2d", StagedOutputs: "6h",
			Metrics1m: "30d", Metrics1h: "365d", Metrics1d: "1825d"}) ||
			got.UpdatedBy != e.users[auth.RoleAdmin].Username || got.UpdatedAt == nil || got.Defaults != want {
			t.Fatalf("after put = %+v", got)
		}
		entries := e.auditEntries(store.AuditFilter{Action: "settings.retention_update"})
		var saved struct {
			Settings map[string]string `json:"settings"`
		}
		if len(entries) != 1 || entries[0].Result != "success" || json.Unmarshal(entries[0].Details, &saved) != nil || saved.Settings["runs"] != "14d" {
			t.Fatalf("audit = %+v", entries)
		}

		// Bad values: one 422 naming every bad field; nothing changes.
		bad := next
		bad.Runs, bad.Uploads, bad.StagedOutputs, bad.Metrics1h = "0d", "soon", "30m", "3651d"
		r = e.do(http.MethodPut, "/api/v1/admin/settings/retention", admin, bad)
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("bad put: %d %s", r.status, r.body)
		}
		p := r.problem(t)
		msgs := map[string]string{}
		for _, d := range p.Errors {
			msgs[d.Location] = d.Message
		}
		for loc, part := range map[string]string{"body.runs": "at least 1h", "body.uploads": `"soon" is not a period`, "body.staged_outputs": "such as 90d or 36h",
			"body.metrics_1h": "at most 3650d"} {
			if !strings.Contains(msgs[loc], part) {
				t.Errorf("%s: %q, want it to contain %q (all: %v)", loc, msgs[loc], part, msgs)
			}
		}
		e.do(http.MethodGet, "/api/v1/admin/settings/retention", admin, nil).decode(t, &got)
		if got.Settings.Runs != "14d" {
			t.Fatalf("a refused put changed the settings: %+v", got.Settings)
		}
		// The metrics periods are saved when given, and kept when a later body leaves them out.
		withMetrics := next
		withMetrics.Metrics1m, withMetrics.Metrics1h, withMetrics.Metrics1d = "7d", "90d", "730d"
		if r := e.do(http.MethodPut, "/api/v1/admin/settings/retention", admin, withMetrics); r.status != http.StatusOK {
			t.Fatalf("put with metrics periods: %d %s", r.status, r.body)
		}
		if r := e.do(http.MethodPut, "/api/v1/admin/settings/retention", admin, next); r.status != http.StatusOK {
			t.Fatalf("put without metrics periods: %d %s", r.status, r.body)
		}
		e.do(http.MethodGet, "/api/v1/admin/settings/retention", admin, nil).decode(t, &got)
		if got.Settings.Metrics1m != "7d" || got.Settings.Metrics1h != "90d" || got.Settings.Metrics1d != "730d" {
			t.Fatalf("metrics periods after two puts: %+v", got.Settings)
		}
		// A missing field of the others is refused (the body replaces them).
		r = e.do(http.MethodPut, "/api/v1/admin/settings/retention", admin, map[string]string{"runs": "10d"})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "dead_letters") {
			t.Fatalf("partial put: %d %s", r.status, r.body)
		}
	})
}

func TestCleanupAPI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, opts setupOptions) {
		e := setup(t, opts)
		ctx := context.Background()
		u := e.users[auth.RoleViewer]
		if _, err := e.store.CreateRefreshToken(ctx, store.RefreshToken{UserID: u.ID, FamilyID: "old", TokenHash: "old-hash",
			ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		// An upload interrupted eight days ago left its temp file.
		partial := filepath.Join(e.data.deps.UploadDir, ".upload-42.part")
		if err := os.MkdirAll(filepath.Dir(partial), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(partial, []byte("a,b\n1,2\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-8 * 24 * time.Hour)
		if err := os.Chtimes(partial, old, old); err != nil {
			t.Fatal(err)
		}

		if r := e.do(http.MethodPost, "/api/v1/admin/cleanup", e.tokens[auth.RoleDesigner], nil); r.status != http.StatusForbidden {
			t.Fatalf("designer cleanup: %d", r.status)
		}
		var rep CleanupReport
		r := e.do(http.MethodPost, "/api/v1/admin/cleanup", e.tokens[auth.RoleAdmin], nil)
		if r.status != http.StatusOK {
			t.Fatalf("cleanup: %d %s", r.status, r.body)
		}
		r.decode(t, &rep)
		if rep.RefreshTokens != 1 || rep.Uploads != 1 || rep.UploadBytes != 8 || rep.Total != 2 || rep.Runs != 0 {
			t.Fatalf("report = %+v", rep)
		}
		if _, err := os.Stat(partial); !os.IsNotExist(err) {
			t.Fatalf("partial upload still there: %v", err)
		}
		entries := e.auditEntries(store.AuditFilter{Action: "retention.cleanup", Result: "success"})
		if len(entries) != 1 || entries[0].Result != "success" || entries[0].ActorID != e.users[auth.RoleAdmin].ID {
			t.Fatalf("audit = %+v", entries)
		}
		var details struct {
			Trigger string         `json:"trigger"`
			Removed map[string]any `json:"removed"`
		}
		if err := json.Unmarshal(entries[0].Details, &details); err != nil {
			t.Fatal(err)
		}
		if details.Trigger != "manual" || details.Removed["refresh_tokens"] != float64(1) || details.Removed["uploads"] != float64(1) {
			t.Fatalf("audit details = %s", entries[0].Details)
		}
	})
}
