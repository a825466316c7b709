package runs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/schemachange"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// TestSchemaReview: under review, a column added and a column retyped in a PostgreSQL source between
// two runs pause the second run awaiting approval with both changes; an approval applies them and
// the run completes, a rejection fails it; every decision is in the audit log.
func TestSchemaReview(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		for _, approve := range []bool{true, false} {
			t.Run(fmt.Sprintf("approve=%v", approve), func(t *testing.T) {
				pg := testutil.Postgres(t)
				bg := context.Background()
				conn, err := pgx.Connect(bg, pg.URL)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(bg)
				exec := func(q string) {
					t.Helper()
					if _, err := conn.Exec(bg, q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
				exec("CREATE TABLE src (id bigint PRIMARY KEY, qty integer); INSERT INTO src VALUES (1, 10), (2, 20)")
				e := setup(t, b, setupOptions{conns: []connector.Connector{postgres.New()}})
				spec := fmt.Sprintf(`{"version":1,"name":"review","sources":[{"id":"in","type":"postgres","config":{"url":%q,"table":"src"}}],
"destinations":[{"id":"out","type":"postgres","inputs":["in"],"config":{"url":%[1]q,"table":"dst"},"write":{"mode":"append","schema_changes":"review"}}]}`, pg.URL)
				p := e.createPipeline(testutil.Name("review"), spec)
				events, stop := e.svc.Broker().Subscribe(forPipeline(p.ID), 1024)
				defer stop()
				run1, err := e.svc.Start(bg, p.ID, 0, "manual", runs.Actor{Name: "tester"})
				if err != nil {
					t.Fatal(err)
				}
				if ev := await(t, events, "first run end", terminal); ev.Status != store.RunSucceeded {
					t.Fatalf("first run: %s %s", ev.Status, ev.Error)
				}
				snaps, err := e.st.SchemaSnapshots(bg, p.ID)
				if err != nil || len(snaps["out"]) == 0 {
					t.Fatalf("no snapshot after the first run %s: %v %v", run1.ID, snaps, err)
				}
				exec("ALTER TABLE src ADD COLUMN note text; ALTER TABLE src ALTER COLUMN qty TYPE numeric(12,2)")
				exec("INSERT INTO src VALUES (3, 30.5, 'new')")
				run2, err := e.svc.Start(bg, p.ID, 0, "manual", runs.Actor{Name: "tester"})
				if err != nil {
					t.Fatal(err)
				}
				await(t, events, "awaiting approval", func(ev runs.Event) bool {
					return ev.RunID == run2.ID && ev.Status == store.RunAwaitingApproval
				})
				paused, err := e.st.GetRun(bg, run2.ID)
				if err != nil {
					t.Fatal(err)
				}
				rv, err := runs.ReviewOf(paused)
				if err != nil || rv == nil {
					t.Fatalf("review: %v %v", rv, err)
				}
				kinds := map[string]schemachange.Kind{}
				for _, c := range rv.Changes {
					kinds[c.Column] = c.Kind
				}
				if rv.Status != runs.ReviewPending || kinds["note"] != schemachange.Added || kinds["qty"] != schemachange.Widened || len(rv.Changes) != 2 {
					t.Fatalf("review = %+v, want note added and qty widened", rv)
				}
				if paused.WorkerID != "" || paused.HeartbeatAt != nil {
					t.Errorf("a paused run holds worker %q / heartbeat %v", paused.WorkerID, paused.HeartbeatAt)
				}
				stale, err := e.st.FindStaleRuns(bg, paused.UpdatedAt.Add(24*3600e9))
				if err != nil || len(stale) != 0 {
					t.Errorf("a paused run is taken as stale: %v %v", stale, err)
				}
				var n int
				if err := conn.QueryRow(bg, "SELECT COUNT(*) FROM dst").Scan(&n); err != nil || n != 2 {
					t.Errorf("dst has %d rows while awaiting approval (%v), want 2", n, err)
				}
				if approve {
					if _, err := e.svc.Approve(bg, run2.ID, "designer1", "looks right"); err != nil {
						t.Fatal(err)
					}
					if ev := await(t, events, "approved run end", func(ev runs.Event) bool { return ev.RunID == run2.ID && terminal(ev) }); ev.Status != store.RunSucceeded {
						t.Fatalf("approved run: %s %s", ev.Status, ev.Error)
					}
					if err := conn.QueryRow(bg, "SELECT COUNT(*) FROM dst WHERE note = 'new' AND qty = 30.5").Scan(&n); err != nil || n != 1 {
						t.Errorf("after approval the new column and the widened value are not in dst: %d %v", n, err)
					}
				} else {
					if _, err := e.svc.Reject(bg, run2.ID, "designer1", "not yet"); err != nil {
						t.Fatal(err)
					}
					r, _ := e.st.GetRun(bg, run2.ID)
					if r.Status != store.RunFailed || !strings.Contains(r.Error, `column "note": column added`) || !strings.Contains(r.Error, "not yet") {
						t.Errorf("rejected run: %s %q", r.Status, r.Error)
					}
				}
				if _, err := e.svc.Approve(bg, run2.ID, "designer1", ""); !errors.Is(err, runs.ErrNotAwaiting) {
					t.Errorf("a second decision: err = %v, want ErrNotAwaiting", err)
				}
				audit, _, err := e.st.ListAudit(bg, store.AuditFilter{})
				if err != nil {
					t.Fatal(err)
				}
				var pending bool
				for _, a := range audit {
					if a.Action == "run.schema_changes" && a.TargetID == run2.ID {
						var d struct{ Actions []schemachange.Action }
						_ = json.Unmarshal(a.Details, &d)
						if len(d.Actions) == 2 && d.Actions[0] == schemachange.Pending {
							pending = true
						}
					}
				}
				if !pending {
					t.Errorf("the audit log has no pending schema decision for run %s", run2.ID)
				}
			})
		}
	})
}
