package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/runner"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// replaySpec reads customers.csv, checks e-mails with a validate rule (regex) and upserts the rows
// that pass into a real PostgreSQL table by id.
func replaySpec(schema, regex string) string {
	return fmt.Sprintf(`version: 1
name: replay-customers
sources:
  - id: customers
    type: csv
    config: {path: customers.csv}
transforms:
  - id: check
    type: validate
    inputs: [customers]
    config: {rules: [{field: email, regex: %q}]}
destinations:
  - id: db
    type: postgres
    inputs: [check]
    config: {host: 127.0.0.1, port: 5432, user: postgres, database: test, schema: %s, table: customers}
    write: {mode: upsert, key: [id]}
error_policy: {on_reject: dead_letter}
`, regex, schema)
}

const replayCSV = "id,name,email\n1,Ada,ada@example.com\n2,Bob,bob-at-example\n3,Cy,cy-at-example\n"

// deadLetterList downloads a run's dead letters (NDJSON).
func (e *env) deadLetterList(runID string) []runner.DeadLetter {
	e.t.Helper()
	r := e.do(http.MethodGet, "/api/v1/runs/"+runID+"/dead-letters?format=ndjson", e.tokens[auth.RoleViewer], nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("dead letters: %d %s", r.status, r.body)
	}
	var out []runner.DeadLetter
	for _, line := range strings.Split(strings.TrimSpace(string(r.body)), "\n") {
		if line == "" {
			continue
		}
		var d runner.DeadLetter
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			e.t.Fatalf("dead letter %q: %v", line, err)
		}
		out = append(out, d)
	}
	return out
}

// TestReplayDeadLettersEndToEnd: a run whose validate rule rejects two rows; one row is fixed by
// editing its values and the replay writes it once into the PostgreSQL upsert destination; the
// other stays a dead letter of the replay with its reason; a second replay adds no duplicate; after
// the pipeline's rule is changed and saved, replaying the replay lands the last row.
func TestReplayDeadLettersEndToEnd(t *testing.T) {
	pg := testutil.Postgres(t)
	e := setup(t, setupOptions{})
	ctx := context.Background()
	if err := os.WriteFile(filepath.Join(e.data.files, "customers.csv"), []byte(replayCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	designer := e.tokens[auth.RoleDesigner]
	r := e.do(http.MethodPost, "/api/v1/pipelines", designer, replaySpec(pg.Schema, `^[^@]+@[^@]+$`))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var p Pipeline
	r.decode(t, &p)
	var run Run
	e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", designer, nil).decode(t, &run)
	if run = e.awaitRun(run.ID); run.Status != "succeeded" || run.ReplayOf != "" {
		t.Fatalf("first run: %+v", run)
	}
	db, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	table := func() map[int64]string {
		t.Helper()
		rows, err := db.Query(ctx, "SELECT id, email FROM "+pg.Schema+".customers ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]string{}
		n := 0
		for rows.Next() {
			var id int64
			var email string
			if err := rows.Scan(&id, &email); err != nil {
				t.Fatal(err)
			}
			got[id] = email
			n++
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		if n != len(got) {
			t.Fatalf("table holds %d rows for %d ids: duplicates", n, len(got))
		}
		return got
	}
	if got := table(); len(got) != 1 || got[1] != "ada@example.com" {
		t.Fatalf("after the first run: %v", got)
	}
	dls := e.deadLetterList(run.ID)
	if len(dls) != 2 || dls[0].ID == 0 || dls[0].Node != "check" || dls[0].Values["email"] != "bob-at-example" {
		t.Fatalf("dead letters of the first run: %+v", dls)
	}
	bob, cy := dls[0], dls[1]

	// Refusals: roles below designer, unknown dead letter, bad value, a run without dead letters.
	replayPath := "/api/v1/runs/" + run.ID + "/dead-letters/replay"
	fix := map[string]any{"edits": []any{map[string]any{"id": bob.ID, "values": map[string]any{"email": "bob@example.com"}}}}
	for _, role := range []auth.Role{auth.RoleExecutor, auth.RoleViewer} {
		if r := e.do(http.MethodPost, replayPath, e.tokens[role], fix); r.status != http.StatusForbidden {
			t.Fatalf("%s replays: %d", role, r.status)
		}
	}
	r = e.do(http.MethodPost, replayPath, designer, map[string]any{"edits": []any{map[string]any{"id": 999999, "values": map[string]any{"email": "x@y.z"}}}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.problem(t).Detail, "edits[0].id") || !strings.Contains(string(r.body), "no dead letter 999999") {
		t.Fatalf("unknown dead letter: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, replayPath, designer, map[string]any{"edits": []any{map[string]any{"id": bob.ID, "values": map[string]any{"email": []int{1}}}}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "edits[0].values.email") {
		t.Fatalf("bad edited value: %d %s", r.status, r.body)
	}

	// Fix Bob's row and replay: it lands once; Cy's stays a dead letter of the replay.
	r = e.do(http.MethodPost, replayPath, designer, fix)
	if r.status != http.StatusAccepted {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	var rep Run
	r.decode(t, &rep)
	if rep.ReplayOf != run.ID || rep.Trigger != "replay" || rep.PipelineVersion != 1 {
		t.Fatalf("replay run: %+v", rep)
	}
	if rep = e.awaitRun(rep.ID); rep.Status != "succeeded" || rep.ReplayOf != run.ID {
		t.Fatalf("replay finished: %+v", rep)
	}
	if n := nodesByID(rep); n["check"].In != 2 || n["check"].Out != 1 || n["check"].Rejected != 1 || n["db"].Out != 1 || n["customers"].Out != 0 {
		t.Fatalf("replay counters: %+v", n)
	}
	if got := table(); len(got) != 2 || got[2] != "bob@example.com" {
		t.Fatalf("after the replay: %v", got)
	}
	left := e.deadLetterList(rep.ID)
	if len(left) != 1 || left[0].Node != "check" || left[0].Field != "email" || left[0].Values["email"] != "cy-at-example" ||
		left[0].Line != cy.Line || !strings.Contains(left[0].Reason, "regex") && !strings.Contains(left[0].Reason, "match") {
		t.Fatalf("dead letters of the replay: %+v", left)
	}
	// The original run keeps its dead letters; the replay is listed under it and audited.
	if got := e.deadLetterList(run.ID); len(got) != 2 {
		t.Fatalf("the original lost dead letters: %+v", got)
	}
	var list Page[Run]
	e.do(http.MethodGet, "/api/v1/runs?replay_of="+run.ID, e.tokens[auth.RoleViewer], nil).decode(t, &list)
	if list.Total != 1 || list.Items[0].ID != rep.ID || list.Items[0].ReplayOf != run.ID {
		t.Fatalf("replays of the run: %+v", list)
	}
	audits := e.auditEntries(store.AuditFilter{Action: "run.replay"})
	if len(audits) == 0 || audits[0].TargetID != run.ID || audits[0].ActorName != e.users[auth.RoleDesigner].Username || audits[0].Result != "success" {
		t.Fatalf("audit of the replay: %+v", audits)
	}

	// Replaying the original again adds no duplicate (upsert by id).
	var rep2 Run
	e.do(http.MethodPost, replayPath, designer, fix).decode(t, &rep2)
	if rep2 = e.awaitRun(rep2.ID); rep2.Status != "succeeded" {
		t.Fatalf("second replay: %+v", rep2)
	}
	if got := table(); len(got) != 2 || got[2] != "bob@example.com" {
		t.Fatalf("after the second replay: %v", got)
	}
	if got := e.deadLetterList(rep2.ID); len(got) != 1 {
		t.Fatalf("dead letters of the second replay: %+v", got)
	}

	// Change the rule in the pipeline (a new version) and replay the replay without edits: the last
	// row goes through the current version and lands.
	if r := e.do(http.MethodPut, "/api/v1/pipelines/"+p.ID, designer, replaySpec(pg.Schema, `^.+$`)); r.status != http.StatusOK {
		t.Fatalf("save the changed rule: %d %s", r.status, r.body)
	}
	var rep3 Run
	r = e.do(http.MethodPost, "/api/v1/runs/"+rep.ID+"/dead-letters/replay", designer, nil)
	if r.status != http.StatusAccepted {
		t.Fatalf("replay without a body: %d %s", r.status, r.body)
	}
	r.decode(t, &rep3)
	if rep3 = e.awaitRun(rep3.ID); rep3.Status != "succeeded" || rep3.PipelineVersion != 2 || rep3.ReplayOf != rep.ID {
		t.Fatalf("replay after the change: %+v", rep3)
	}
	got := table()
	ids := make([]int64, 0, len(got))
	for id := range got {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []int64{1, 2, 3}) || got[3] != "cy-at-example" {
		t.Fatalf("after the changed rule: %v", got)
	}
	if r := e.do(http.MethodPost, "/api/v1/runs/"+rep3.ID+"/dead-letters/replay", designer, nil); r.status != http.StatusConflict ||
		!strings.Contains(r.problem(t).Detail, "no dead letters") {
		t.Fatalf("replay of a run without dead letters: %d %s", r.status, r.body)
	}
}
