package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

// A rejected row may hold NUL characters (a CSV line with a NUL byte): its dead letter is stored
// with U+FFFD in their place on both dialects instead of failing the run on PostgreSQL.
func TestDeadLetterWithNUL(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name string
		open func(*testing.T, func() time.Time) *store.Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			s := d.open(t, newClock().Now)
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			p := newPipeline(t, s, "nul")
			r := must(s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}))(t)
			tests := []struct {
				in     store.DeadLetter
				reason string
				source string
				raw    string
			}{
				{in: store.DeadLetter{Source: "a\x00.csv", Field: "id", Reason: "invalid int \"2\x00\"", Raw: json.RawMessage(`{"raw":"2\u0000,x","values":{"id":"2\u0000"}}`)},
					reason: "invalid int \"2\uFFFD\"", source: "a\uFFFD.csv", raw: `{"raw":"2\ufffd,x","values":{"id":"2\ufffd"}}`},
				// An escaped backslash followed by u0000 is text, not a NUL: kept as sent.
				{in: store.DeadLetter{Reason: "plain", Raw: json.RawMessage(`{"raw":"a\\u0000b"}`)},
					reason: "plain", raw: `{"raw":"a\\u0000b"}`},
			}
			rows := make([]store.DeadLetter, len(tests))
			for i, tt := range tests {
				rows[i] = tt.in
				rows[i].RunID = r.ID
			}
			if err := s.AddDeadLetters(ctx, rows); err != nil {
				t.Fatalf("AddDeadLetters: %v", err)
			}
			got := must(s.ListDeadLetters(ctx, r.ID, 0, 10))(t)
			if len(got) != len(tests) {
				t.Fatalf("%d dead letters, want %d", len(got), len(tests))
			}
			for i, tt := range tests {
				if got[i].Reason != tt.reason || got[i].Source != tt.source || !jsonEqual(got[i].Raw, json.RawMessage(tt.raw)) {
					t.Errorf("dead letter %d = reason %q source %q raw %s, want %q %q %s", i, got[i].Reason, got[i].Source, got[i].Raw, tt.reason, tt.source, tt.raw)
				}
			}
		})
	}
}

// An audit entry whose details or names hold a NUL character (a login attempt with one) is recorded,
// with U+FFFD in its place, on both dialects.
func TestAuditWithNUL(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name string
		open func(*testing.T, func() time.Time) *store.Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			s := d.open(t, newClock().Now)
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			a := must(s.AppendAudit(ctx, store.AuditEntry{Action: "auth.login", Result: "failure", ActorName: "ad\x00min",
				TargetID: "x\x00", Details: json.RawMessage(`{"login":"ad\u0000min"}`)}))(t)
			got := must2(s.ListAudit(ctx, store.AuditFilter{Action: "auth.login"}))
			items, _ := got(t)
			if len(items) != 1 || items[0].ID != a.ID || items[0].ActorName != "ad\uFFFDmin" || items[0].TargetID != "x\uFFFD" ||
				!jsonEqual(items[0].Details, json.RawMessage(`{"login":"ad\ufffdmin"}`)) {
				t.Fatalf("audit entries %+v, want the one appended with U+FFFD for NUL", items)
			}
		})
	}
}
