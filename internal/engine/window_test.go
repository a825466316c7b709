package engine

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// windowSpec streams ids 1..1000 with the event time 2024-01-01T00:00:00Z + id seconds into a
// one-minute window (count and sum of ids); the windows go to the table w.
const windowSpec = `version: 1
name: windows
sources: [{id: src, type: stream, config: {rows: 1000}}]
transforms:
  - id: t
    type: expression
    inputs: [src]
    config: {fields: [{name: ts, expression: 'date_add(parse_time("2024-01-01T00:00:00Z"), id, "second")'}]}
  - id: w
    type: window
    inputs: [t]
    config:
      time_field: ts
      size: 1m
      aggregates: [{name: n, function: count}, {name: ids, function: sum, field: id}]
destinations: [{id: out, type: mem, inputs: [w], config: {table: w}}]
`

// windowFixture is the engine fixture whose stream source blocks at *block rows (0: never; it
// then ends at 1000).
func windowFixture(t *testing.T) (*fixture, *atomic.Int64) {
	f := setup(t)
	block := &atomic.Int64{}
	cr, err := connector.NewRegistry(genConn{}, streamConn{genConn{blockAt: block}}, memConn{f.db})
	if err != nil {
		t.Fatal(err)
	}
	f.env.Connectors = cr
	return f, block
}

// wantWindows are the windows of ids 1..upTo: start minute -> "count/sum".
func wantWindows(upTo int64) map[int64]string {
	n, s := map[int64]int64{}, map[int64]int64{}
	for id := int64(1); id <= upTo; id++ {
		n[id/60]++
		s[id/60] += id
	}
	out := map[int64]string{}
	for m := range n {
		out[m] = record.Int(n[m]).String() + "/" + record.Int(s[m]).String()
	}
	return out
}

// gotWindows reads the table w; a window written twice fails the test.
func gotWindows(t *testing.T, rows []record.Row) map[int64]string {
	t.Helper()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	out := map[int64]string{}
	for _, r := range rows {
		m := int64(r[0].AsTime().Sub(base) / time.Minute)
		if _, dup := out[m]; dup {
			t.Errorf("window of minute %d written twice", m)
		}
		out[m] = r[2].String() + "/" + r[3].String()
	}
	return out
}

// TestWindowResumesFromCheckpoint: a stream run with a window node saves the open windows in its
// checkpoints with the source positions, so a run killed in the middle of the stream resumes from
// the last checkpoint (not from the beginning) and every window is written once with every row
// counted once.
func TestWindowResumesFromCheckpoint(t *testing.T) {
	t.Parallel()
	f, _ := windowFixture(t)
	plan := f.plan(t, windowSpec)
	ctx, cancel := context.WithCancelCause(context.Background())
	var once sync.Once
	ck := &memCheckpointer{}
	ck.onSave = func(cp *Checkpoint) {
		var pos struct{ Next int64 }
		_ = json.Unmarshal(cp.Sources["src"], &pos)
		if len(cp.Nodes["w"]) > 0 && pos.Next >= 300 {
			once.Do(func() { cancel(ErrInterrupted) }) // a kill while rows keep coming
		}
	}
	opts := Options{Checkpointer: ck, CommitRows: 50, BatchSize: 10}
	if _, err := Run(ctx, plan, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it cancelled", err)
	}
	first := len(f.table("w"))
	if first == 0 || first >= 16 {
		t.Fatalf("%d windows committed by the killed run, want some but not all", first)
	}
	cp, _ := ck.Load(context.Background())
	if cp.Complete || cp.Nodes["w"] == nil {
		t.Fatalf("the last checkpoint holds no window state: %+v", cp)
	}

	res, err := Run(context.Background(), f.plan(t, windowSpec), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Restarted {
		t.Errorf("resumed %v restarted %v, want a resume from the checkpoint", res.Resumed, res.Restarted)
	}
	if diff := cmp.Diff(wantWindows(1000), gotWindows(t, f.table("w"))); diff != "" {
		t.Errorf("windows (-want +got):\n%s", diff)
	}
}

// TestWindowStateCarriesAcrossAStop: stopping a stream run does not emit its open windows half full:
// their state goes into the final checkpoint and the next run of the same pipeline goes on with it.
func TestWindowStateCarriesAcrossAStop(t *testing.T) {
	t.Parallel()
	f, block := windowFixture(t)
	block.Store(630) // the stream pauses at id 630, in the middle of minute 10
	ck := &memCheckpointer{}
	stop := make(chan struct{})
	var once sync.Once
	opts := Options{Checkpointer: ck, CommitRows: 50, BatchSize: 10, Stop: stop, ProgressInterval: 5 * time.Millisecond,
		Progress: func(p Progress) {
			if p.RowsRead >= 630 {
				once.Do(func() { close(stop) })
			}
		}}
	res, err := Run(context.Background(), f.plan(t, windowSpec), opts)
	if err != nil || !res.Stopped {
		t.Fatalf("first run: stopped %v, %v", res.Stopped, err)
	}
	want := wantWindows(1000)
	got := gotWindows(t, f.table("w"))
	if len(got) != 10 || got[9] != want[9] {
		t.Fatalf("after the stop: windows %v, want minutes 0..9 only (minute 10 still open)", got)
	}

	block.Store(0) // the stream goes on to 1000, then ends
	opts.Stop, opts.Progress = nil, nil
	if _, err := Run(context.Background(), f.plan(t, windowSpec), opts); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, gotWindows(t, f.table("w"))); diff != "" {
		t.Errorf("windows (-want +got):\n%s", diff)
	}
}

// TestStreamDedupResumesFromCheckpoint: stream_dedup's remembered keys are in the checkpoints, so a
// run killed in the middle of a stream and resumed writes exactly the rows an uninterrupted run
// writes: no duplicate of a key that passed before the kill gets through.
func TestStreamDedupResumesFromCheckpoint(t *testing.T) {
	t.Parallel()
	const spec = `version: 1
name: dedup
sources: [{id: src, type: stream, config: {rows: 1000}}]
transforms:
  - id: t
    type: expression
    inputs: [src]
    config: {fields: [{name: k, expression: 'id % 20'}, {name: ts, expression: 'date_add(parse_time("2024-01-01T00:00:00Z"), id, "second")'}]}
  - id: d
    type: stream_dedup
    inputs: [t]
    config: {key: [k], within: 50s, time_field: ts}
destinations: [{id: out, type: mem, inputs: [d], config: {table: d}}]
`
	whole, _ := windowFixture(t)
	if _, err := Run(context.Background(), whole.plan(t, spec), Options{BatchSize: 10}); err != nil {
		t.Fatal(err)
	}
	want := ids(whole.table("d"))
	if len(want) == 0 || len(want) > 500 {
		t.Fatalf("the uninterrupted run passed %d of 1000 rows: the data should have many duplicates", len(want))
	}

	f, _ := windowFixture(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	var once sync.Once
	ck := &memCheckpointer{}
	ck.onSave = func(cp *Checkpoint) {
		var pos struct{ Next int64 }
		_ = json.Unmarshal(cp.Sources["src"], &pos)
		if len(cp.Nodes["d"]) > 0 && pos.Next >= 400 {
			once.Do(func() { cancel(ErrInterrupted) })
		}
	}
	opts := Options{Checkpointer: ck, CommitRows: 50, BatchSize: 10}
	if _, err := Run(ctx, f.plan(t, spec), opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it cancelled", err)
	}
	res, err := Run(context.Background(), f.plan(t, spec), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed {
		t.Errorf("the second run did not resume from the checkpoint")
	}
	if diff := cmp.Diff(want, ids(f.table("d"))); diff != "" {
		t.Errorf("rows passed (-uninterrupted +killed and resumed):\n%s", diff)
	}
}

// TestWindowIdleTimeoutOnAQuietStream: the engine gives a window node the time between batches, so
// with idle_timeout the last window of a stream that went quiet is emitted and committed while the
// run goes on.
func TestWindowIdleTimeoutOnAQuietStream(t *testing.T) {
	t.Parallel()
	f, block := windowFixture(t)
	block.Store(631) // ids 1..631 (event times 1 s apart), then the stream goes quiet
	plan := f.plan(t, `version: 1
name: quiet
sources: [{id: src, type: stream, config: {rows: 1000}}]
transforms:
  - id: t
    type: expression
    inputs: [src]
    config: {fields: [{name: ts, expression: 'date_add(parse_time("2024-01-01T00:00:00Z"), id, "second")'}]}
  - id: w
    type: window
    inputs: [t]
    config: {time_field: ts, size: 2s, idle_timeout: 100ms, aggregates: [{name: n, function: count}]}
destinations: [{id: out, type: mem, inputs: [w], config: {table: w}}]
`)
	last := time.Date(2024, 1, 1, 0, 10, 30, 0, time.UTC) // the window [630 s, 632 s) holds id 630 and 631
	stop := make(chan struct{})
	var once sync.Once
	ck := &memCheckpointer{}
	ck.onSave = func(*Checkpoint) {
		for _, r := range f.table("w") {
			if r[0].AsTime().Equal(last) {
				once.Do(func() { close(stop) })
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Run(ctx, plan, Options{Checkpointer: ck, CommitInterval: 20 * time.Millisecond, BatchSize: 50, Stop: stop})
	if err != nil || !res.Stopped {
		t.Fatalf("stopped %v, %v: the last window was not committed while the stream was quiet", res.Stopped, err)
	}
	rows := f.table("w")
	if got := rows[len(rows)-1]; !got[0].AsTime().Equal(last) || got[2].AsInt() != 2 {
		t.Errorf("last window %v, want [00:10:30, 00:10:32) with 2 rows", got)
	}
}
