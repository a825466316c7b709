package app

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// TestEventBusFollowsTheStore: the composition root carries run events in process on SQLite,
// through PostgreSQL LISTEN/NOTIFY on a PostgreSQL store, through Redis when REDIS_URL is set; the
// run service publishes on that bus and the serving line and /metrics say so.
func TestEventBusFollowsTheStore(t *testing.T) {
	for _, tc := range []struct {
		name, kind string
		set        func(t *testing.T, cfg *testConfigEdit)
	}{
		{"sqlite", EventsInProcess, func(*testing.T, *testConfigEdit) {}},
		{"postgres", EventsPostgres, func(t *testing.T, c *testConfigEdit) { c.databaseURL = testutil.Postgres(t).URL }},
		{"postgres and redis", EventsRedis, func(t *testing.T, c *testConfigEdit) {
			c.databaseURL = testutil.Postgres(t).URL
			r := testutil.RedisURL(t)
			c.redisURL, c.prefix = r.URL, r.Prefix
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			var edit testConfigEdit
			tc.set(t, &edit)
			cfg.DatabaseURL, cfg.RedisURL = edit.databaseURL, edit.redisURL
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			r := start(t, cfg, Options{RedisKeyPrefix: edit.prefix})
			b, kind := r.app.Events()
			if kind != tc.kind || r.app.Runs().Events() != b {
				t.Fatalf("bus %q (the run service's: %v), want %q", kind, r.app.Runs().Events() == b, tc.kind)
			}
			// Run logs the serving line as it starts: poll for it.
			for deadline := time.Now().Add(10 * time.Second); !strings.Contains(r.logs.String(), `"events":"`+tc.kind+`"`); {
				if time.Now().After(deadline) {
					t.Fatalf("the serving line does not name the bus:\n%s", r.logs.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			sub, stop := b.Subscribe(runs.ForRun("r1"), 16)
			defer stop()
			b.Publish(runs.Event{Type: runs.EventStatus, RunID: "r1", Status: store.RunRunning})
			select {
			case e := <-sub:
				if e.Seq != runs.SeqQueued+1 {
					t.Fatalf("event %+v, want seq %d", e, runs.SeqQueued+1)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the event did not come back through the bus")
			}
			res, err := http.Get(r.base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			for _, m := range []string{"aggregator_run_events_lost_total 0", "aggregator_run_events_dropped_total 0"} {
				if !strings.Contains(string(body), m) {
					t.Errorf("/metrics lacks %q", m)
				}
			}
		})
	}
}

type testConfigEdit struct{ databaseURL, redisURL, prefix string }
