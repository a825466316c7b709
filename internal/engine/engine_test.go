package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/record"
)

func seq(from, to int64, skip func(int64) bool) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		if skip == nil || !skip(i) {
			out = append(out, i)
		}
	}
	return out
}

func TestRunStreamsThroughTheDAG(t *testing.T) {
	t.Parallel()
	f := setup(t)
	plan := f.plan(t, `version: 1
name: even
sources: [{id: src, type: gen, config: {rows: 10000}}]
transforms:
  - {id: even, type: filter, inputs: [src], config: {expression: "id % 2 == 0"}}
destinations:
  - {id: out, type: mem, inputs: [even], config: {table: t}}
  - {id: all, type: mem, inputs: [src], config: {table: all}}
`)
	var progress []Progress
	res, err := Run(context.Background(), plan, Options{BatchSize: 256, Progress: func(p Progress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if diff := cmp.Diff(seq(1, 10000, func(i int64) bool { return i%2 == 1 }), ids(f.table("t"))); diff != "" {
		t.Errorf("filtered table (-want +got):\n%s", diff)
	}
	if got := len(f.table("all")); got != 10000 {
		t.Errorf("fan-out table has %d rows, want 10000", got)
	}
	want := []NodeStats{
		{ID: "src", Kind: "source", Type: "gen", Out: 10000, Bytes: 100000},
		{ID: "even", Kind: "transform", Type: "filter", In: 10000, Out: 5000, Filtered: 5000},
		{ID: "all", Kind: "destination", Type: "mem", In: 10000, Out: 10000},
		{ID: "out", Kind: "destination", Type: "mem", In: 5000, Out: 5000},
	}
	if diff := cmp.Diff(want, res.Nodes); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if res.Status != Succeeded || res.RowsRead != 10000 || res.RowsWritten != 15000 {
		t.Errorf("result = %+v", res)
	}
	if len(progress) == 0 || !progress[len(progress)-1].Done || progress[len(progress)-1].RowsWritten != 15000 {
		t.Errorf("last progress = %+v", progress[len(progress)-1])
	}
}

func TestErrorPolicies(t *testing.T) {
	t.Parallel()
	const base = `version: 1
name: p
sources: [{id: src, type: gen, config: {rows: 1000, bad_every: 100, path: in.csv}}]
transforms: [{id: rej, type: reject, inputs: [src], config: {every: 7}}]
destinations: [{id: out, type: mem, inputs: [rej], config: {table: t, fail_names: [n1, n2]}}]
`
	readerRejects, nodeRejects := int64(10), int64(0)
	for i := int64(1); i <= 1000; i++ {
		if i%100 != 0 && i%7 == 0 {
			nodeRejects++
		}
	}
	total := readerRejects + nodeRejects + 2
	tests := []struct {
		name, policy string
		wantErr      string
		wantDead     int64
	}{
		{"dead letter", `{on_reject: dead_letter}`, "", total},
		{"default is dead letter", `{}`, "", total},
		{"drop", `{on_reject: drop}`, "", 0},
		{"fail", `{on_reject: fail}`, "row rejected (error_policy.on_reject is fail): node rej: in.csv line 7: field id: divisible", 0},
		{"ratio within", `{max_reject_ratio: 0.2}`, "", total},
		{"ratio exceeded", `{on_reject: drop, max_reject_ratio: 0.1}`,
			fmt.Sprintf("%d of 1000 rows rejected (%.2f%%), more than error_policy.max_reject_ratio 10.00%%", total, float64(total)/10), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			plan := f.plan(t, base+"error_policy: "+tc.policy+"\n")
			sink := &memSink{}
			res, err := Run(context.Background(), plan, Options{DeadLetters: sink, BatchSize: 50})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				if res.Status != Failed || f.db.aborts != 1 {
					t.Errorf("status %s, aborts %d", res.Status, f.db.aborts)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Rejected != total || int64(len(sink.rows)) != tc.wantDead {
				t.Errorf("rejected %d (want %d), dead letters %d (want %d)", res.Rejected, total, len(sink.rows), tc.wantDead)
			}
			if got := int64(len(f.table("t"))); got != 1000-total {
				t.Errorf("written %d, want %d", got, 1000-total)
			}
			if s := stat(res, "src"); s.Rejected != readerRejects {
				t.Errorf("source rejected %d, want %d", s.Rejected, readerRejects)
			}
			if s := stat(res, "out"); s.Rejected != 2 || s.In != 1000-readerRejects-nodeRejects || s.Out != s.In-2 {
				t.Errorf("destination stats %+v", s)
			}
			if tc.wantDead > 0 {
				byNode := map[string]int{}
				for _, r := range sink.rows {
					byNode[r.Node]++
					if r.Source != "in.csv" || r.Pos == 0 || r.Reason == "" || r.Field == "" {
						t.Errorf("dead letter lacks file, line, field or reason: %+v", r)
					}
				}
				if byNode["src"] != 10 || byNode["out"] != 2 || int64(byNode["rej"]) != nodeRejects {
					t.Errorf("dead letters by node = %v", byNode)
				}
			}
		})
	}
}

// A run killed after a checkpoint resumes from it: every row is written exactly once, and the
// counters add up as if the run had not been interrupted.
func TestResumeFromCheckpoint(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const spec = `version: 1
name: p
sources: [{id: src, type: gen, config: {rows: 5000, bad_every: 1000}}]
transforms: [{id: rej, type: reject, inputs: [src], config: {every: 500}}]
destinations: [{id: out, type: mem, inputs: [rej], config: {table: t}}]
`
	ck := &memCheckpointer{}
	sink := &memSink{}
	ctx, cancel := context.WithCancel(context.Background())
	ck.onSave = func(*Checkpoint) {
		if ck.saves == 4 { // the initial checkpoint and three more
			cancel() // the "kill": stop right after this checkpoint
		}
	}
	res, err := Run(ctx, f.plan(t, spec), Options{Checkpointer: ck, DeadLetters: sink, BatchSize: 100, CommitRows: 300, Workers: 3})
	if !errors.Is(err, context.Canceled) || res.Status != Cancelled {
		t.Fatalf("first run: %v, status %s", err, res.Status)
	}
	// After the checkpoint the writer had more rows in flight; the mem writer committed nothing more,
	// but a real file may hold more: simulate it by appending junk after the committed rows.
	f.db.mu.Lock()
	f.db.tables["t"] = append(f.db.tables["t"], record.Row{record.Int(-1), record.String("junk")})
	f.db.mu.Unlock()
	sink.rows = append(sink.rows, record.Reject{Reason: "junk"})

	ck.onSave = nil
	res, err = Run(context.Background(), f.plan(t, spec), Options{Checkpointer: ck, DeadLetters: sink, BatchSize: 100, CommitRows: 300})
	if err != nil {
		t.Fatalf("resumed run: %v", err)
	}
	if !res.Resumed || res.Restarted {
		t.Errorf("resumed=%v restarted=%v", res.Resumed, res.Restarted)
	}
	want := seq(1, 5000, func(i int64) bool { return i%500 == 0 })
	if diff := cmp.Diff(want, ids(f.table("t"))); diff != "" {
		t.Errorf("table after resume (-want +got):\n%s", diff)
	}
	if len(sink.rows) != 10 {
		t.Errorf("dead letters = %d, want 10 (5 from the reader, 5 from the node), each once", len(sink.rows))
	}
	if s := stat(res, "out"); s.Out != 4990 {
		t.Errorf("destination counter %d, want 4990 across both runs", s.Out)
	}
	// Counters saved with a checkpoint match its source positions, also with parallel workers.
	if s := stat(res, "src"); s.Out+s.Rejected != 5000 || s.Rejected != 5 {
		t.Errorf("source counters %+v, want 5000 rows read once (5 rejected)", s)
	}
	if s := stat(res, "rej"); s.In != 4995 || s.Rejected != 5 {
		t.Errorf("transform counters %+v, want 4995 in and 5 rejected", s)
	}
	if !ck.cp.Complete {
		t.Error("final checkpoint is not marked complete")
	}
	// A completed run starts afresh next time (append adds the rows again).
	res, err = Run(context.Background(), f.plan(t, spec), Options{Checkpointer: ck, BatchSize: 1000})
	if err != nil || res.Resumed || len(f.table("t")) != 2*4990 {
		t.Errorf("run after completion: err %v, resumed %v, rows %d", err, res.Resumed, len(f.table("t")))
	}
}

func TestStatefulPipelineRestartsFromTheBeginning(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const spec = `version: 1
name: p
sources: [{id: src, type: gen, config: {rows: 3000}}]
transforms: [{id: c, type: count, inputs: [src]}]
destinations:
  - {id: out, type: mem, inputs: [c], config: {table: counts}}
  - {id: raw, type: mem, inputs: [src], config: {table: raw}}
`
	f.db.tables["raw"] = []record.Row{{record.Int(0), record.String("before")}}
	ck := &memCheckpointer{}
	ctx, cancel := context.WithCancel(context.Background())
	rows := 0
	res, err := Run(ctx, f.plan(t, spec), Options{Checkpointer: ck, BatchSize: 100, CommitRows: 500,
		Progress: func(p Progress) {
			if rows = int(p.RowsRead); rows >= 1000 {
				cancel()
			}
		}, ProgressInterval: time.Nanosecond})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v (%+v)", err, res)
	}
	if ck.saves != 1 {
		t.Errorf("stateful pipeline saved %d checkpoints mid-run, want only the initial one", ck.saves)
	}
	res, err = Run(context.Background(), f.plan(t, spec), Options{Checkpointer: ck, BatchSize: 100, CommitRows: 500})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Restarted || res.Resumed {
		t.Errorf("restarted=%v resumed=%v", res.Restarted, res.Resumed)
	}
	if c := f.table("counts"); len(c) != 1 || c[0][0].AsInt() != 3000 {
		t.Errorf("counts = %v, want one row of 3000", c)
	}
	if got := ids(f.table("raw")); len(got) != 3001 || got[0] != 0 || got[3000] != 3000 {
		t.Errorf("raw table has %d rows, want the old row plus 3000 (the partial run rewound)", len(got))
	}
}

func TestCancelStopsPromptlyAndAborts(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.db.tables["t"] = []record.Row{{record.Int(42), record.String("old")}}
	plan := f.plan(t, `version: 1
name: p
sources: [{id: src, type: gen, config: {rows: 1000000, block_after: 500}}]
destinations: [{id: out, type: mem, inputs: [src], config: {table: t}, write: {mode: overwrite}}]
`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var res *Result
	var err error
	go func() {
		defer close(done)
		res, err = Run(ctx, plan, Options{BatchSize: 100, ProgressInterval: time.Nanosecond, Progress: func(p Progress) {
			if p.RowsRead >= 500 {
				cancel()
			}
		}})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if !errors.Is(err, context.Canceled) || res.Status != Cancelled {
		t.Fatalf("err %v, status %s", err, res.Status)
	}
	if f.db.aborts != 1 {
		t.Errorf("aborts = %d, want 1", f.db.aborts)
	}
	if got := f.table("t"); len(got) != 1 || got[0][1].Str() != "old" {
		t.Errorf("overwrite target after cancel = %v, want the old data", got)
	}
}

func TestSourceErrorFailsTheRunNamingTheSource(t *testing.T) {
	t.Parallel()
	f := setup(t)
	plan := f.plan(t, `version: 1
name: p
sources: [{id: src, type: gen, config: {rows: 1000, fail_after: 300}}]
destinations: [{id: out, type: mem, inputs: [src], config: {table: t}}]
`)
	res, err := Run(context.Background(), plan, Options{BatchSize: 100})
	if err == nil || err.Error() != "source src (gen): disk on fire" || res.Status != Failed {
		t.Fatalf("err = %v, status %s", err, res.Status)
	}
	if f.db.aborts != 1 || len(f.table("t")) != 0 {
		t.Errorf("aborts %d, rows %d: a failed run must abort and leave nothing committed", f.db.aborts, len(f.table("t")))
	}
}

func TestLookupInputsAreDrainedFirst(t *testing.T) {
	t.Parallel()
	f := setup(t)
	plan := f.plan(t, `version: 1
name: p
sources:
  - {id: facts, type: gen, config: {rows: 500}}
  - {id: dims, type: gen, config: {rows: 500}}
transforms: [{id: j, type: order, inputs: [facts, dims]}]
destinations: [{id: out, type: mem, inputs: [j], config: {table: t}}]
`)
	if _, err := Run(context.Background(), plan, Options{BatchSize: 50}); err != nil {
		t.Fatal(err)
	}
	want := append(make([]int, 0, 20), []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}...)
	if diff := cmp.Diff(want, f.log); diff != "" {
		t.Errorf("input order (-want +got):\n%s", diff)
	}
}

func TestPreviewSamplesEveryNodeAndWritesNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	plan := f.plan(t, `version: 1
name: p
sources: [{id: src, type: gen, config: {rows: 100000, bad_every: 3}}]
transforms:
  - {id: odd, type: filter, inputs: [src], config: {expression: "id % 2 == 1"}}
  - {id: c, type: count, inputs: [odd]}
destinations: [{id: out, type: mem, inputs: [c], config: {table: t}}]
`)
	res, err := Preview(context.Background(), plan, Options{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]int64{}
	for _, s := range res.Nodes {
		got[s.ID] = ids(s.Rows)
	}
	want := map[string][]int64{"src": {1, 2, 4, 5, 7}, "odd": {1, 5, 7}, "c": {3}, "out": {3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
	if r := res.Nodes[0].Rejects; len(r) != 2 || r[0].Pos != 3 || r[1].Pos != 6 {
		t.Errorf("source rejects = %+v", r)
	}
	if f.db.opens != 0 {
		t.Error("preview opened a destination")
	}
	if !res.Nodes[1].Schema.Equal(genSchema) {
		t.Errorf("schema = %v", res.Nodes[1].Schema)
	}
}

func TestInitErrorsNameTheNode(t *testing.T) {
	t.Parallel()
	f := setup(t)
	plan := f.plan(t, `version: 1
name: p
sources: [{id: src, type: gen, config: {rows: 10}}]
transforms: [{id: bad, type: filter, inputs: [src], config: {expression: "nope > 1"}}]
destinations: [{id: out, type: mem, inputs: [bad], config: {table: t}}]
`)
	_, err := Schemas(context.Background(), plan, Options{})
	var ne *NodeError
	if !errors.As(err, &ne) || ne.Path != "transforms[0]" || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err = %v, want a NodeError for transforms[0] naming the field", err)
	}
	if ps := ne.Problems(); len(ps) == 0 || !strings.HasPrefix(ps[0].Path, "transforms[0].config") {
		t.Errorf("problems = %+v", ps)
	}
}

func TestSchemasReportsEveryFailingNode(t *testing.T) {
	t.Parallel()
	f := setup(t)
	plan := f.plan(t, `version: 1
name: p
sources:
  - {id: a, type: gen, config: {rows: 10}}
  - {id: b, type: gen, config: {rows: 10}}
transforms:
  - {id: bad1, type: filter, inputs: [a], config: {expression: "nope > 1"}}
  - {id: after, type: filter, inputs: [bad1], config: {expression: "also_nope"}}
  - {id: bad2, type: expression, inputs: [b], config: {fields: [{name: x, expression: "missing + 1"}]}}
destinations: [{id: out, type: mem, inputs: [after, bad2], config: {table: t}}]
`)
	_, err := Schemas(context.Background(), plan, Options{})
	var nes NodeErrors
	if !errors.As(err, &nes) {
		t.Fatalf("err = %v, want NodeErrors", err)
	}
	var paths []string
	for _, p := range nes.Problems() {
		paths = append(paths, p.Path)
	}
	// after is downstream of a failed node: skipped, not reported.
	if diff := cmp.Diff([]string{"transforms[0].config.expression", "transforms[2].config.fields[0].expression"}, paths); diff != "" {
		t.Errorf("problem paths (-want +got):\n%s\n%v", diff, err)
	}
}

// Parallel workers release batches in source order: the output, the dead letters and the counters
// are exactly those of a sequential run.
func TestParallelWorkersMatchSequential(t *testing.T) {
	t.Parallel()
	const spec = `version: 1
name: p
sources: [{id: src, type: gen, config: {rows: 20000, bad_every: 97, path: in.csv}}]
transforms:
  - {id: rej, type: reject, inputs: [src], config: {every: 13}}
  - {id: odd, type: filter, inputs: [rej], config: {expression: "id % 3 != 0"}}
destinations: [{id: out, type: mem, inputs: [odd], config: {table: t, fail_names: [n1000, n2000]}}]
`
	type outcome struct {
		IDs   []int64
		Dead  []record.Reject
		Stats []NodeStats
	}
	run := func(workers int) outcome {
		f := setup(t)
		sink := &memSink{}
		res, err := Run(context.Background(), f.plan(t, spec), Options{Workers: workers, BatchSize: 64, DeadLetters: sink, CommitRows: 1000})
		if err != nil {
			t.Fatalf("workers %d: %v", workers, err)
		}
		// Destination rejects come from the writer's goroutine and may interleave with the others;
		// list them last to compare.
		var dead, fromWriter []record.Reject
		for _, r := range sink.rows {
			if r.Node == "out" {
				fromWriter = append(fromWriter, r)
			} else {
				dead = append(dead, r)
			}
		}
		return outcome{ids(f.table("t")), append(dead, fromWriter...), res.Nodes}
	}
	seqOut := run(1)
	if len(seqOut.IDs) == 0 || len(seqOut.Dead) == 0 {
		t.Fatal("sequential run produced nothing")
	}
	for _, w := range []int{2, 4} {
		if diff := cmp.Diff(seqOut, run(w)); diff != "" {
			t.Errorf("workers %d differ from sequential (-seq +par):\n%s", w, diff)
		}
	}
}

func TestPreviewOfAStreamShowsWhatArrivedInTime(t *testing.T) {
	t.Parallel()
	f := setup(t)
	plan := f.plan(t, `version: 1
name: p
sources: [{id: src, type: stream, config: {rows: 1000, block_after: 7}}]
destinations: [{id: out, type: mem, inputs: [src], config: {table: t}}]
`)
	res, err := Preview(context.Background(), plan, Options{PreviewWait: 50 * time.Millisecond}, 20)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(res.Nodes[0].Rows); len(got) != 7 {
		t.Errorf("stream sample = %v, want the 7 rows that arrived", got)
	}
}

// Commits also happen on time: a stream that has gone quiet still gets its rows committed and a
// checkpoint saved.
func TestCommitsOnTimeWhenTheStreamIsQuiet(t *testing.T) {
	t.Parallel()
	f := setup(t)
	plan := f.plan(t, `version: 1
name: p
sources: [{id: src, type: stream, config: {rows: 1000, block_after: 30}}]
destinations: [{id: out, type: mem, inputs: [src], config: {table: t}}]
`)
	saved := make(chan *Checkpoint, 16)
	ck := &memCheckpointer{onSave: func(cp *Checkpoint) {
		select {
		case saved <- cp:
		default:
		}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, plan, Options{Checkpointer: ck, CommitRows: 1 << 40, CommitInterval: 20 * time.Millisecond, BatchSize: 10})
		done <- err
	}()
	for cp := range saved {
		if string(cp.Sources["src"]) == `{"Next":30}` {
			break
		}
	}
	if got := len(f.table("t")); got != 30 {
		t.Errorf("committed rows = %d, want 30", got)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want cancelled", err)
	}
}

// TestRowsRefusedAtCommit: a buffering destination names the rows it refused when it commits; they
// follow the error policy like rows refused by a Write, and the run goes on.
func TestRowsRefusedAtCommit(t *testing.T) {
	t.Parallel()
	const base = `version: 1
name: p
sources: [{id: src, type: gen, config: {rows: 1000, path: in.csv}}]
destinations: [{id: out, type: mem, inputs: [src], config: {table: t, fail_names: [n10, n500, n999], refuse_at_commit: true}}]
`
	tests := []struct {
		policy   string
		wantErr  string
		wantDead int
	}{
		{`{on_reject: dead_letter}`, "", 3},
		{`{on_reject: drop}`, "", 0},
		{`{on_reject: fail}`, "row rejected (error_policy.on_reject is fail): node out: in.csv line 10: field name: refused by the table at commit", 0},
	}
	for _, tc := range tests {
		t.Run(tc.policy, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			sink := &memSink{}
			res, err := Run(context.Background(), f.plan(t, base+"error_policy: "+tc.policy+"\n"), Options{DeadLetters: sink, BatchSize: 64, CommitRows: 300})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := len(f.table("t")); got != 997 {
				t.Errorf("written %d rows, want 997", got)
			}
			if s := stat(res, "out"); s.In != 1000 || s.Out != 997 || s.Rejected != 3 {
				t.Errorf("destination stats %+v, want in 1000, out 997, rejected 3", s)
			}
			if len(sink.rows) != tc.wantDead {
				t.Fatalf("dead letters %d, want %d", len(sink.rows), tc.wantDead)
			}
			for _, r := range sink.rows {
				if r.Node != "out" || r.Pos == 0 || r.Values["name"] == "" || r.Field != "name" {
					t.Errorf("dead letter lacks node, line, values or field: %+v", r)
				}
			}
		})
	}
}

// A cancel that arrives while a checkpoint is taken, once the destinations have committed, still
// stores the dead letters of the rows committed: the cancelled run is not resumed to write them.
func TestCancelDuringCommitKeepsTheDeadLetters(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const spec = `version: 1
name: p
sources: [{id: src, type: gen, config: {rows: 5000}}]
transforms: [{id: rej, type: reject, inputs: [src], config: {every: 50}}]
destinations: [{id: out, type: mem, inputs: [rej], config: {table: t}}]
`
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	f.db.onCommit = func() { // the user cancels as the first commit of rows lands
		f.db.mu.Lock()
		n := len(f.db.tables["t"])
		f.db.mu.Unlock()
		if n > 0 {
			once.Do(cancel)
		}
	}
	sink := &ctxSink{}
	res, err := Run(ctx, f.plan(t, spec), Options{DeadLetters: sink, BatchSize: 100, CommitRows: 1000, Workers: 1})
	if !errors.Is(err, context.Canceled) || res.Status != Cancelled {
		t.Fatalf("run: %v, status %s", err, res.Status)
	}
	f.db.mu.Lock()
	written := len(f.db.tables["t"])
	f.db.mu.Unlock()
	if written == 0 {
		t.Fatal("no commit wrote rows")
	}
	// every 50th row is rejected: the rows written came with at least written/49 rejects
	if want := written / 49; sink.committed < want || sink.committed != len(sink.rows) {
		t.Fatalf("%d rows committed with %d dead letters committed (%d put), want at least %d committed", written, sink.committed, len(sink.rows), want)
	}
}
