package engine

import (
	"context"
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/record"
)

const spillSpec = `version: 1
name: p
sources: [{id: src, type: gen, config: {rows: 30000}}]
transforms:
  - {id: last, type: dedup, inputs: [src], config: {key: [id], keep: last}}
  - {id: agg, type: aggregate, inputs: [src], config: {group_by: [name], aggregates: [{name: n, function: count}, {name: top, function: max, field: id}]}}
destinations:
  - {id: out, type: mem, inputs: [last], config: {table: last}}
  - {id: groups, type: mem, inputs: [agg], config: {table: groups}}
`

// TestRunSpillsUnderItsBudget: the spec's resources.memory_mb makes the stateful nodes spill; the
// output is that of a run with enough memory, the progress shows state and spill figures and the
// queues, and the spill directory is empty afterwards.
func TestRunSpillsUnderItsBudget(t *testing.T) {
	t.Parallel()
	run := func(spec string, budget int64) (map[string][]record.Row, *Result, []Progress, string) {
		f := setup(t)
		dir := t.TempDir()
		var ps []Progress
		res, err := Run(context.Background(), f.plan(t, spec), Options{BatchSize: 500, MemoryBudget: budget, SpillDir: dir,
			Progress: func(p Progress) { ps = append(ps, p) }, ProgressInterval: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		return map[string][]record.Row{"last": f.table("last"), "groups": f.table("groups")}, res, ps, dir
	}
	want, big, _, _ := run(spillSpec, 1<<30)
	got, small, ps, dir := run(spillSpec+"resources: {memory_mb: 1}\n", 1<<30)
	if len(want["last"]) != 30000 || len(want["groups"]) == 0 {
		t.Fatalf("in memory: %d rows, %d groups", len(want["last"]), len(want["groups"]))
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b record.Value) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("spilled output differs (-memory +spilled):\n%s", diff)
	}
	if s := stat(big, "last"); s.SpilledBytes != 0 {
		t.Errorf("a 1 GiB budget spilled %d bytes", s.SpilledBytes)
	}
	for _, id := range []string{"last", "agg"} {
		if s := stat(small, id); s.SpilledBytes == 0 || s.StateBytes != 0 {
			t.Errorf("%s under 1 MiB: spilled %d bytes, %d bytes of state left", id, s.SpilledBytes, s.StateBytes)
		}
	}
	var sawState, sawBuffer bool
	for _, p := range ps {
		if p.MemoryBudget != 1<<20 {
			t.Fatalf("progress budget = %d, want 1 MiB", p.MemoryBudget)
		}
		for _, n := range p.Nodes {
			sawState = sawState || n.StateBytes > 0
		}
		for _, b := range p.Buffers {
			if b.Cap <= 0 || b.Len < 0 || b.Len > b.Cap {
				t.Fatalf("buffer %+v", b)
			}
			sawBuffer = sawBuffer || (b.From == "src" && b.To == "last") || (b.From == "last" && b.To == "out")
		}
	}
	if !sawState || !sawBuffer {
		t.Errorf("progress: state figures %v, buffers %v", sawState, sawBuffer)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("spill directory not removed: %v", left)
	}
}

// TestSpillFullFailsTheRunAndRemovesItsFiles: a spill that finds no room fails the run naming the
// node and the cause, and leaves no file.
func TestSpillFullFailsTheRunAndRemovesItsFiles(t *testing.T) {
	t.Parallel()
	f := setup(t)
	dir := t.TempDir()
	res, err := Run(context.Background(), f.plan(t, spillSpec), Options{BatchSize: 500, MemoryBudget: 1 << 20, SpillDir: dir, SpillLimit: 256 << 10})
	if err == nil || res.Status != Failed {
		t.Fatalf("run: %v, status %s", err, res.Status)
	}
	for _, want := range []string{"transform ", "no room left for spill files", "the spill limit of 256 KiB was reached", dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("spill directory not removed after the failure: %v", left)
	}
	if len(f.table("last")) != 0 {
		t.Errorf("the failed run wrote %d rows", len(f.table("last")))
	}
}

// TestLimitMemorySetsTheGoMemoryLimitForTheRun: with Options.LimitMemory (the CLI), a run with
// stateful transforms sets the Go soft memory limit to ProcessMemoryLimit of its budget while it
// runs and restores the previous limit afterwards; without it the limit is left alone. Not
// parallel: the limit is the process's.
func TestLimitMemorySetsTheGoMemoryLimitForTheRun(t *testing.T) {
	if os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOMEMLIMIT is set: the run leaves the limit to it")
	}
	before := debug.SetMemoryLimit(-1)
	for _, limit := range []bool{true, false} {
		f := setup(t)
		var during []int64
		_, err := Run(context.Background(), f.plan(t, spillSpec+"resources: {memory_mb: 3}\n"), Options{BatchSize: 500, LimitMemory: limit,
			SpillDir: t.TempDir(), ProgressInterval: time.Nanosecond,
			Progress: func(Progress) { during = append(during, debug.SetMemoryLimit(-1)) }})
		if err != nil {
			t.Fatal(err)
		}
		want := before
		if limit {
			want = ProcessMemoryLimit(3 << 20)
		}
		if len(during) == 0 {
			t.Fatal("no progress reported during the run")
		}
		saw := 0
		for _, got := range during {
			switch got {
			case want:
				saw++
			case before: // a report before the nodes start or after they end
			default:
				t.Fatalf("LimitMemory %v: memory limit during the run = %d, want %d", limit, got, want)
			}
		}
		if saw == 0 {
			t.Errorf("LimitMemory %v: no progress report saw the memory limit %d (saw %v)", limit, want, during)
		}
		if after := debug.SetMemoryLimit(-1); after != before {
			t.Errorf("LimitMemory %v: memory limit after the run = %d, want the %d of before", limit, after, before)
		}
	}
}
