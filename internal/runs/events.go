package runs

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Event types.
const (
	// EventStatus is sent when a run changes status (queued, running, succeeded, failed,
	// cancelled; and queued again when it is requeued to resume).
	EventStatus = "run.status"
	// EventProgress carries a progress snapshot (per-node counters, rows per second) of a running
	// run, every engine progress interval (500 ms by default; at least once a second).
	EventProgress = "run.progress"
	// EventLog carries one line of the run log (what GET /runs/{id}/logs shows), as it is written.
	EventLog = "run.log"
)

// SeqQueued is the sequence number of a run's first event, "queued" when the run is created: the
// service numbers it itself. A Bus numbers every other event of the run SeqQueued+1, +2, ... at
// publication, whichever process publishes it.
const SeqQueued = 1

// Event is something that happened to a run. It is plain JSON so that a Redis or PostgreSQL bus
// and the WebSocket hub can forward it as it is.
type Event struct {
	Type  string `json:"type"`
	RunID string `json:"run_id"`
	// Seq numbers the events of one run 1, 2, 3, ... with no gap, across every process that
	// publishes them (see Bus). A consumer that sees a number other than the last one plus one
	// missed events (or the numbering restarted) and re-reads the run from the store.
	Seq        int64            `json:"seq"`
	PipelineID string           `json:"pipeline_id"`
	Status     store.RunStatus  `json:"status"`
	Error      string           `json:"error,omitempty"`
	Progress   *engine.Progress `json:"progress,omitempty"`
	// RowsPerSecond is the rate rows were read at over the last second or more (progress events).
	RowsPerSecond float64 `json:"rows_per_second,omitempty"`
	// Log is the run log line of an EventLog.
	Log *LogLine `json:"log,omitempty"`
	// Chunk is the state of one chunk of a partitioned run (EventChunk).
	Chunk *ChunkEvent `json:"chunk,omitempty"`
	// Instance is the report of one consumer instance of a streaming run (EventInstance).
	Instance *InstanceEvent `json:"instance,omitempty"`
	// Deployment is a deployment's new state (EventDeployment).
	Deployment string    `json:"deployment,omitempty"`
	Time       time.Time `json:"time"`
}

// Ends reports whether e is the last event of its run (a terminal status): a Bus forgets the run's
// numbering after it.
func (e Event) Ends() bool { return e.Type == EventStatus && e.Status.Terminal() }

// LogLine is one line of a run log.
type LogLine struct {
	Level   string          `json:"level"` // debug | info | warn | error
	Message string          `json:"message"`
	Node    string          `json:"node,omitempty"`
	Details json.RawMessage `json:"details,omitempty"`
	Time    time.Time       `json:"time"`
}

// Publisher receives run events. Publish must not block for long: it is called from the goroutine
// that runs the pipeline. When e.Seq is 0 the publisher numbers e within its run (see SeqQueued);
// events of one run published from one goroutine, or in an order the caller guarantees, keep that
// order.
type Publisher interface {
	Publish(e Event)
}

// Bus carries run events from the process that publishes them to the subscribers of every process
// that shares the store. Implementations: Broker (in process, the SQLite store) and the PostgreSQL
// LISTEN/NOTIFY and Redis pub/sub buses of package bus.
//
//   - Publish numbers the event (Publisher) and never blocks for long: when the bus cannot keep
//     up or its connection is down, events are lost, and consumers see the gap in Seq.
//   - Subscribe returns a channel of the events filter accepts (nil: all), from every process, in
//     the order of their numbers within each run, with room for buffer events; a subscriber that
//     does not keep up loses events instead of slowing anyone down. The returned function ends
//     the subscription and closes the channel (safe to call more than once).
//   - Latest returns the latest progress event of a running run, from whichever process runs it,
//     until a status event says the run stopped running (the live counters of GET /runs/{id}).
type Bus interface {
	Publisher
	Subscribe(filter func(Event) bool, buffer int) (<-chan Event, func())
	Latest(runID string) (Event, bool)
}

// Broker is the in-process Bus, and the local fan-out of the buses that cross processes (they
// hand what they receive to Deliver). A subscriber that does not keep up loses events (Dropped
// counts them) instead of slowing runs down; the store stays the source of truth, so a consumer
// that sees a gap re-reads the run. The broker also keeps the latest progress event of each
// running run (Latest), until a status event says the run stopped running.
type Broker struct {
	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	latest  map[string]latestEvent // run id -> its latest progress event, while it runs
	seqs    map[string]int64       // run id -> the last number Publish gave, until the run ends
	dropped atomic.Int64
	now     func() time.Time
	swept   time.Time // when latest was last cleared of stale events
}

// StaleProgress is how long a run's latest progress event is kept without a newer one. A running
// run publishes progress at least once a second; one silent this long has stopped running, and the
// status event that said so was lost (a bus outage), so its progress is forgotten.
const StaleProgress = 10 * time.Minute

type latestEvent struct {
	ev Event
	at time.Time // when it was delivered here
}

var _ Bus = (*Broker)(nil)

type subscriber struct {
	ch     chan Event
	filter func(Event) bool
}

// NewBroker returns an empty broker.
func NewBroker() *Broker {
	return &Broker{subs: map[*subscriber]struct{}{}, latest: map[string]latestEvent{}, seqs: map[string]int64{}, now: time.Now}
}

// Publish numbers e when its Seq is 0 (SeqQueued+1, +2, ... within its run) and delivers it.
func (b *Broker) Publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.Seq == 0 {
		e.Seq = max(b.seqs[e.RunID], SeqQueued) + 1
		b.seqs[e.RunID] = e.Seq
	}
	if e.Ends() {
		delete(b.seqs, e.RunID)
	}
	b.deliverLocked(e)
}

// Deliver sends e, numbered already, to every subscriber whose filter accepts it, without
// blocking, and keeps it when it is the latest progress of a running run.
func (b *Broker) Deliver(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deliverLocked(e)
}

func (b *Broker) deliverLocked(e Event) {
	switch {
	case e.Type == EventProgress && e.Progress != nil && !e.Progress.Done:
		now := b.now()
		b.latest[e.RunID] = latestEvent{ev: e, at: now}
		if now.Sub(b.swept) > StaleProgress/10 {
			b.swept = now
			for id, l := range b.latest {
				if now.Sub(l.at) > StaleProgress {
					delete(b.latest, id)
				}
			}
		}
	case e.Type == EventProgress || (e.Type == EventStatus && e.Status != store.RunRunning):
		delete(b.latest, e.RunID)
	}
	for s := range b.subs {
		if s.filter != nil && !s.filter(e) {
			continue
		}
		select {
		case s.ch <- e:
		default:
			b.dropped.Add(1)
		}
	}
}

// Subscribe returns a channel of the events filter accepts (nil: all) with room for buffer events
// (at least 16), and a function that ends the subscription and closes the channel.
func (b *Broker) Subscribe(filter func(Event) bool, buffer int) (<-chan Event, func()) {
	s := &subscriber{ch: make(chan Event, max(buffer, 16)), filter: filter}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
			close(s.ch)
		})
	}
}

// Latest returns the latest progress event of a running run, if one was delivered since it
// started running and less than StaleProgress ago.
func (b *Broker) Latest(runID string) (Event, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.latest[runID]
	if !ok || b.now().Sub(l.at) > StaleProgress {
		return Event{}, false
	}
	return l.ev, true
}

// Dropped is the number of events subscribers did not take in time.
func (b *Broker) Dropped() int64 { return b.dropped.Load() }

// ForRun is a Subscribe filter for one run's events.
func ForRun(id string) func(Event) bool {
	return func(e Event) bool { return e.RunID == id }
}
