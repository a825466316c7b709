package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/dataaggregator/aggregator/internal/runs"
)

// Defaults.
const (
	// DefaultOutbox is how many events may wait to be sent (Options.Outbox).
	DefaultOutbox = 8192
	// maxBatch is how many events one round trip sends at most.
	maxBatch = 256
	// flushTimeout bounds how long Close waits for the outbox to be sent.
	flushTimeout = 3 * time.Second
	// backoffMin and backoffMax bound the wait between reconnection attempts.
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
)

// outbox is the bounded queue between Publish and the sending goroutine, and the local fan-out
// both buses share.
type outbox struct {
	*runs.Broker
	ch   chan runs.Event
	lost atomic.Int64
	log  *slog.Logger
}

func newOutbox(size int, log *slog.Logger) *outbox {
	if size <= 0 {
		size = DefaultOutbox
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &outbox{Broker: runs.NewBroker(), ch: make(chan runs.Event, size), log: log}
}

// Publish queues e for sending without blocking; a full outbox loses it (Lost counts it).
func (o *outbox) Publish(e runs.Event) {
	select {
	case o.ch <- e:
	default:
		o.lost.Add(1)
	}
}

// Lost is the number of events that were not sent: the outbox was full, the connection dropped
// with them, or an event could not be encoded.
func (o *outbox) Lost() int64 { return o.lost.Load() }

// next waits for an event (false when ctx is done first), then takes what else is waiting, up to
// maxBatch events in all.
func (o *outbox) next(ctx context.Context) ([]runs.Event, bool) {
	var batch []runs.Event
	select {
	case <-ctx.Done():
		return nil, false
	case e := <-o.ch:
		batch = append(batch, e)
	}
	for len(batch) < maxBatch {
		select {
		case e := <-o.ch:
			batch = append(batch, e)
		default:
			return batch, true
		}
	}
	return batch, true
}

// drain takes what is waiting, up to maxBatch events, without waiting.
func (o *outbox) drain() []runs.Event {
	var batch []runs.Event
	for len(batch) < maxBatch {
		select {
		case e := <-o.ch:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// sendLoop sends batches with send until ctx is done, then what flush allows of the rest. send
// gets flush, so that a batch on its way when ctx ends still goes. A batch that fails is lost
// (counted); send reconnects itself on its next call.
func (o *outbox) sendLoop(ctx, flush context.Context, name string, send func(context.Context, []runs.Event) error) {
	failing := false
	report := func(err error, n int) {
		o.lost.Add(int64(n))
		if !failing {
			o.log.Warn("event bus: cannot publish; events are lost until it reconnects (live clients re-read runs on the gap)",
				"bus", name, "lost", n, "error", err)
		}
		failing = true
	}
	for {
		batch, ok := o.next(ctx)
		if !ok {
			break
		}
		if err := send(flush, batch); err != nil {
			report(err, len(batch))
			continue
		}
		if failing {
			o.log.Info("event bus: publishing again", "bus", name)
			failing = false
		}
	}
	for flush.Err() == nil {
		batch := o.drain()
		if len(batch) == 0 {
			return
		}
		if err := send(flush, batch); err != nil {
			o.lost.Add(int64(len(batch)))
			return
		}
	}
}

// wait sleeps for the attempt's backoff (100 ms doubling to 5 s); false when ctx ends first.
func wait(ctx context.Context, attempt int) bool {
	d := backoffMin << min(attempt, 6)
	d = min(d, backoffMax)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// encode returns e as JSON without its Seq, which travels in front of it (see frame).
func encode(e runs.Event) ([]byte, error) {
	e.Seq = 0
	return json.Marshal(e)
}

// decode reads a message "<seq> <event JSON>" as the buses send it.
func decode(msg string) (runs.Event, error) {
	seqText, data, ok := bytes.Cut([]byte(msg), []byte{' '})
	if !ok {
		return runs.Event{}, fmt.Errorf("event message without its sequence number: %.40q", msg)
	}
	seq, err := strconv.ParseInt(string(seqText), 10, 64)
	if err != nil || seq < 1 {
		return runs.Event{}, fmt.Errorf("event message with a bad sequence number %.20q", seqText)
	}
	var e runs.Event
	if err := json.Unmarshal(data, &e); err != nil {
		return runs.Event{}, fmt.Errorf("event message: %w", err)
	}
	e.Seq = seq
	return e, nil
}

// fit encodes e (as encode) in at most limit bytes: it drops a log line's details and cuts its
// message, drops the per-node counters of a progress event, halves the partitions of an instance
// report (counting those left out), and cuts a status error, in that order, until it fits. false when it cannot.
func fit(e runs.Event, limit int) ([]byte, bool) {
	b, err := encode(e)
	if err != nil {
		return nil, false
	}
	if len(b) <= limit {
		return b, true
	}
	if e.Log != nil {
		l := *e.Log
		l.Details = nil
		e.Log = &l
		msg := l.Message
		if b, ok := longest(msg, limit, func(s string) ([]byte, error) { l.Message = s; return encode(e) }); ok {
			return b, true
		}
		l.Message = marker(msg)
	}
	if e.Progress != nil {
		p := *e.Progress
		p.Nodes = nil
		e.Progress = &p
		if b, err = encode(e); err == nil && len(b) <= limit {
			return b, true
		}
	}
	if e.Instance != nil && len(e.Instance.Partitions) > 0 {
		in := *e.Instance
		e.Instance = &in
		for len(in.Partitions) > 0 {
			cut := len(in.Partitions) / 2
			in.PartitionsOmitted += len(in.Partitions) - cut
			in.Partitions = in.Partitions[:cut]
			if b, err = encode(e); err == nil && len(b) <= limit {
				return b, true
			}
		}
	}
	if e.Error != "" {
		msg := e.Error
		return longest(msg, limit, func(s string) ([]byte, error) { e.Error = s; return encode(e) })
	}
	return nil, false
}

// longest finds the longest prefix of s that, cut with the marker, makes enc(prefix+marker) fit
// in limit bytes (a binary search over the prefix length, on rune boundaries).
func longest(s string, limit int, enc func(string) ([]byte, error)) ([]byte, bool) {
	try := func(n int) ([]byte, bool) {
		for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		b, err := enc(s[:n] + marker(s))
		return b, err == nil && len(b) <= limit
	}
	best, ok := try(0)
	if !ok {
		return nil, false
	}
	lo, hi := 0, len(s)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if b, ok := try(mid); ok {
			best, lo = b, mid
		} else {
			hi = mid - 1
		}
	}
	return best, true
}

// marker ends a log message or an error the bus had to cut.
func marker(s string) string {
	return fmt.Sprintf(" [... cut by the event bus: %d bytes in all; the store keeps all of it]", len(s))
}
