package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
)

// A scheduled pipeline shows its schedule (plain words, the next five runs in its time zone);
// pause and resume change no version, are audited, and a paused schedule shows no next run.
func TestPipelineScheduleAndPause(t *testing.T) {
	e := setup(t, setupOptions{})
	p := e.fixtureScheduledPipeline("0 6 * * 1-5")
	var got Pipeline
	r := e.do(http.MethodGet, "/api/v1/pipelines/"+p.ID, e.tokens[auth.RoleViewer], nil)
	r.decode(t, &got)
	s := got.Schedule
	if r.status != http.StatusOK || s == nil {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	if s.Cron != "0 6 * * 1-5" || s.Timezone != "Europe/Berlin" || s.Misfire != "skip" || s.Paused ||
		s.Description != "At 06:00 on Monday to Friday" || len(s.NextRuns) != 5 {
		t.Fatalf("schedule = %+v", s)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for i, n := range s.NextRuns {
		l := n.In(berlin)
		if l.Hour() != 6 || l.Minute() != 0 || l.Weekday() == time.Saturday || l.Weekday() == time.Sunday || !n.After(time.Now()) {
			t.Errorf("next run %d = %s", i, l)
		}
		if i > 0 && !n.After(s.NextRuns[i-1]) {
			t.Errorf("next runs out of order: %v", s.NextRuns)
		}
	}
	if !strings.Contains(string(r.body), `+01:00"`) && !strings.Contains(string(r.body), `+02:00"`) {
		t.Errorf("next runs not in the schedule's time zone: %s", r.body)
	}

	// The list carries it too.
	var list Page[Pipeline]
	e.do(http.MethodGet, "/api/v1/pipelines", e.tokens[auth.RoleViewer], nil).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Schedule == nil || len(list.Items[0].Schedule.NextRuns) != 5 {
		t.Fatalf("list = %+v", list)
	}

	// A viewer may not pause; an executor may (pipelines:run).
	if r := e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/schedule/pause", e.tokens[auth.RoleViewer], nil); r.status != http.StatusForbidden {
		t.Fatalf("viewer pause: %d", r.status)
	}
	r = e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/schedule/pause", e.tokens[auth.RoleExecutor], nil)
	r.decode(t, &got)
	if r.status != http.StatusOK || got.Schedule == nil || !got.Schedule.Paused || len(got.Schedule.NextRuns) != 0 || got.Version != 1 {
		t.Fatalf("pause: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/schedule/resume", e.tokens[auth.RoleExecutor], nil)
	r.decode(t, &got)
	if r.status != http.StatusOK || got.Schedule.Paused || len(got.Schedule.NextRuns) != 5 || got.Version != 1 {
		t.Fatalf("resume: %d %s", r.status, r.body)
	}
	for _, action := range []string{"pipeline.schedule.pause", "pipeline.schedule.resume"} {
		ok := 0
		for _, a := range e.auditEntries(store.AuditFilter{Action: action, TargetID: p.ID}) {
			if a.Result == "success" && a.ActorName == "executor1" {
				ok++
			}
		}
		if ok != 1 {
			t.Errorf("%s: %d successful audit entries by executor1, want 1", action, ok)
		}
	}
	// No schedule: 409 that says so; unknown pipeline: 404.
	plain := e.fixturePipeline()
	if r := e.do(http.MethodPost, "/api/v1/pipelines/"+plain.ID+"/schedule/pause", e.tokens[auth.RoleExecutor], nil); r.status != http.StatusConflict ||
		!strings.Contains(string(r.body), "has no schedule") {
		t.Fatalf("pause without schedule: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPost, "/api/v1/pipelines/nope/schedule/resume", e.tokens[auth.RoleExecutor], nil); r.status != http.StatusNotFound {
		t.Fatalf("resume unknown: %d %s", r.status, r.body)
	}
}

func TestSchedulePreview(t *testing.T) {
	e := setup(t, setupOptions{})
	var p SchedulePreview
	r := e.do(http.MethodGet, "/api/v1/schedules/preview?cron=*/15+*+*+*+*&timezone=America/New_York", e.tokens[auth.RoleViewer], nil)
	r.decode(t, &p)
	if r.status != http.StatusOK || p.Description != "Every 15 minutes" || len(p.NextRuns) != 5 || p.Timezone != "America/New_York" {
		t.Fatalf("preview: %d %s", r.status, r.body)
	}
	for i := 1; i < 5; i++ {
		if d := p.NextRuns[i].Sub(p.NextRuns[i-1]); d != 15*time.Minute {
			t.Errorf("gap %d = %s", i, d)
		}
	}
	for _, tc := range []struct{ query, location, message string }{
		{"cron=", "query.cron", "required"},
		{"cron=61+*+*+*+*", "query.cron", "minute"},
		{"cron=*+*+*+*", "query.cron", "want 5 fields"},
		{"cron=@often", "query.cron", "unknown macro"},
		{"cron=0+*+*+*+*&timezone=Mars/Olympus", "query.timezone", "unknown time zone"},
	} {
		r := e.do(http.MethodGet, "/api/v1/schedules/preview?"+tc.query, e.tokens[auth.RoleViewer], nil)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), tc.location) || !strings.Contains(string(r.body), tc.message) {
			t.Errorf("%s: %d %s", tc.query, r.status, r.body)
		}
	}
}
