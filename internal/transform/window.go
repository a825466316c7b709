package transform

import (
	"container/heap"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
)

type windowConfig struct {
	TimeField       string
	Type            string
	Size            string
	Slide           string
	Watermark       string
	AllowedLateness string
	IdleTimeout     string
	GroupBy         []string
	Aggregates      []aggItem
	Late            string
	MaxOpenWindows  int64
}

const (
	defaultMaxOpenWindows = 100_000
	// maxWindowsPerRow bounds size/slide: a row of a sliding window is added to that many windows.
	maxWindowsPerRow = 1000
	windowBatch      = 1024
)

var windowSpec = configspec.Describe(func(c *windowConfig, b *configspec.Builder) {
	b.String(&c.TimeField, "time_field").Required().Min(1).
		Doc("The event time: a timestamp or date field. Rows whose time is null are rejected.").Example("ts")
	b.String(&c.Type, "type").Default("tumbling").Enum("tumbling", "sliding").
		Doc("tumbling: back-to-back windows of size; sliding: windows of size starting every slide (a row is in size/slide windows).")
	b.String(&c.Size, "size").Required().Min(1).
		Doc("The window length, a duration such as 30s, 1m or 1h. Windows are aligned to the Unix epoch (a 1m window starts on the minute).").Example("1m")
	b.String(&c.Slide, "slide").
		Doc("Sliding windows only: how often a window starts; at most size.").Example("10s")
	b.String(&c.Watermark, "watermark").Default("0s").
		Doc("The out-of-orderness allowed: the watermark is the largest event time seen minus this. A window is emitted when the watermark reaches its end plus allowed_lateness.")
	b.String(&c.AllowedLateness, "allowed_lateness").Default("0s").
		Doc("How long after its end (by the watermark) a window still takes rows before it is emitted.")
	b.String(&c.IdleTimeout, "idle_timeout").Default("0s").
		Doc("When no row arrives for this long (by the clock), event time is taken to move on with the clock from the last row, so that a quiet stream's windows close. 0s: never; the watermark moves only with the rows.")
	b.Strings(&c.GroupBy, "group_by").
		Doc("Fields whose values form a group within each window (nulls form a group of their own). Empty: one row per window.")
	describeAggregates(b, &c.Aggregates, "Output fields computed per window and group.")
	b.String(&c.Late, "late").Default("dead_letter").Enum("dead_letter", "drop").
		Doc("What happens to a row whose window was already emitted: dead_letter (to the error policy, with a reason naming the window and the watermark) or drop (counted as dropped).")
	b.Int64(&c.MaxOpenWindows, "max_open_windows").Min(1).Default(defaultMaxOpenWindows).
		Doc("Fail the run when more (window, group) pairs than this are open at once (windows in flight x groups).")
})

func windowDefinition() Definition {
	return Definition{
		Spec: Spec{Name: "window", Title: "Window",
			Description: "Tumbling or sliding windows by event time with a watermark: count, sum, min, max and avg per window and group, emitted once each window closes.",
			Config:      windowSpec, MinInputs: 1, MaxInputs: 1},
		New: newWindowNode,
	}
}

// parseDuration reads a config duration as microseconds; it must be positive unless zero is allowed.
func parseDuration(e *errs, path, s string, zeroOK bool) int64 {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		e.add(path, "must be a duration such as 30s, 1m or 1h, got %q", s)
		return 0
	case d < 0 && zeroOK:
		e.add(path, "must not be negative, got %q", s)
		return 0
	case d <= 0 && !zeroOK:
		e.add(path, "must be greater than zero, got %q", s)
		return 0
	case d%time.Microsecond != 0:
		e.add(path, "must be a whole number of microseconds, got %q", s)
		return 0
	}
	return d.Microseconds()
}

func newWindowNode(raw map[string]any) (Node, error) {
	var c windowConfig
	if err := decodeConfig(windowSpec, raw, &c); err != nil {
		return nil, err
	}
	var e errs
	checkAggregates(c.Aggregates, &e)
	n := &windowNode{cfg: c}
	n.size = parseDuration(&e, "size", c.Size, false)
	n.delay = parseDuration(&e, "watermark", c.Watermark, true)
	n.lateness = parseDuration(&e, "allowed_lateness", c.AllowedLateness, true)
	n.idle = parseDuration(&e, "idle_timeout", c.IdleTimeout, true)
	n.slide = n.size
	switch {
	case c.Type == "sliding" && c.Slide == "":
		e.add("slide", "required for sliding windows")
	case c.Type == "sliding":
		n.slide = parseDuration(&e, "slide", c.Slide, false)
		if n.size > 0 && n.slide > n.size {
			e.add("slide", "must not be longer than size (%s), got %s", c.Size, c.Slide)
		} else if n.slide > 0 && (n.size+n.slide-1)/n.slide > maxWindowsPerRow {
			e.add("slide", "size/slide must be at most %d (each row is added to that many windows), got %s/%s", maxWindowsPerRow, c.Size, c.Slide)
		}
	case c.Slide != "":
		e.add("slide", "only for sliding windows (type is %s)", c.Type)
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	return n, nil
}

// winState is one open (window, group) pair.
type winState struct {
	id    string // map key: start and group key
	start int64  // micros since the epoch
	key   record.Row
	accs  []accum
}

// endHeap is a min-heap of window ends.
type endHeap []int64

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *endHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type windowNode struct {
	cfg                                windowConfig
	size, slide, delay, lateness, idle int64 // micros

	schema   *record.Schema
	tsIdx    int
	groupIdx []int
	ops      []aggOp

	open  map[string]*winState
	byEnd map[int64][]*winState // open windows by end, in the order they opened
	ends  endHeap               // the keys of byEnd
	seen  bool                  // an event time was seen: maxT is set
	maxT  int64
	// idle_timeout: the clock of the last tick that followed rows, whether rows came since, and how
	// far event time moved on with the clock while no rows came (added to maxT when rows come again).
	lastRows    time.Time
	sawRows     bool
	idleAdvance int64
	advanced    bool // maxT holds an idle advance, not an event time seen

	kbuf   []byte
	ibuf   []byte
	keyRow record.Row
}

// Stateful: rows are held in open windows until the watermark passes them.
func (n *windowNode) Stateful() bool { return true }

func (n *windowNode) Init(inputs []*record.Schema) (*record.Schema, error) {
	if err := singleInput("window", inputs); err != nil {
		return nil, err
	}
	in := inputs[0]
	var e errs
	n.tsIdx = in.Index(n.cfg.TimeField)
	if n.tsIdx < 0 {
		e.add("time_field", "%s", unknownField(n.cfg.TimeField, in))
	} else if k := in.Fields[n.tsIdx].Kind; k != record.KindTimestamp && k != record.KindDate {
		e.add("time_field", "%q is %s; a window needs a timestamp or date (cast it with a map node first)", n.cfg.TimeField, k)
	}
	gi, bad := indexes(in, n.cfg.GroupBy)
	if bad != "" {
		e.add("group_by", "%s", unknownField(bad, in))
	}
	fields := []record.Field{{Name: "window_start", Kind: record.KindTimestamp}, {Name: "window_end", Kind: record.KindTimestamp}}
	names := map[string]bool{"window_start": true, "window_end": true}
	for i, j := range gi {
		f := in.Fields[j]
		if names[f.Name] {
			e.add(fmt.Sprintf("group_by[%d]", i), "field %q clashes with an output field of the window", f.Name)
			continue
		}
		names[f.Name] = true
		fields = append(fields, f)
	}
	ops, aggFields := buildAggOps(in, n.cfg.Aggregates, names, &e)
	fields = append(fields, aggFields...)
	if err := e.err(); err != nil {
		return nil, err
	}
	s, err := record.NewSchema(fields...)
	if err != nil {
		return nil, fmt.Errorf("window: %w", err)
	}
	n.schema, n.groupIdx, n.ops = s, gi, ops
	n.open = map[string]*winState{}
	n.byEnd = map[int64][]*winState{}
	n.keyRow = make(record.Row, len(gi))
	return s, nil
}

// eventMicros is a timestamp's or date's time in microseconds since the epoch.
func eventMicros(v record.Value) int64 {
	if v.Kind() == record.KindDate {
		return v.AsInt() * 86_400_000_000
	}
	return v.AsInt()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// watermark is the largest event time seen minus the allowed out-of-orderness.
func (n *windowNode) watermark() (int64, bool) { return n.maxT + n.idleAdvance - n.delay, n.seen }

// closed reports whether the window ending at end was (or is due to be) emitted.
func (n *windowNode) closed(end int64) bool {
	wm, ok := n.watermark()
	return ok && wm >= end+n.lateness
}

func fmtMicros(us int64) string {
	return time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.999999Z07:00")
}

func (n *windowNode) Process(_ context.Context, _ int, in *record.Batch, out Output) error {
	if len(in.Rows) > 0 {
		if n.idleAdvance > 0 {
			n.maxT += n.idleAdvance // the watermark never goes back
			n.advanced = true
		}
		n.idleAdvance, n.sawRows = 0, true
	}
	for i, row := range in.Rows {
		tv := row[n.tsIdx]
		if tv.IsNull() {
			if err := rejectRow(out, in, i, n.cfg.TimeField, "the event time is null; a window needs one"); err != nil {
				return err
			}
			continue
		}
		t := eventMicros(tv)
		last := floorDiv(t, n.slide) * n.slide // the latest window start that holds t
		first := last
		for first-n.slide > t-n.size {
			first -= n.slide
		}
		n.kbuf = appendKey(n.kbuf[:0], row, n.groupIdx)
		missed, counted := 0, 0
		var missedStart int64
		for s := first; s <= last; s += n.slide {
			if n.closed(s + n.size) {
				missed++
				missedStart = s
				continue
			}
			ws, err := n.window(s, row, out)
			if err != nil {
				return err
			}
			for k := range n.ops {
				if err := n.ops[k].add(&ws.accs[k], row); err != nil {
					return fmt.Errorf("window: row %d: %w", in.PosOf(i), err)
				}
			}
			counted++
		}
		if missed > 0 {
			if err := n.late(out, in, i, t, missedStart, counted); err != nil {
				return err
			}
		}
		if !n.seen || t > n.maxT {
			n.maxT, n.seen, n.advanced = t, true, false
		}
	}
	return n.emitClosed(out)
}

// cloneKey copies a window's group values. Each window owns its copy (no shared arena), so the
// memory of an emitted window is freed with it whatever windows opened beside it stay open.
func cloneKey(row record.Row) record.Row {
	if len(row) == 0 {
		return nil
	}
	out := make(record.Row, len(row))
	for i, v := range row {
		out[i] = cloneValue(v)
	}
	return out
}

// window returns the open window starting at start for row's group (key in n.kbuf), opening it.
func (n *windowNode) window(start int64, row record.Row, out Output) (*winState, error) {
	n.ibuf = binary.BigEndian.AppendUint64(append(n.ibuf[:0], n.kbuf...), uint64(start))
	if ws, ok := n.open[string(n.ibuf)]; ok {
		return ws, nil
	}
	if int64(len(n.open)) >= n.cfg.MaxOpenWindows {
		// Windows the watermark already passed go first; they would be emitted at the end of the batch.
		if err := n.emitClosed(out); err != nil {
			return nil, err
		}
		if int64(len(n.open)) >= n.cfg.MaxOpenWindows {
			wm, _ := n.watermark()
			return nil, fmt.Errorf("window: more than max_open_windows (%d) windows open at once (windows in flight x groups of %v; the watermark is %s, %d window ends pending); raise max_open_windows, or shorten size, watermark or allowed_lateness, or group by fewer values",
				n.cfg.MaxOpenWindows, n.cfg.GroupBy, fmtMicros(wm), len(n.ends))
		}
	}
	for k, j := range n.groupIdx {
		n.keyRow[k] = row[j]
	}
	ws := &winState{id: string(n.ibuf), start: start, key: cloneKey(n.keyRow), accs: make([]accum, len(n.ops))}
	n.add(ws)
	return ws, nil
}

func (n *windowNode) add(ws *winState) {
	n.open[ws.id] = ws
	end := ws.start + n.size
	list, ok := n.byEnd[end]
	if !ok {
		heap.Push(&n.ends, end)
	}
	n.byEnd[end] = append(list, ws)
}

// Tick moves event time on with the clock once no row has come for idle_timeout, and emits the
// windows the watermark then reaches.
func (n *windowNode) Tick(_ context.Context, now time.Time, out Output) error {
	if n.idle == 0 || !n.seen {
		return nil
	}
	if n.sawRows || n.lastRows.IsZero() {
		n.lastRows, n.sawRows = now, false
		return nil
	}
	quiet := now.Sub(n.lastRows).Microseconds()
	if quiet < n.idle || quiet <= n.idleAdvance {
		return nil
	}
	n.idleAdvance = quiet
	return n.emitClosed(out)
}

// late handles row i, whose event time t fell in windows already emitted (the latest of them
// starting at start); counted is how many of its windows were still open and took it.
func (n *windowNode) late(out Output, in *record.Batch, i int, t, start int64, counted int) error {
	if n.cfg.Late == "drop" {
		out.Count(Dropped, 1)
		return nil
	}
	wm, _ := n.watermark()
	reason := fmt.Sprintf("late: event time %s is in window [%s, %s), emitted when the watermark reached %s; the watermark is %s (largest event time %s minus watermark %s)",
		fmtMicros(t), fmtMicros(start), fmtMicros(start+n.size), fmtMicros(start+n.size+n.lateness), fmtMicros(wm), fmtMicros(n.maxT+n.idleAdvance), n.cfg.Watermark)
	if n.lateness > 0 {
		reason += fmt.Sprintf(", allowed_lateness %s", n.cfg.AllowedLateness)
	}
	if n.advanced || n.idleAdvance > 0 {
		reason += fmt.Sprintf("; no row came for idle_timeout %s, so event time moved on with the clock", n.cfg.IdleTimeout)
	}
	if counted > 0 {
		reason += fmt.Sprintf("; counted in the %d later windows still open", counted)
	}
	return rejectRow(out, in, i, n.cfg.TimeField, reason)
}

// emitClosed emits the windows the watermark has passed (end + allowed_lateness), oldest end first.
func (n *windowNode) emitClosed(out Output) error {
	var bld *record.Builder
	for len(n.ends) > 0 && n.closed(n.ends[0]) {
		if bld == nil {
			bld = record.NewBuilder(n.schema, windowBatch)
		}
		if err := n.emitEnd(out, bld, heap.Pop(&n.ends).(int64)); err != nil {
			return err
		}
	}
	if bld == nil {
		return nil
	}
	return emitBuilt(out, bld, 0)
}

// emitEnd emits the windows ending at end, in the order they opened, and forgets them.
func (n *windowNode) emitEnd(out Output, bld *record.Builder, end int64) error {
	w := 2 + len(n.groupIdx)
	for _, ws := range n.byEnd[end] {
		r := bld.Row(0)
		r[0], r[1] = record.TimestampMicros(ws.start), record.TimestampMicros(end)
		copy(r[2:], ws.key)
		for k := range n.ops {
			v, err := n.ops[k].result(&ws.accs[k])
			if err != nil {
				return fmt.Errorf("window: %s: %w", n.ops[k].name, err)
			}
			r[w+k] = v
		}
		delete(n.open, ws.id)
		if bld.Full() {
			if err := emitBuilt(out, bld, 0); err != nil {
				return err
			}
		}
	}
	delete(n.byEnd, end)
	return nil
}

// Flush emits every open window, oldest end first: the input ended, so no row can reach them.
func (n *windowNode) Flush(_ context.Context, out Output) error {
	bld := record.NewBuilder(n.schema, windowBatch)
	for len(n.ends) > 0 {
		if err := n.emitEnd(out, bld, heap.Pop(&n.ends).(int64)); err != nil {
			return err
		}
	}
	return emitBuilt(out, bld, 0)
}

// The checkpoint state: the watermark's base and every open window, in emission order.
type windowState struct {
	V       int           `json:"v"`
	Seen    bool          `json:"seen"`
	MaxT    int64         `json:"max_t"`
	Windows []windowEntry `json:"windows,omitempty"`
}

type windowEntry struct {
	Start int64        `json:"s"`
	Key   []savedValue `json:"k,omitempty"`
	Accs  []savedAccum `json:"a"`
}

// State returns the open windows and the watermark for a checkpoint.
func (n *windowNode) State() (json.RawMessage, error) {
	st := windowState{V: 1, Seen: n.seen, MaxT: n.maxT + n.idleAdvance}
	ends := append(endHeap(nil), n.ends...)
	slices.Sort(ends)
	for _, end := range ends {
		for _, ws := range n.byEnd[end] {
			e := windowEntry{Start: ws.start, Key: saveValues(ws.key), Accs: make([]savedAccum, len(ws.accs))}
			for k := range ws.accs {
				e.Accs[k] = saveAccum(&ws.accs[k])
			}
			st.Windows = append(st.Windows, e)
		}
	}
	return json.Marshal(st)
}

// Restore replaces the node's windows and watermark with a saved state (after Init).
func (n *windowNode) Restore(raw json.RawMessage) error {
	var st windowState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("window: read saved state: %w", err)
	}
	if st.V != 1 {
		return fmt.Errorf("window: saved state has version %d, want 1", st.V)
	}
	n.open, n.byEnd, n.ends = map[string]*winState{}, map[int64][]*winState{}, nil
	n.seen, n.maxT = st.Seen, st.MaxT
	n.idleAdvance, n.lastRows, n.sawRows, n.advanced = 0, time.Time{}, false, false
	for i, e := range st.Windows {
		if len(e.Key) != len(n.groupIdx) || len(e.Accs) != len(n.ops) {
			return fmt.Errorf("window: saved window %d has %d group values and %d aggregates, want %d and %d", i, len(e.Key), len(e.Accs), len(n.groupIdx), len(n.ops))
		}
		key, err := restoreValues(e.Key)
		if err != nil {
			return fmt.Errorf("window: saved window %d: %w", i, err)
		}
		ws := &winState{start: e.Start, key: cloneKey(key), accs: make([]accum, len(e.Accs))}
		for k := range e.Accs {
			if ws.accs[k], err = e.Accs[k].restore(); err != nil {
				return fmt.Errorf("window: saved window %d: %w", i, err)
			}
		}
		n.kbuf = appendKey(n.kbuf[:0], ws.key, identity(len(ws.key)))
		ws.id = string(binary.BigEndian.AppendUint64(append([]byte(nil), n.kbuf...), uint64(ws.start)))
		n.add(ws)
	}
	return nil
}
