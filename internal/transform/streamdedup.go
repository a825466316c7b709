package transform

import (
	"container/heap"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
)

type streamDedupConfig struct {
	Key       []string
	Within    string
	TimeField string
	Watermark string
	MaxKeys   int64
	OnFull    string
}

const defaultStreamDedupKeys = 1_000_000

var streamDedupSpec = configspec.Describe(func(c *streamDedupConfig, b *configspec.Builder) {
	b.Strings(&c.Key, "key").Required().Min(1).
		Doc("The fields that identify a record; records with equal keys are duplicates (null equals null here).").Example([]any{"event_id"})
	b.String(&c.Within, "within").Required().Min(1).
		Doc("A record is dropped when a record with its key passed less than this long before (or after, by event time): a duration such as 10m.").Example("10m")
	b.String(&c.TimeField, "time_field").
		Doc("The event time (a timestamp or date field) that within is measured in. Empty: processing time (the clock when the record is processed).")
	b.String(&c.Watermark, "watermark").Default("0s").
		Doc("Event time only: the out-of-orderness allowed. A key is forgotten when the largest event time seen minus this passes its time plus within.")
	b.Int64(&c.MaxKeys, "max_keys").Min(1).Default(defaultStreamDedupKeys).
		Doc("The most keys remembered at once (about 60 bytes each, and 16 bytes each in every checkpoint).")
	b.String(&c.OnFull, "on_full").Default("evict_oldest").Enum("evict_oldest", "fail").
		Doc("When max_keys keys are remembered and a new one comes: evict_oldest forgets the key that would expire first (a later duplicate of it passes), fail stops the run.")
})

func streamDedupDefinition() Definition {
	return Definition{
		Spec: Spec{Name: "stream_dedup", Title: "Remove duplicates in a time window",
			Description: "Drop records whose key was seen within a time window (event or processing time); keys expire as time moves, so memory stays bounded on an endless stream.",
			Config:      streamDedupSpec, MinInputs: 1, MaxInputs: 1},
		New: newStreamDedupNode,
	}
}

func newStreamDedupNode(raw map[string]any) (Node, error) {
	var c streamDedupConfig
	if err := decodeConfig(streamDedupSpec, raw, &c); err != nil {
		return nil, err
	}
	var e errs
	n := &streamDedupNode{cfg: c, now: time.Now}
	n.within = parseDuration(&e, "within", c.Within, false)
	n.delay = parseDuration(&e, "watermark", c.Watermark, true)
	if c.TimeField == "" && n.delay > 0 {
		e.add("watermark", "only with time_field (processing time is never out of order)")
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	return n, nil
}

// expiry is when a remembered key may be forgotten.
type expiry struct {
	at   int64 // micros
	hash uint64
}

type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type streamDedupNode struct {
	cfg           streamDedupConfig
	within, delay int64 // micros
	now           func() time.Time

	schema *record.Schema
	idx    []int
	tsIdx  int // -1: processing time

	// seen maps a key's 64-bit FNV-1a hash (of its exact encoding, so that it is the same after a
	// restart) to the time the record that passed had; exp holds one entry per pass, stale ones
	// (the key passed again later) are skipped when they come up.
	seen map[uint64]int64
	exp  expiryHeap
	maxT int64
	hasT bool

	keep []bool
	kbuf []byte
}

// Stateful: the keys remembered depend on earlier records.
func (n *streamDedupNode) Stateful() bool { return true }

func (n *streamDedupNode) Init(inputs []*record.Schema) (*record.Schema, error) {
	if err := singleInput("stream_dedup", inputs); err != nil {
		return nil, err
	}
	in := inputs[0]
	var e errs
	idx, bad := indexes(in, n.cfg.Key)
	if bad != "" {
		e.add("key", "%s", unknownField(bad, in))
	}
	n.tsIdx = -1
	if n.cfg.TimeField != "" {
		n.tsIdx = in.Index(n.cfg.TimeField)
		if n.tsIdx < 0 {
			e.add("time_field", "%s", unknownField(n.cfg.TimeField, in))
		} else if k := in.Fields[n.tsIdx].Kind; k != record.KindTimestamp && k != record.KindDate {
			e.add("time_field", "%q is %s; stream_dedup needs a timestamp or date (cast it with a map node first)", n.cfg.TimeField, k)
		}
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	n.schema, n.idx = in, idx
	n.seen = map[uint64]int64{}
	return in, nil
}

// fnv64a hashes b (FNV-1a): stable across processes, unlike maphash, so it can be checkpointed.
func fnv64a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func (n *streamDedupNode) Process(_ context.Context, _ int, in *record.Batch, out Output) error {
	if cap(n.keep) < len(in.Rows) {
		n.keep = make([]bool, len(in.Rows))
	}
	keep := n.keep[:len(in.Rows)]
	var dups int64
	now := n.now().UnixMicro()
	for i, row := range in.Rows {
		keep[i] = false
		t := now
		if n.tsIdx >= 0 {
			tv := row[n.tsIdx]
			if tv.IsNull() {
				if err := rejectRow(out, in, i, n.cfg.TimeField, "the event time is null; stream_dedup needs one"); err != nil {
					return err
				}
				continue
			}
			t = eventMicros(tv)
		}
		n.kbuf = appendKey(n.kbuf[:0], row, n.idx)
		h := fnv64a(n.kbuf)
		t0, ok := n.seen[h]
		if ok && t < t0+n.within && t > t0-n.within {
			dups++
			continue
		}
		if !ok && int64(len(n.seen)) >= n.cfg.MaxKeys {
			n.expire()
			if int64(len(n.seen)) >= n.cfg.MaxKeys {
				if n.cfg.OnFull == "fail" {
					return fmt.Errorf("stream_dedup: more than max_keys (%d) keys of %v seen within %s; raise max_keys, shorten within, or set on_full: evict_oldest", n.cfg.MaxKeys, n.cfg.Key, n.cfg.Within)
				}
				n.evictOldest()
			}
		}
		keep[i] = true
		if ok && t < t0 {
			continue // far older than the pass remembered: it passes, the later pass stays remembered
		}
		n.seen[h] = t
		heap.Push(&n.exp, expiry{at: t + n.within, hash: h})
		if n.tsIdx >= 0 && (!n.hasT || t > n.maxT) {
			n.maxT, n.hasT = t, true
		}
	}
	n.expire()
	if dups > 0 {
		out.Count(Deduplicated, dups)
	}
	compact(in, keep)
	return emitInPlace(out, in, n.schema)
}

// horizon is the time before which remembered passes are forgotten.
func (n *streamDedupNode) horizon() (int64, bool) {
	if n.tsIdx < 0 {
		return n.now().UnixMicro(), true
	}
	return n.maxT - n.delay, n.hasT
}

// live reports whether e is the current pass of its key.
func (n *streamDedupNode) live(e expiry) bool {
	t0, ok := n.seen[e.hash]
	return ok && t0+n.within == e.at
}

// expire forgets the keys whose window the horizon has passed.
func (n *streamDedupNode) expire() {
	h, ok := n.horizon()
	if !ok {
		return
	}
	for len(n.exp) > 0 && n.exp[0].at <= h {
		e := heap.Pop(&n.exp).(expiry)
		if n.live(e) {
			delete(n.seen, e.hash)
		}
	}
}

// evictOldest forgets the remembered key that would expire first.
func (n *streamDedupNode) evictOldest() {
	for len(n.exp) > 0 {
		e := heap.Pop(&n.exp).(expiry)
		if n.live(e) {
			delete(n.seen, e.hash)
			return
		}
	}
}

// Flush has nothing to emit: rows are passed or dropped as they come.
func (n *streamDedupNode) Flush(context.Context, Output) error { return nil }

type streamDedupState struct {
	V    int   `json:"v"`
	HasT bool  `json:"has_t,omitempty"`
	MaxT int64 `json:"max_t,omitempty"`
	// Keys is base64 of 16 bytes per remembered key: its hash and its time, little endian.
	Keys string `json:"keys"`
}

// State returns the remembered keys and the event-time high mark for a checkpoint.
func (n *streamDedupNode) State() (json.RawMessage, error) {
	buf := make([]byte, 0, 16*len(n.seen))
	for h, t := range n.seen {
		buf = binary.LittleEndian.AppendUint64(buf, h)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(t))
	}
	return json.Marshal(streamDedupState{V: 1, HasT: n.hasT, MaxT: n.maxT, Keys: base64.StdEncoding.EncodeToString(buf)})
}

// Restore replaces the remembered keys with a saved state (after Init).
func (n *streamDedupNode) Restore(raw json.RawMessage) error {
	var st streamDedupState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("stream_dedup: read saved state: %w", err)
	}
	if st.V != 1 {
		return fmt.Errorf("stream_dedup: saved state has version %d, want 1", st.V)
	}
	buf, err := base64.StdEncoding.DecodeString(st.Keys)
	if err != nil || len(buf)%16 != 0 {
		return fmt.Errorf("stream_dedup: saved keys are not 16-byte pairs")
	}
	n.seen = make(map[uint64]int64, len(buf)/16)
	n.exp = make(expiryHeap, 0, len(buf)/16)
	for i := 0; i < len(buf); i += 16 {
		h := binary.LittleEndian.Uint64(buf[i:])
		t := int64(binary.LittleEndian.Uint64(buf[i+8:]))
		n.seen[h] = t
		n.exp = append(n.exp, expiry{at: t + n.within, hash: h})
	}
	heap.Init(&n.exp)
	n.hasT, n.maxT = st.HasT, st.MaxT
	return nil
}
