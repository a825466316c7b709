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

// Event is something that happened to a run. It is plain JSON so that a Redis or WebSocket
// publisher can forward it as it is.
type Event struct {
	Type  string `json:"type"`
	RunID string `json:"run_id"`
	// Seq numbers the events of one run as this process published them: 1, 2, 3, ... with no gap.
	// A consumer that sees a number other than the last one plus one missed events (or the
	// process restarted) and re-reads the run from the store.
	Seq        int64            `json:"seq"`
	PipelineID string           `json:"pipeline_id"`
	Status     store.RunStatus  `json:"status"`
	Error      string           `json:"error,omitempty"`
	Progress   *engine.Progress `json:"progress,omitempty"`
	// RowsPerSecond is the rate rows were read at over the last second or more (progress events).
	RowsPerSecond float64 `json:"rows_per_second,omitempty"`
	// Log is the run log line of an EventLog.
	Log  *LogLine  `json:"log,omitempty"`
	Time time.Time `json:"time"`
}

// LogLine is one line of a run log.
type LogLine struct {
	Level   string          `json:"level"` // debug | info | warn | error
	Message string          `json:"message"`
	Node    string          `json:"node,omitempty"`
	Details json.RawMessage `json:"details,omitempty"`
	Time    time.Time       `json:"time"`
}

// Publisher receives run events. Publish must not block for long: it is called from the goroutine
// that runs the pipeline. Implementations: Broker (in process); a Redis pub/sub publisher later.
type Publisher interface {
	Publish(e Event)
}

// Broker is the in-process fan-out of events to subscribers. A subscriber that does not keep up
// loses events (Dropped counts them) instead of slowing runs down; the store stays the source of
// truth, so a consumer that sees a gap re-reads the run. The broker also keeps the latest progress
// event of each running run (Latest), until a status event says the run stopped running: what
// `GET /runs/{id}` shows between checkpoints, and where a new subscriber starts from.
type Broker struct {
	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	latest  map[string]Event // run id -> its latest progress event, while it runs
	dropped atomic.Int64
}

type subscriber struct {
	ch     chan Event
	filter func(Event) bool
}

// NewBroker returns an empty broker.
func NewBroker() *Broker {
	return &Broker{subs: map[*subscriber]struct{}{}, latest: map[string]Event{}}
}

// Publish sends e to every subscriber whose filter accepts it, without blocking.
func (b *Broker) Publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case e.Type == EventProgress && e.Progress != nil && !e.Progress.Done:
		b.latest[e.RunID] = e
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

// Latest returns the latest progress event of a running run, if one was published since it
// started running.
func (b *Broker) Latest(runID string) (Event, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.latest[runID]
	return e, ok
}

// Dropped is the number of events subscribers did not take in time.
func (b *Broker) Dropped() int64 { return b.dropped.Load() }

// ForRun is a Subscribe filter for one run's events.
func ForRun(id string) func(Event) bool {
	return func(e Event) bool { return e.RunID == id }
}
