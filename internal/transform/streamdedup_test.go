package transform

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
)

// TestStreamDedup feeds rows (key, "mm:ss" event or processing time) one per batch and lists the
// ids (row numbers from 1) that pass.
func TestStreamDedup(t *testing.T) {
	cases := []struct {
		name    string
		config  map[string]any
		rows    [][2]string // key, time (event time, or the clock when processing time)
		want    []int       // rows that pass, from 1
		rejects int
	}{
		{name: "event time window", config: map[string]any{"key": []any{"k"}, "within": "10m", "time_field": "ts"},
			rows: [][2]string{{"a", "00:00"}, {"a", "05:00"}, {"b", "05:00"}, {"a", "10:00"}, {"a", "12:00"}, {"b", "14:59"}, {"b", "15:00"}},
			want: []int{1, 3, 4, 7}},
		{name: "event time out of order", config: map[string]any{"key": []any{"k"}, "within": "10m", "time_field": "ts", "watermark": "5m"},
			rows: [][2]string{{"a", "05:00"}, {"a", "00:30"}, {"b", "14:00"}, {"a", "04:00"}, {"c", "20:00"}, {"a", "04:30"}},
			want: []int{1, 3, 5, 6}},
		{name: "forgotten once the watermark passes", config: map[string]any{"key": []any{"k"}, "within": "1m", "time_field": "ts"},
			rows: [][2]string{{"a", "00:00"}, {"b", "02:00"}, {"a", "00:30"}},
			want: []int{1, 2, 3}},
		{name: "processing time", config: map[string]any{"key": []any{"k"}, "within": "1m"},
			rows: [][2]string{{"a", "00:00"}, {"a", "00:59"}, {"b", "01:00"}, {"a", "01:00"}, {"a", "01:30"}},
			want: []int{1, 3, 4}},
		{name: "evict oldest when full", config: map[string]any{"key": []any{"k"}, "within": "1h", "time_field": "ts", "max_keys": 2},
			rows: [][2]string{{"a", "00:00"}, {"b", "00:01"}, {"c", "00:02"}, {"b", "00:03"}, {"a", "00:04"}},
			want: []int{1, 2, 3, 5}},
		{name: "null event time rejected", config: map[string]any{"key": []any{"k"}, "within": "1m", "time_field": "ts"},
			rows: [][2]string{{"a", ""}, {"a", "00:00"}, {"a", "00:10"}},
			want: []int{2}, rejects: 1},
	}
	in := schemaOf(t, "id:int", "k:string", "ts:timestamp")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, _ := setup(t, "stream_dedup", tc.config, in)
			c, got := runStreamDedup(t, n, in, tc.rows)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("passed (-want +got):\n%s", diff)
			}
			if len(c.rejects) != tc.rejects {
				t.Errorf("%d rejects, want %d: %v", len(c.rejects), tc.rejects, c.rejects)
			}
			if got, want := c.counts[Deduplicated], int64(len(tc.rows)-len(tc.want)-tc.rejects); got != want {
				t.Errorf("deduplicated = %d, want %d", got, want)
			}
		})
	}
}

// runStreamDedup feeds rows one per batch; with processing time, the node's clock is the row's time.
func runStreamDedup(t *testing.T, n Node, in *record.Schema, rows [][2]string) (*collector, []int) {
	t.Helper()
	c := &collector{}
	var clock time.Time
	n.(*streamDedupNode).now = func() time.Time { return clock }
	for i, r := range rows {
		var at any
		if r[1] != "" {
			at = ts(r[1])
			clock, _ = time.Parse(time.RFC3339, ts(r[1]))
		}
		if err := n.Process(context.Background(), 0, batchOf(t, in, []any{i + 1, r[0], at}), c); err != nil {
			t.Fatalf("row %d: %v", i+1, err)
		}
	}
	var got []int
	for _, r := range c.rows() {
		var id int
		fmt.Sscan(r[0], &id)
		got = append(got, id)
	}
	return c, got
}

// TestStreamDedupMemoryBounded: keys expire as event time moves, so an endless stream of new keys
// holds only those of the last window; past max_keys, on_full: fail stops with a clear error.
func TestStreamDedupMemoryBounded(t *testing.T) {
	in := schemaOf(t, "id:int", "k:string", "ts:timestamp")
	n, _ := setup(t, "stream_dedup", map[string]any{"key": []any{"k"}, "within": "1m", "time_field": "ts", "max_keys": 10000, "on_full": "fail"}, in)
	c := &collector{}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	most := 0
	for i := range 100_000 { // 100 keys a second for 1,000 s
		at := base.Add(time.Duration(i) * 10 * time.Millisecond)
		if err := n.Process(context.Background(), 0, batchOf(t, in, []any{i, fmt.Sprintf("key-%d", i), at}), c); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		most = max(most, len(n.(*streamDedupNode).seen))
	}
	if most > 6001 || len(c.rows()) != 100_000 {
		t.Errorf("%d keys held at most, %d rows passed; want at most a minute's 6,001 keys and every row", most, len(c.rows()))
	}

	// ... whereas keys that never expire hit the limit
	n, _ = setup(t, "stream_dedup", map[string]any{"key": []any{"k"}, "within": "1h", "time_field": "ts", "max_keys": 1000, "on_full": "fail"}, in)
	var err error
	for i := 0; i < 2000 && err == nil; i++ {
		err = n.Process(context.Background(), 0, batchOf(t, in, []any{i, fmt.Sprintf("key-%d", i), base}), c)
	}
	if err == nil || !strings.Contains(err.Error(), "stream_dedup: more than max_keys (1000) keys of [k] seen within 1h; raise max_keys") {
		t.Errorf("error = %v, want the max_keys error", err)
	}
}

// TestStreamDedupStateRoundTrip: a node restored from State drops exactly what the uninterrupted
// node drops.
func TestStreamDedupStateRoundTrip(t *testing.T) {
	in := schemaOf(t, "id:int", "k:string", "ts:timestamp")
	cfg := map[string]any{"key": []any{"k"}, "within": "30s", "time_field": "ts", "watermark": "10s"}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows [][]any
	for i := range 2000 {
		rows = append(rows, []any{i, fmt.Sprintf("k%d", i%37), base.Add(time.Duration(i*300-(i%5)*700) * time.Millisecond)})
	}
	whole, _ := setup(t, "stream_dedup", cfg, in)
	want := runNode(t, whole, batchOf(t, in, rows...))

	first, _ := setup(t, "stream_dedup", cfg, in)
	c := &collector{}
	if err := first.Process(context.Background(), 0, batchOf(t, in, rows[:1100]...), c); err != nil {
		t.Fatal(err)
	}
	st, err := first.(Checkpointed).State()
	if err != nil {
		t.Fatal(err)
	}
	second, _ := setup(t, "stream_dedup", cfg, in)
	if err := second.(Checkpointed).Restore(st); err != nil {
		t.Fatal(err)
	}
	if err := second.Process(context.Background(), 0, batchOf(t, in, rows[1100:]...), c); err != nil {
		t.Fatal(err)
	}
	if len(want.rows()) == len(rows) || len(want.rows()) == 0 {
		t.Fatalf("%d of %d rows passed: the data has no duplicates to drop", len(want.rows()), len(rows))
	}
	if diff := cmp.Diff(want.rows(), c.rows()); diff != "" {
		t.Errorf("restored node (-uninterrupted +restored):\n%s", diff)
	}
}

func TestStreamDedupConfigErrors(t *testing.T) {
	in := schemaOf(t, "id:int", "k:string", "ts:timestamp")
	cases := []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"key": []any{"k"}, "within": "a while"}, `within: must be a duration such as 30s, 1m or 1h, got "a while"`},
		{map[string]any{"key": []any{"k"}, "within": "0s"}, `within: must be greater than zero, got "0s"`},
		{map[string]any{"key": []any{"k"}, "within": "1m", "watermark": "10s"}, `watermark: only with time_field`},
		{map[string]any{"key": []any{"k"}, "within": "1m", "time_field": "k"}, `time_field: "k" is string; stream_dedup needs a timestamp or date`},
		{map[string]any{"key": []any{"kk"}, "within": "1m"}, `key: unknown field "kk" (fields are: id, k, ts)`},
		{map[string]any{"key": []any{"k"}}, `within`},
		{map[string]any{"key": []any{"k"}, "within": "1m", "on_full": "panic"}, `on_full`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			_, _, err := build("stream_dedup", tc.config, in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			var ce configspec.Errors
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not configspec.Errors", err)
			}
		})
	}
}
