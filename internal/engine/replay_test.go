package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const replaySpec = `version: 1
name: replay
sources: [{id: src, type: gen, config: {rows: 10}}]
transforms:
  - {id: check, type: validate, inputs: [src], config: {rules: [{field: id, max: 8}]}}
destinations:
  - {id: out, type: mem, inputs: [check], config: {table: t}, write: {mode: append}}
  - {id: all, type: mem, inputs: [src], config: {table: all}, write: {mode: %s}}
`

func TestReplayInjectsRowsAtTheRejectingNode(t *testing.T) {
	t.Parallel()
	f := setup(t)
	plan := f.plan(t, strings.Replace(replaySpec, "%s", "overwrite", 1))
	sink := &memSink{}
	res, err := Replay(context.Background(), plan, Options{DeadLetters: sink}, []Injection{
		{Node: "check", Source: "src", Pos: 9, Values: map[string]string{"id": "7", "name": "fixed"}},   // passes now
		{Node: "check", Source: "src", Pos: 10, Values: map[string]string{"id": "10", "name": "still"}}, // still too big
		{Node: "check", Source: "src", Pos: 11, Values: map[string]string{"id": "x", "name": "bad"}},    // does not parse
		{Node: "check", Source: "src", Pos: 12, Values: map[string]string{"nope": "1"}},                 // unknown field
		{Node: "gone", Source: "src", Pos: 13, Values: map[string]string{"id": "1"}},                    // node removed
		{Node: "check", Source: "src", Pos: 15},                                                         // raw only
		{Node: "out", Source: "src", Pos: 14, Values: map[string]string{"id": "3", "name": "dest"}},     // a destination's reject
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if diff := cmp.Diff([]int64{7, 3}, ids(f.table("t"))); diff != "" {
		t.Errorf("table t (-want +got):\n%s", diff)
	}
	// The source was not read and "all" (not reached, and overwrite) was not opened.
	if got := len(f.table("all")); got != 0 || f.db.opens != 1 {
		t.Errorf("all has %d rows, %d writers opened; want 0 and 1", got, f.db.opens)
	}
	type dl struct{ Node, Field, Reason string }
	var got []dl
	for _, r := range sink.rows {
		if r.Source != "src" {
			t.Errorf("dead letter %+v lost its source", r)
		}
		got = append(got, dl{r.Node, r.Field, r.Reason})
	}
	want := []dl{
		{"check", "id", `replay: invalid integer "x"`},
		{"check", "nope", `replay: unknown field "nope" (fields are: id, name)`},
		{"gone", "", `replay: node "gone" is no longer in the pipeline`},
		{"check", "", "replay: the row has no field values (the reader kept only its raw input); give its values to replay it"},
	}
	if len(got) != 5 {
		t.Fatalf("dead letters %+v, want 5", got)
	}
	if diff := cmp.Diff(want, got[:4]); diff != "" {
		t.Errorf("dead letters (-want +got):\n%s", diff)
	}
	if last := sink.rows[4]; last.Node != "check" || last.Pos != 10 || last.Values["id"] != "10" || !strings.Contains(last.Reason, "8") {
		t.Errorf("the still-bad row's dead letter: %+v", last)
	}
	if res.Status != Succeeded || res.RowsRead != 7 || res.RowsWritten != 2 || res.Rejected != 5 {
		t.Errorf("result %+v", res)
	}
	if s := stat(res, "check"); s.In != 2 || s.Out != 1 || s.Rejected != 4 {
		t.Errorf("check stats %+v", s)
	}
}

func TestReplayRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, spec, node, wantNode string
	}{
		{"overwrite destination reached", strings.Replace(replaySpec, "%s", "overwrite", 1), "src", "all"},
		{"stateful node on the way", `version: 1
name: agg
sources: [{id: src, type: gen, config: {rows: 10}}]
transforms:
  - {id: cnt, type: count, inputs: [src]}
destinations:
  - {id: out, type: mem, inputs: [cnt], config: {table: t}, write: {mode: append}}
`, "cnt", "cnt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			_, err := Replay(context.Background(), f.plan(t, tc.spec), Options{DeadLetters: &memSink{}},
				[]Injection{{Node: tc.node, Values: map[string]string{"id": "1", "name": "a"}}})
			var re *ReplayError
			if !errors.As(err, &re) || re.Node != tc.wantNode {
				t.Fatalf("err = %v, want a ReplayError naming %s", err, tc.wantNode)
			}
			if f.db.opens != 0 || len(f.table("t")) != 0 || len(f.table("all")) != 0 {
				t.Errorf("a refused replay opened %d writers", f.db.opens)
			}
		})
	}
	// A source's reject enters the source's consumers (append: allowed).
	f := setup(t)
	sink := &memSink{}
	if _, err := Replay(context.Background(), f.plan(t, strings.Replace(replaySpec, "%s", "append", 1)), Options{DeadLetters: sink},
		[]Injection{{Node: "src", Values: map[string]string{"id": "3", "name": "c"}}}); err != nil {
		t.Fatal(err)
	}
	if ids(f.table("t"))[0] != 3 || ids(f.table("all"))[0] != 3 || len(sink.rows) != 0 {
		t.Errorf("source reject replay: t=%v all=%v dead letters %v", f.table("t"), f.table("all"), sink.rows)
	}
}
