package transform

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/record"
)

// spillRows makes n deterministic rows of (k int, s string, f float, d decimal, t timestamp) with
// keys in [0, keys): every key repeats, values of several sizes, some nulls.
func spillRows(t testing.TB, s *record.Schema, seed uint64, n, keys int) []*record.Batch {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []*record.Batch
	var rows [][]any
	flush := func() {
		if len(rows) > 0 {
			out = append(out, batchOf(t, s, rows...))
			rows = nil
		}
	}
	for i := range n {
		var k any = rng.IntN(keys)
		if i%97 == 0 {
			k = nil
		}
		var str any = strings.Repeat(string(rune('a'+rng.IntN(26))), 1+rng.IntN(40))
		if i%13 == 0 {
			str = nil
		}
		// magnitudes that make float sums depend on their order
		f := rng.Float64() * float64(int64(1)<<rng.IntN(60))
		d := fmt.Sprintf("%d.%03d", rng.IntN(1000)-500, rng.IntN(1000))
		ts := time.Unix(int64(rng.IntN(1<<30)), 0).UTC()
		rows = append(rows, []any{k, str, f, d, ts})
		if len(rows) == 500 {
			flush()
		}
	}
	flush()
	return out
}

type spillRun struct {
	rows    [][]string
	pos     []int64
	counts  map[Counter]int64
	spilled int64
}

// runSpill runs a node built from config over the batches (lookup first for join), with the area
// (nil: no budget).
func runSpill(t *testing.T, typ string, config map[string]any, area *SpillArea, ins []*record.Schema, inputs ...[]*record.Batch) spillRun {
	t.Helper()
	n, _ := setup(t, typ, config, ins...)
	sp, ok := n.(Spiller)
	if !ok {
		t.Fatalf("%s is not a Spiller", typ)
	}
	if area != nil {
		sp.SetSpill(area)
	}
	c := &collector{}
	ctx := context.Background()
	for i := len(inputs) - 1; i >= 0; i-- { // the lookup input (1) before the stream (0)
		for _, b := range inputs[i] {
			if err := n.Process(ctx, i, b, c); err != nil {
				t.Fatalf("process input %d: %v", i, err)
			}
		}
	}
	if err := n.Flush(ctx, c); err != nil {
		t.Fatalf("flush: %v", err)
	}
	r := spillRun{rows: c.rows(), counts: c.counts}
	for _, b := range c.batches {
		r.pos = append(r.pos, b.Pos...)
	}
	if area != nil {
		r.spilled = area.SpilledBytes()
	}
	return r
}

// TestSpillGivesTheSameResults runs each stateful transform with its state in memory and again
// with a budget of a few KiB (so its state spills into many sorted runs, merged more than once),
// and wants the same rows, positions and counters, and no file left behind.
func TestSpillGivesTheSameResults(t *testing.T) {
	in := schemaOf(t, "k:int", "s:string", "f:float", "d:decimal", "t:timestamp")
	lookup := schemaOf(t, "id:int", "name:string", "score:float", "amount:decimal")
	stream := spillRows(t, in, 1, 8000, 2000)
	var lookupRows [][]any
	for i := range 3000 { // ids 0..1499, most twice (the matches keep the order they came in)
		lookupRows = append(lookupRows, []any{i % 1500, fmt.Sprintf("name-%d-%s", i, strings.Repeat("x", i%30)), float64(i) / 7, fmt.Sprintf("%d.25", i)})
	}
	lookupRows = append(lookupRows, []any{nil, "never matches", 1.0, "1"})
	var lookupBatches []*record.Batch
	for i := 0; i < len(lookupRows); i += 700 {
		lookupBatches = append(lookupBatches, batchOf(t, lookup, lookupRows[i:min(i+700, len(lookupRows))]...))
	}
	aggs := []any{
		map[string]any{"name": "n", "function": "count"},
		map[string]any{"name": "nf", "function": "count", "field": "s"},
		map[string]any{"name": "sf", "function": "sum", "field": "f"},
		map[string]any{"name": "af", "function": "avg", "field": "f"},
		map[string]any{"name": "sd", "function": "sum", "field": "d"},
		map[string]any{"name": "ad", "function": "avg", "field": "d"},
		map[string]any{"name": "mins", "function": "min", "field": "s"},
		map[string]any{"name": "maxt", "function": "max", "field": "t"},
	}
	for _, tc := range []struct {
		name   string
		typ    string
		config map[string]any
		ins    []*record.Schema
		inputs [][]*record.Batch
	}{
		{"dedup keep last by k", "dedup", map[string]any{"key": []any{"k"}, "keep": "last"}, []*record.Schema{in}, [][]*record.Batch{stream}},
		{"dedup keep last by k and s", "dedup", map[string]any{"key": []any{"k", "s"}, "keep": "last"}, []*record.Schema{in}, [][]*record.Batch{stream}},
		{"dedup keep last with max_keys above the count", "dedup", map[string]any{"key": []any{"k"}, "keep": "last", "max_keys": 5000}, []*record.Schema{in}, [][]*record.Batch{stream}},
		{"aggregate by k", "aggregate", map[string]any{"group_by": []any{"k"}, "aggregates": aggs}, []*record.Schema{in}, [][]*record.Batch{stream}},
		{"aggregate by k and d", "aggregate", map[string]any{"group_by": []any{"k", "d"}, "aggregates": aggs[:3]}, []*record.Schema{in}, [][]*record.Batch{stream}},
		{"join left", "join", map[string]any{"on": []any{"k"}, "lookup_on": []any{"id"}}, []*record.Schema{in, lookup}, [][]*record.Batch{stream, lookupBatches}},
		{"join inner with fields and prefix", "join", map[string]any{"on": []any{"k"}, "lookup_on": []any{"id"}, "type": "inner", "fields": []any{"amount", "name"}, "prefix": "l_"}, []*record.Schema{in, lookup}, [][]*record.Batch{stream, lookupBatches}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mem := runSpill(t, tc.typ, tc.config, nil, tc.ins, tc.inputs...)
			dir := t.TempDir()
			area := &SpillArea{Budget: 16 << 10, Dir: dir, Prefix: "n0-"}
			disk := runSpill(t, tc.typ, tc.config, area, tc.ins, tc.inputs...)
			if disk.spilled == 0 {
				t.Fatal("nothing was spilled under a 16 KiB budget")
			}
			if len(mem.rows) == 0 {
				t.Fatal("no output")
			}
			if diff := cmp.Diff(mem, disk, cmp.AllowUnexported(spillRun{}), cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().String() == ".spilled"
			}, cmp.Ignore())); diff != "" {
				t.Errorf("spilled run differs (-memory +spilled):\n%s", diff)
			}
			left, err := os.ReadDir(dir)
			if err != nil || len(left) != 0 {
				t.Errorf("spill files left: %v %v", left, err)
			}
			if area.StateBytes() != 0 {
				t.Errorf("state after flush = %d bytes, want 0", area.StateBytes())
			}
		})
	}
}

// TestSpillFull: a spill that runs out of room fails with ErrSpillFull and leaves no file.
func TestSpillFull(t *testing.T) {
	in := schemaOf(t, "k:int", "s:string", "f:float", "d:decimal", "t:timestamp")
	stream := spillRows(t, in, 2, 20000, 20000)
	for _, tc := range []struct {
		typ    string
		config map[string]any
	}{
		{"dedup", map[string]any{"key": []any{"k"}, "keep": "last"}},
		{"aggregate", map[string]any{"group_by": []any{"k"}, "aggregates": []any{map[string]any{"name": "m", "function": "max", "field": "s"}}}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			dir := t.TempDir()
			n, _ := setup(t, tc.typ, tc.config, in)
			area := &SpillArea{Budget: 8 << 10, Dir: dir, DiskLimit: 64 << 10}
			n.(Spiller).SetSpill(area)
			var err error
			for _, b := range stream {
				if err = n.Process(context.Background(), 0, b, &collector{}); err != nil {
					break
				}
			}
			if err == nil {
				err = n.Flush(context.Background(), &collector{})
			}
			if !errors.Is(err, ErrSpillFull) || !strings.Contains(err.Error(), "the spill limit of 64 KiB was reached") || !strings.Contains(err.Error(), dir) {
				t.Fatalf("error = %v, want ErrSpillFull naming the directory", err)
			}
			n.(interface{ CloseSpill() }).CloseSpill()
			left, _ := os.ReadDir(dir)
			if len(left) != 0 {
				t.Errorf("spill files left after the failure: %v", left)
			}
		})
	}
}

func TestSpillValueCodecRoundTrips(t *testing.T) {
	vals := []record.Value{record.Null, record.Bool(true), record.Bool(false), record.Int(-1 << 62), record.Float(math.Copysign(0, -1)),
		record.Float(3.25e300), record.MustDecimal("-12.5000"), record.String("héllo"), record.BytesString("\x00\xff"),
		record.DateFromDays(-700000), record.TimestampMicros(1 << 50), record.JSON(`{"a":[1]}`)}
	b := appendRow(nil, vals)
	got := make(record.Row, len(vals))
	rest, err := readRow(b, got)
	if err != nil || len(rest) != 0 {
		t.Fatalf("readRow: %v, %d bytes left", err, len(rest))
	}
	for i := range vals {
		if !got[i].Equal(vals[i]) {
			t.Errorf("value %d: got %v (%s), want %v (%s)", i, got[i], got[i].Kind(), vals[i], vals[i].Kind())
		}
	}
	if _, err := readRow(b[:len(b)-3], got); err == nil {
		t.Error("a truncated entry decoded without error")
	}
}

// TestSorterMergesManyRuns: more runs than the fan-in are merged on the way, and the output is
// every entry, in order.
func TestSorterMergesManyRuns(t *testing.T) {
	dir := t.TempDir()
	s := newSorter(&SpillArea{Dir: dir}, 8<<10)
	defer s.close()
	rng := rand.New(rand.NewPCG(3, 4))
	want := map[string]string{}
	for i := range 40000 {
		k := fmt.Sprintf("%016x-%d", rng.Uint64(), i)
		v := strings.Repeat("v", i%17)
		want[k] = v
		if err := s.add([]byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
		if len(s.runs) > sortFanIn {
			t.Fatalf("%d runs open, more than the fan-in %d", len(s.runs), sortFanIn)
		}
	}
	it, err := s.finish(true)
	if err != nil {
		t.Fatal(err)
	}
	prev, n := "", 0
	for {
		k, v, ok, err := it.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if string(k) <= prev {
			t.Fatalf("entry %d: %q after %q", n, k, prev)
		}
		if want[string(k)] != string(v) {
			t.Fatalf("entry %q: value %q, want %q", k, v, want[string(k)])
		}
		prev, n = string(k), n+1
	}
	if n != len(want) {
		t.Errorf("%d entries out, %d in", n, len(want))
	}
}
