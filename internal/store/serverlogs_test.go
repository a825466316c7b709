package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

func testServerLogs(t *testing.T, s *store.Store, c *clock) {
	ctx := context.Background()
	t0 := c.Now()
	if err := s.AppendServerLogs(ctx, []store.ServerLog{{Level: "info"}}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("a record without a message: got %v, want ErrInvalid", err)
	}
	recs := []store.ServerLog{
		{Time: t0, Level: "info", Component: "http", Message: "request", RequestID: "req-1", User: "alice",
			Attrs: json.RawMessage(`{"route":"POST /api/v1/pipelines/{id}/run","status":202}`)},
		{Time: t0.Add(time.Second), Level: "info", Component: "runs", Message: "run started", RequestID: "req-1", RunID: "run-1"},
		{Time: t0.Add(2 * time.Second), Level: "warn", Component: "river", Message: "job retried", RunID: "run-1"},
		{Time: t0.Add(3 * time.Second), Level: "error", Component: "alerts", Message: "delivery failed\x00", Attrs: json.RawMessage(`{"error":"connection Refused"}`)},
		{Time: t0.Add(4 * time.Second), Level: "debug", Component: "http", Message: "request", RequestID: "req-2"},
	}
	if err := s.AppendServerLogs(ctx, recs); err != nil {
		t.Fatalf("append: %v", err)
	}
	ids := func(list []store.ServerLog) []string {
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = e.Message + "/" + e.Level
		}
		return out
	}
	cases := []struct {
		name string
		f    store.ServerLogFilter
		want int
	}{
		{"all", store.ServerLogFilter{}, 5},
		{"levels", store.ServerLogFilter{Level: []string{"warn", "error"}}, 2},
		{"component", store.ServerLogFilter{Component: "http"}, 2},
		{"request id", store.ServerLogFilter{RequestID: "req-1"}, 2},
		{"run id", store.ServerLogFilter{RunID: "run-1"}, 2},
		{"user", store.ServerLogFilter{User: "alice"}, 1},
		{"text in message", store.ServerLogFilter{Text: "STARTED"}, 1},
		{"text in attrs", store.ServerLogFilter{Text: "refused"}, 1},
		{"text with a LIKE wildcard is literal", store.ServerLogFilter{Text: "%"}, 0},
		{"time range", store.ServerLogFilter{From: t0.Add(time.Second), To: t0.Add(3 * time.Second)}, 2},
	}
	for _, tc := range cases {
		got, next, err := s.ListServerLogs(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(got) != tc.want || next != 0 {
			t.Errorf("%s: got %v (next %d), want %d records and no next page", tc.name, ids(got), next, tc.want)
		}
	}
	all, _, _ := s.ListServerLogs(ctx, store.ServerLogFilter{})
	if all[0].Level != "debug" || all[4].Message != "request" || all[4].User != "alice" || all[4].Component != "http" {
		t.Errorf("newest first with every field: %+v", all)
	}
	if all[1].Message != "delivery failed\uFFFD" {
		t.Errorf("NUL stored as U+FFFD: %q", all[1].Message)
	}
	var attrs map[string]any
	if err := json.Unmarshal(all[4].Attrs, &attrs); err != nil || attrs["status"] != float64(202) {
		t.Errorf("attrs: %s (%v)", all[4].Attrs, err)
	}

	// Cursor pagination: pages of 2 walk every record once, newest first.
	var seen []int64
	var cursor int64
	for page := 0; page < 5; page++ {
		got, next, err := s.ListServerLogs(ctx, store.ServerLogFilter{Limit: 2, Before: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got {
			seen = append(seen, e.ID)
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	if len(seen) != 5 {
		t.Fatalf("paged %d records, want 5: %v", len(seen), seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] >= seen[i-1] {
			t.Fatalf("pages not strictly newest first: %v", seen)
		}
	}

	// Retention: records and run-less log lines older than the cutoff go, in batches; run lines stay.
	p := newPipeline(t, s, "serverlogs")
	run := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1, RequestID: "req-1"}))(t)
	if err := s.AppendLogs(ctx, []store.LogEntry{
		{Time: t0, Level: "info", Message: "old run line", RunID: run.ID},
		{Time: t0, Level: "info", Message: "old line of no run"},
	}); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteServerLogsBefore(ctx, t0.Add(2*time.Second), 1)
	if err != nil || n != 1 {
		t.Fatalf("first batch: %d, %v; want 1", n, err)
	}
	n, err = s.DeleteServerLogsBefore(ctx, t0.Add(2*time.Second), 10)
	if err != nil || n != 2 {
		t.Fatalf("second batch: %d, %v; want the other old record and the run-less line", n, err)
	}
	left, _, _ := s.ListServerLogs(ctx, store.ServerLogFilter{})
	if len(left) != 3 || left[2].Message != "job retried" {
		t.Errorf("after retention: %v", ids(left))
	}
	runLines, _, err := s.ListLogs(ctx, store.LogFilter{RunID: run.ID})
	if err != nil || len(runLines) != 1 {
		t.Errorf("the run's own line stays: %v %v", runLines, err)
	}

	// A run keeps the request that started it, and runs are found by it.
	got, _ := must2(s.ListRuns(ctx, store.RunFilter{RequestID: "req-1"}))(t)
	if len(got) != 1 || got[0].ID != run.ID || got[0].RequestID != "req-1" {
		t.Errorf("runs of req-1: %+v", got)
	}
}
