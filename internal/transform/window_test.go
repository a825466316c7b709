package transform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
)

// ts is a time on 2024-01-01 UTC given as "mm:ss".
func ts(ms string) string { return "2024-01-01T00:" + ms + "Z" }

// windowCase feeds rows (time "mm:ss", key, amount) one per batch and expects emitted rows as
// "@i window_start..window_end key count sum avg", where i is the row during which the window was
// emitted ("@end": by Flush).
type windowCase struct {
	name    string
	config  map[string]any
	rows    [][]any
	want    []string
	rejects []string // substrings of the reject reasons, in order
	dropped int64
}

func windowConfigWith(over map[string]any) map[string]any {
	c := map[string]any{
		"time_field": "ts", "size": "1m", "group_by": []any{"k"},
		"aggregates": []any{
			map[string]any{"name": "n", "function": "count"},
			map[string]any{"name": "total", "function": "sum", "field": "amount"},
			map[string]any{"name": "mean", "function": "avg", "field": "amount"},
		},
	}
	for k, v := range over {
		c[k] = v
	}
	return c
}

func TestWindow(t *testing.T) {
	cases := []windowCase{
		{name: "tumbling in order", config: windowConfigWith(nil),
			rows: [][]any{{"00:10", "a", "1.5"}, {"00:20", "b", "2"}, {"00:50", "a", "2.5"}, {"01:05", "a", "1"}, {"02:00", "b", "4"}},
			want: []string{
				"@3 00:00..01:00 a 2 4.0 2.0000000",
				"@3 00:00..01:00 b 1 2 2.000000",
				"@4 01:00..02:00 a 1 1 1.000000",
				"@end 02:00..03:00 b 1 4 4.000000",
			}},
		{name: "out of order within the watermark", config: windowConfigWith(map[string]any{"watermark": "30s"}),
			rows: [][]any{{"00:50", "a", "1"}, {"01:10", "a", "1"}, {"00:55", "a", "1"}, {"01:29", "a", "1"}, {"01:31", "a", "1"}},
			want: []string{
				"@4 00:00..01:00 a 2 2 1.000000",
				"@end 01:00..02:00 a 3 3 1.000000",
			}},
		{name: "late row to the dead letters", config: windowConfigWith(nil),
			rows: [][]any{{"00:10", "a", "1"}, {"01:05", "a", "1"}, {"00:30", "a", "7"}},
			want: []string{
				"@1 00:00..01:00 a 1 1 1.000000",
				"@end 01:00..02:00 a 1 1 1.000000",
			},
			rejects: []string{"late: event time 2024-01-01T00:00:30Z is in window [2024-01-01T00:00:00Z, 2024-01-01T00:01:00Z), emitted when the watermark reached 2024-01-01T00:01:00Z; the watermark is 2024-01-01T00:01:05Z (largest event time 2024-01-01T00:01:05Z minus watermark 0s)"}},
		{name: "late row dropped", config: windowConfigWith(map[string]any{"late": "drop"}),
			rows: [][]any{{"00:10", "a", "1"}, {"01:05", "a", "1"}, {"00:30", "a", "7"}},
			want: []string{
				"@1 00:00..01:00 a 1 1 1.000000",
				"@end 01:00..02:00 a 1 1 1.000000",
			},
			dropped: 1},
		{name: "allowed lateness keeps a window open", config: windowConfigWith(map[string]any{"allowed_lateness": "30s"}),
			rows: [][]any{{"00:10", "a", "1"}, {"01:05", "a", "1"}, {"00:30", "a", "7"}, {"01:29", "b", "1"}, {"01:30", "b", "1"}, {"00:40", "a", "1"}},
			want: []string{
				"@4 00:00..01:00 a 2 8 4.000000",
				"@end 01:00..02:00 a 1 1 1.000000",
				"@end 01:00..02:00 b 2 2 1.000000",
			},
			rejects: []string{"emitted when the watermark reached 2024-01-01T00:01:30Z; the watermark is 2024-01-01T00:01:30Z (largest event time 2024-01-01T00:01:30Z minus watermark 0s), allowed_lateness 30s"}},
		{name: "sliding windows overlap", config: windowConfigWith(map[string]any{"type": "sliding", "slide": "30s"}),
			rows: [][]any{{"00:40", "a", "1"}, {"01:10", "a", "2"}, {"01:35", "a", "3"}},
			want: []string{
				"@1 00:00..01:00 a 1 1 1.000000",
				"@2 00:30..01:30 a 2 3 1.500000",
				"@end 01:00..02:00 a 2 5 2.500000",
				"@end 01:30..02:30 a 1 3 3.000000",
			}},
		{name: "sliding row late for one of its windows", config: windowConfigWith(map[string]any{"type": "sliding", "slide": "30s"}),
			rows: [][]any{{"01:10", "a", "1"}, {"00:40", "a", "2"}},
			want: []string{
				"@end 00:30..01:30 a 2 3 1.500000",
				"@end 01:00..02:00 a 1 1 1.000000",
			},
			rejects: []string{"is in window [2024-01-01T00:00:00Z, 2024-01-01T00:01:00Z), emitted when the watermark reached 2024-01-01T00:01:00Z; the watermark is 2024-01-01T00:01:10Z (largest event time 2024-01-01T00:01:10Z minus watermark 0s); counted in the 1 later windows still open"}},
		{name: "null event time rejected", config: windowConfigWith(nil),
			rows:    [][]any{{nil, "a", "1"}, {"00:01", "a", "1"}},
			want:    []string{"@end 00:00..01:00 a 1 1 1.000000"},
			rejects: []string{"the event time is null"}},
		{name: "avg of decimals is exact", config: windowConfigWith(nil),
			rows: [][]any{{"00:01", "a", "12345678901234567.01"}, {"00:02", "a", "12345678901234567.02"}},
			want: []string{"@end 00:00..01:00 a 2 24691357802469134.03 12345678901234567.01500000"}},
		{name: "no group by: one row per window", config: windowConfigWith(map[string]any{"group_by": []any{}}),
			rows: [][]any{{"00:01", "a", "1"}, {"00:02", "b", "2"}, {"01:00", "a", "3"}},
			want: []string{"@2 00:00..01:00 2 3 1.500000", "@end 01:00..02:00 1 3 3.000000"}},
	}
	in := schemaOf(t, "ts:timestamp", "k:string", "amount:decimal")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, out := setup(t, "window", tc.config, in)
			got, c := runWindowRows(t, n, out, in, tc.rows)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("emitted rows (-want +got):\n%s", diff)
			}
			if len(c.rejects) != len(tc.rejects) {
				t.Fatalf("%d rejects %v, want %d", len(c.rejects), c.rejects, len(tc.rejects))
			}
			for i, want := range tc.rejects {
				if r := c.rejects[i]; !strings.Contains(r.Reason, want) || r.Field != "ts" {
					t.Errorf("reject %d = field %q, %q; want field ts and a reason containing %q", i, r.Field, r.Reason, want)
				}
			}
			if got := c.counts[Dropped]; got != tc.dropped {
				t.Errorf("dropped = %d, want %d", got, tc.dropped)
			}
		})
	}
}

// runWindowRows feeds rows one per batch, then flushes, and renders the emitted rows.
func runWindowRows(t *testing.T, n Node, out, in *record.Schema, rows [][]any) ([]string, *collector) {
	t.Helper()
	c := &collector{}
	var got []string
	seen := 0
	take := func(at string) {
		for _, r := range c.rows()[seen:] {
			got = append(got, at+" "+renderWindowRow(out, r))
		}
		seen = len(c.rows())
	}
	for i, r := range rows {
		row := append([]any(nil), r...)
		if s, ok := row[0].(string); ok {
			row[0] = ts(s)
		}
		if err := n.Process(context.Background(), 0, batchOf(t, in, row), c); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		take(fmt.Sprintf("@%d", i))
	}
	if err := n.Flush(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	take("@end")
	return got, c
}

// renderWindowRow writes "mm:ss..mm:ss rest..." for an output row.
func renderWindowRow(out *record.Schema, r []string) string {
	short := func(s string) string { return strings.TrimSuffix(strings.TrimPrefix(s, "2024-01-01T00:"), "Z") }
	parts := []string{short(r[0]) + ".." + short(r[1])}
	parts = append(parts, r[2:]...)
	_ = out
	return strings.Join(parts, " ")
}

func TestWindowSchemaAndDates(t *testing.T) {
	in := schemaOf(t, "day:date", "v:int")
	n, out := setup(t, "window", map[string]any{"time_field": "day", "size": "24h",
		"aggregates": []any{map[string]any{"name": "n", "function": "count"}, map[string]any{"name": "hi", "function": "max", "field": "v"}}}, in)
	if got, want := out.String(), "window_start timestamp, window_end timestamp, n int, hi int?"; got != want {
		t.Fatalf("schema = %q, want %q", got, want)
	}
	c := runNode(t, n, batchOf(t, in, []any{"2024-03-01", 4}, []any{"2024-03-01", 9}, []any{"2024-03-02", 1}))
	want := [][]string{{"2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z", "2", "9"}, {"2024-03-02T00:00:00Z", "2024-03-03T00:00:00Z", "1", "1"}}
	if diff := cmp.Diff(want, c.rows()); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestWindowConfigErrors(t *testing.T) {
	in := schemaOf(t, "ts:timestamp", "k:string", "amount:decimal", "name:string")
	cases := []struct {
		over map[string]any
		want string
	}{
		{map[string]any{"size": "ten minutes"}, `size: must be a duration such as 30s, 1m or 1h, got "ten minutes"`},
		{map[string]any{"size": "0s"}, `size: must be greater than zero, got "0s"`},
		{map[string]any{"size": "-1m"}, `size: must be greater than zero, got "-1m"`},
		{map[string]any{"watermark": "soon"}, `watermark: must be a duration such as 30s, 1m or 1h, got "soon"`},
		{map[string]any{"allowed_lateness": "-5s"}, `allowed_lateness: must not be negative, got "-5s"`},
		{map[string]any{"type": "sliding"}, `slide: required for sliding windows`},
		{map[string]any{"type": "sliding", "slide": "2m"}, `slide: must not be longer than size (1m), got 2m`},
		{map[string]any{"type": "sliding", "size": "1h", "slide": "1s"}, `slide: size/slide must be at most 1000`},
		{map[string]any{"slide": "30s"}, `slide: only for sliding windows (type is tumbling)`},
		{map[string]any{"type": "hopping"}, `type`},
		{map[string]any{"late": "ignore"}, `late`},
		{map[string]any{"time_field": "when"}, `time_field: unknown field "when" (fields are: ts, k, amount, name)`},
		{map[string]any{"time_field": "name"}, `time_field: "name" is string; a window needs a timestamp or date (cast it with a map node first)`},
		{map[string]any{"group_by": []any{"kk"}}, `group_by: unknown field "kk"`},
		{map[string]any{"aggregates": []any{map[string]any{"name": "s", "function": "sum", "field": "name"}}}, `aggregates[0].field: sum needs a number, but "name" is string`},
		{map[string]any{"aggregates": []any{map[string]any{"name": "window_end", "function": "count"}}}, `aggregates[0].name: field "window_end" already exists in the output`},
		{map[string]any{"aggregates": []any{map[string]any{"name": "s", "function": "avg"}}}, `aggregates[0].field: required for avg`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			_, _, err := build("window", windowConfigWith(tc.over), in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			var ce configspec.Errors
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not configspec.Errors (the engine prefixes their paths)", err)
			}
		})
	}
}

// TestWindowFlood: a flood of distinct keys whose windows cannot close fails at max_open_windows
// with a message that says what to change; memory stays at the limit, and windows that the
// watermark closed do not count against it.
func TestWindowFlood(t *testing.T) {
	in := schemaOf(t, "ts:timestamp", "k:string", "amount:decimal")
	n, _ := setup(t, "window", windowConfigWith(map[string]any{"max_open_windows": 1000, "watermark": "1h"}), in)
	c := &collector{}
	var err error
	for i := 0; i < 5000 && err == nil; i++ {
		err = n.Process(context.Background(), 0, batchOf(t, in, []any{ts("00:01"), fmt.Sprintf("key-%d", i), "1"}), c)
	}
	if err == nil || !strings.Contains(err.Error(), "more than max_open_windows (1000) windows open at once") || !strings.Contains(err.Error(), "raise max_open_windows") {
		t.Fatalf("error = %v, want the max_open_windows error", err)
	}
	if got := len(n.(*windowNode).open); got != 1000 {
		t.Errorf("%d windows open, want 1000", got)
	}

	// Without a watermark delay, a minute's windows close as time moves: 5,000 keys over 50 minutes
	// never hold more than 2 minutes' worth (200) open.
	n, _ = setup(t, "window", windowConfigWith(map[string]any{"max_open_windows": 250}), in)
	c = &collector{}
	for i := range 5000 {
		at := fmt.Sprintf("2024-01-01T00:%02d:%02dZ", i/100, i%100*60/100)
		if err := n.Process(context.Background(), 0, batchOf(t, in, []any{at, fmt.Sprintf("key-%d", i), "1"}), c); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	if err := n.Flush(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := len(c.rows()); got != 5000 {
		t.Errorf("%d windows emitted, want 5000", got)
	}
}

// TestWindowStateRoundTrip: a node restored from State in the middle of a stream emits exactly what
// the uninterrupted node emits (no window lost, no row counted twice), for every kind of aggregate.
func TestWindowStateRoundTrip(t *testing.T) {
	in := schemaOf(t, "ts:timestamp", "k:string", "amount:decimal", "f:float", "i:int", "s:string")
	cfg := windowConfigWith(map[string]any{"type": "sliding", "slide": "20s", "watermark": "15s", "allowed_lateness": "5s",
		"aggregates": []any{
			map[string]any{"name": "n", "function": "count"},
			map[string]any{"name": "total", "function": "sum", "field": "amount"},
			map[string]any{"name": "mean", "function": "avg", "field": "amount"},
			map[string]any{"name": "fsum", "function": "sum", "field": "f"},
			map[string]any{"name": "iavg", "function": "avg", "field": "i"},
			map[string]any{"name": "smin", "function": "min", "field": "s"},
			map[string]any{"name": "tmax", "function": "max", "field": "ts"},
		}})
	var rows [][]any
	for i := range 300 {
		sec := i*2 - (i%7)*8 // out of order, some rows late
		rows = append(rows, []any{fmt.Sprintf("2024-01-01T00:%02d:%02dZ", max(sec, 0)/60, max(sec, 0)%60),
			[]any{"a", "b", nil}[i%3], fmt.Sprintf("%d.%02d", i, i%100), float64(i) / 3, int64(1) << 62, fmt.Sprintf("s%03d", 300-i)})
	}
	whole, _ := setup(t, "window", cfg, in)
	want := runNode(t, whole, batchOf(t, in, rows...))

	first, _ := setup(t, "window", cfg, in)
	c := &collector{}
	if err := first.Process(context.Background(), 0, batchOf(t, in, rows[:170]...), c); err != nil {
		t.Fatal(err)
	}
	state, err := first.(Checkpointed).State()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(state) {
		t.Fatalf("state is not JSON: %s", state)
	}
	second, _ := setup(t, "window", cfg, in)
	if err := second.(Checkpointed).Restore(state); err != nil {
		t.Fatal(err)
	}
	if err := second.Process(context.Background(), 0, batchOf(t, in, rows[170:]...), c); err != nil {
		t.Fatal(err)
	}
	if err := second.Flush(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.rows(), c.rows()); diff != "" {
		t.Errorf("restored node (-uninterrupted +restored):\n%s", diff)
	}
	if len(want.rejects) == 0 || len(c.rejects) != len(want.rejects) {
		t.Errorf("%d late rows after restore, %d without; want the same, more than 0", len(c.rejects), len(want.rejects))
	}
}

// TestWindowIdleTimeout: with idle_timeout, a stream that goes quiet still gets its windows emitted:
// once no row came for idle_timeout (by the clock Tick gives), event time moves on with the clock
// from the last row; rows that come later go on from there, and the watermark never goes back.
func TestWindowIdleTimeout(t *testing.T) {
	in := schemaOf(t, "ts:timestamp", "k:string", "amount:decimal")
	n, out := setup(t, "window", windowConfigWith(map[string]any{"idle_timeout": "10s", "watermark": "5s", "group_by": []any{}}), in)
	c := &collector{}
	ctx := context.Background()
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) // the clock, unrelated to event time
	feed := func(at string) {
		t.Helper()
		if err := n.Process(ctx, 0, batchOf(t, in, []any{ts(at), "a", "1"}), c); err != nil {
			t.Fatal(err)
		}
	}
	tick := func(after time.Duration) {
		t.Helper()
		if err := n.(Ticker).Tick(ctx, wall.Add(after), c); err != nil {
			t.Fatal(err)
		}
	}
	emitted := func() []string {
		var got []string
		for _, r := range c.rows() {
			got = append(got, renderWindowRow(out, r))
		}
		return got
	}
	tick(0) // before any row: nothing
	feed("00:10")
	feed("00:40")
	tick(time.Second) // rows came since the last tick: the quiet time starts here
	tick(9 * time.Second)
	if got := emitted(); len(got) != 0 {
		t.Fatalf("emitted %v after 8 s of quiet, want nothing before idle_timeout", got)
	}
	tick(26 * time.Second) // 25 s quiet: event time 00:40 + 25 s = 01:05, watermark 01:00
	if diff := cmp.Diff([]string{"00:00..01:00 2 2 1.000000"}, emitted()); diff != "" {
		t.Fatalf("after 25 s of quiet (-want +got):\n%s", diff)
	}
	feed("00:50") // its window was emitted: late
	feed("01:01") // event time goes on from 01:05, not back to 01:01
	if len(c.rejects) != 1 || !strings.Contains(c.rejects[0].Reason, "no row came for idle_timeout 10s, so event time moved on with the clock") {
		t.Fatalf("rejects %v, want the 00:50 row late with the idle_timeout named", c.rejects)
	}
	if wm, _ := n.(*windowNode).watermark(); wm != mustMicros(t, ts("01:00")) {
		t.Errorf("watermark %s after rows came again, want 01:00 (it never goes back)", fmtMicros(wm))
	}
	if err := n.Flush(ctx, c); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"00:00..01:00 2 2 1.000000", "01:00..02:00 1 1 1.000000"}, emitted()); diff != "" {
		t.Errorf("in the end (-want +got):\n%s", diff)
	}
}

func mustMicros(t *testing.T, s string) int64 {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UnixMicro()
}
