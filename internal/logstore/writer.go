package logstore

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

// Sink receives batches of records (*store.Store implements it).
type Sink interface {
	AppendServerLogs(ctx context.Context, entries []store.ServerLog) error
}

var _ Sink = (*store.Store)(nil)

// Defaults of Options.
const (
	DefaultBuffer        = 4096
	DefaultBatchSize     = 256
	DefaultFlushInterval = time.Second
	DefaultWriteTimeout  = 5 * time.Second
)

// Options configure a Writer; zero values take the defaults.
type Options struct {
	// Buffer is how many records wait for the store at most; past it, records are dropped and
	// counted.
	Buffer int
	// BatchSize is the most records one insert writes.
	BatchSize int
	// FlushInterval is the longest a record waits for a batch to fill.
	FlushInterval time.Duration
	// WriteTimeout bounds one insert.
	WriteTimeout time.Duration
	// Logger reports failed inserts. It must not write into this Writer (pass the process logger
	// before it is wrapped by NewHandler); discarded when nil.
	Logger *slog.Logger
}

// Stats are the Writer's counters since it was built.
type Stats struct {
	Written  uint64 `json:"written" doc:"Records stored"`
	Dropped  uint64 `json:"dropped" doc:"Records dropped because the buffer was full (the store was slower than the log)"`
	Failed   uint64 `json:"failed" doc:"Records lost because their batch could not be stored (the error is in the process log)"`
	Buffered int    `json:"buffered" doc:"Records waiting to be stored"`
	Capacity int    `json:"capacity" doc:"Size of the buffer"`
}

// Writer stores log records in the background, in batches. Enqueue never blocks: when the buffer
// is full the record is dropped and counted. Build it with NewWriter, then Start it once the store
// is open (records enqueued before wait in the buffer); Close flushes and stops it. Safe for
// concurrent use.
type Writer struct {
	opts Options
	log  *slog.Logger
	ch   chan store.ServerLog

	written, dropped, failed atomic.Uint64

	startOnce, closeOnce sync.Once
	stop                 chan struct{}
	done                 chan struct{}
	started              atomic.Bool
}

// NewWriter builds a Writer that is not yet writing.
func NewWriter(opts Options) *Writer {
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Writer{opts: opts, log: log, ch: make(chan store.ServerLog, opts.Buffer),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Enqueue hands a record to the writer without blocking and reports whether it was kept (false:
// the buffer was full, and the drop is counted).
func (w *Writer) Enqueue(e store.ServerLog) bool {
	select {
	case w.ch <- e:
		return true
	default:
		w.dropped.Add(1)
		return false
	}
}

// Stats returns the counters.
func (w *Writer) Stats() Stats {
	return Stats{Written: w.written.Load(), Dropped: w.dropped.Load(), Failed: w.failed.Load(),
		Buffered: len(w.ch), Capacity: cap(w.ch)}
}

// Start begins writing to sink in a goroutine that Close stops. Only the first call has effect.
func (w *Writer) Start(sink Sink) {
	w.startOnce.Do(func() {
		w.started.Store(true)
		go w.run(sink)
	})
}

// Close writes what is buffered (bounded by ctx) and stops the writer. Records enqueued after
// Close stay unwritten. Safe to call more than once, and without Start.
func (w *Writer) Close(ctx context.Context) error {
	w.closeOnce.Do(func() { close(w.stop) })
	if !w.started.Load() {
		return nil
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return errors.Join(errors.New("logstore: close: buffered records not all written"), ctx.Err())
	}
}

func (w *Writer) run(sink Sink) {
	defer close(w.done)
	batch := make([]store.ServerLog, 0, w.opts.BatchSize)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), w.opts.WriteTimeout)
		err := sink.AppendServerLogs(ctx, batch)
		cancel()
		if err != nil {
			w.failed.Add(uint64(len(batch)))
			w.log.Error("system logs: a batch could not be stored", "records", len(batch), "error", err)
		} else {
			w.written.Add(uint64(len(batch)))
		}
		batch = batch[:0]
	}
	tick := time.NewTicker(w.opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case e := <-w.ch:
			batch = append(batch, e)
			if len(batch) >= w.opts.BatchSize {
				flush()
			}
		case <-tick.C:
			flush()
		case <-w.stop:
			for {
				select {
				case e := <-w.ch:
					batch = append(batch, e)
					if len(batch) >= w.opts.BatchSize {
						flush()
					}
				default:
					flush()
					return
				}
			}
		}
	}
}
