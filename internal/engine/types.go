package engine

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/schemachange"
)

// Checkpoint is what a resumed run starts from. It is plain JSON; the consumer stores it as it likes.
type Checkpoint struct {
	Version  int    `json:"version"`
	RunID    string `json:"run_id"`
	Pipeline string `json:"pipeline"`
	// Fingerprint identifies the pipeline spec the checkpoint belongs to; a changed spec does not resume.
	Fingerprint string `json:"fingerprint"`
	// Complete marks the final checkpoint of a run that succeeded: the next run starts afresh (an
	// incremental source continues from its state in it).
	Complete bool `json:"complete"`
	// Sources holds each source's reader state by node id (absent: from the start).
	Sources map[string]json.RawMessage `json:"sources,omitempty"`
	// Destinations holds each resumable destination's commit token by node id.
	Destinations map[string]json.RawMessage `json:"destinations,omitempty"`
	// Delivered holds, for each destination that keeps a commit marker (connector.MarkedWriter), the
	// rows of this run handed to it and committed when the checkpoint was taken.
	Delivered map[string]int64 `json:"delivered,omitempty"`
	// Nodes holds the state of each transformation node that keeps it in checkpoints
	// (transform.Checkpointed: window, stream_dedup) by node id, taken with the source positions.
	Nodes map[string]json.RawMessage `json:"nodes,omitempty"`
	// DeadLetters is the dead-letter sink's commit token, when it has one.
	DeadLetters json.RawMessage `json:"dead_letters,omitempty"`
	// Stats are the counters at the checkpoint; a resumed run continues from them.
	Stats   []NodeStats `json:"stats,omitempty"`
	SavedAt time.Time   `json:"saved_at"`
}

// Checkpointer persists checkpoints. Load returns nil, nil when there is none. Save must be durable
// when it returns.
type Checkpointer interface {
	Load(ctx context.Context) (*Checkpoint, error)
	Save(ctx context.Context, cp *Checkpoint) error
}

// DeadLetterSink receives rejected rows (policy dead_letter). Put may buffer; Commit makes everything
// put so far durable and returns a token (may be nil) saved in the checkpoint. A sink that also
// implements ResumableSink is rewound to that token when a run resumes, so a resumed run writes no
// dead letter twice. The engine calls a sink from one goroutine at a time.
type DeadLetterSink interface {
	Put(ctx context.Context, rejects []record.Reject) error
	Commit(ctx context.Context) (json.RawMessage, error)
}

// ResumableSink is a DeadLetterSink that can discard what was put after a commit token.
type ResumableSink interface {
	DeadLetterSink
	ResumeAt(ctx context.Context, token json.RawMessage) error
}

// NodeStats are one node's counters.
type NodeStats struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // source, transform, destination
	Type string `json:"type"`
	// In: rows received (transforms, destinations); Out: rows emitted (sources, transforms) or written
	// (destinations).
	In           int64 `json:"in"`
	Out          int64 `json:"out"`
	Rejected     int64 `json:"rejected"`
	Deduplicated int64 `json:"deduplicated,omitempty"`
	Filtered     int64 `json:"filtered,omitempty"`
	Dropped      int64 `json:"dropped,omitempty"`
	// Bytes is the input bytes read (sources).
	Bytes int64 `json:"bytes,omitempty"`
	// StateBytes is the estimated memory a stateful transform holds for its state now;
	// SpilledBytes the bytes it wrote to spill files in this run (transform.Spiller nodes).
	StateBytes   int64 `json:"state_bytes,omitempty"`
	SpilledBytes int64 `json:"spilled_bytes,omitempty"`
}

// BufferStats is how full the queue between two nodes is: Len of Cap batches wait in it. A full
// queue means the consumer is the slower side (backpressure). Transforms call each other directly,
// so only the queues after sources and before destinations are reported.
type BufferStats struct {
	From string `json:"from"`
	To   string `json:"to"`
	Len  int    `json:"len"`
	Cap  int    `json:"cap"`
}

// Progress is a snapshot of a running pipeline.
type Progress struct {
	RunID       string        `json:"run_id"`
	Elapsed     time.Duration `json:"elapsed"`
	RowsRead    int64         `json:"rows_read"`
	RowsWritten int64         `json:"rows_written"`
	Rejected    int64         `json:"rejected"`
	BytesRead   int64         `json:"bytes_read"`
	Checkpoints int           `json:"checkpoints"`
	Nodes       []NodeStats   `json:"nodes"`
	// Buffers are the queues between nodes, when the snapshot was taken.
	Buffers []BufferStats `json:"buffers,omitempty"`
	// MemoryBudget is the bytes the run's stateful transforms share (0: none of them).
	MemoryBudget int64 `json:"memory_budget,omitempty"`
	// Done is true for the last snapshot of a run.
	Done bool `json:"done"`
}

// SourcePositions is what one source's reader reported (connector.PositionReporter): its
// partitions' committed positions and lag, or why it could not say.
type SourcePositions struct {
	Node       string               `json:"node"`
	Partitions []connector.Position `json:"partitions"`
	Error      string               `json:"error,omitempty"`
}

// Options configure a run. The zero value works: defaults are filled in.
type Options struct {
	// RunID names this run (destinations name staging objects with it). A resumed run takes the
	// checkpoint's. Empty: a new id.
	RunID string
	// Env is given to every connector.
	Env connector.Env
	// Ranges restrict sources to one key range each, by node id (a chunk of a partitioned run: the
	// source's ReadRequest.Range).
	Ranges map[string]connector.KeyRange
	// BatchSize is the rows per batch readers are asked for (0: the connector's default).
	BatchSize int
	// CommitRows and CommitInterval say how often destinations commit and a checkpoint is saved:
	// after this many rows read or this much time, whichever comes first (defaults 100000 rows, 5s).
	CommitRows     int64
	CommitInterval time.Duration
	// Workers is the number of goroutines that run transformation nodes when every node is stateless
	// (batches are processed in parallel and released in source order); 0: GOMAXPROCS; 1: none.
	Workers int
	// Checkpointer stores checkpoints; nil: no checkpoints, no resume (sources that are
	// connector.Acker are still acknowledged after each commit of the destinations).
	Checkpointer Checkpointer
	// Stop, when closed, ends a run the way the end of its input would: the sources stop being read
	// (what they had returned goes on through the pipeline), the destinations commit, the final
	// checkpoint is saved and acknowledged to the sources (connector.Acker), and Run returns with
	// status succeeded and Result.Stopped set. It is how an unbounded (streaming) run ends cleanly;
	// cancelling ctx instead ends it as a failure or, with ErrInterrupted, as a kill would.
	Stop <-chan struct{}
	// Fence, when set, is called before every commit of the destinations (each checkpoint, and the
	// final close); an error stops the run with it before anything is committed. A queue checks
	// there that the attempt still owns the run, so a worker that was paused past its lease does not
	// commit after another took the run over.
	Fence func(ctx context.Context) error
	// DeadLetters receives rejected rows under the dead_letter policy; nil: they are counted only.
	DeadLetters DeadLetterSink
	// Progress, when set, is called with a snapshot at most every ProgressInterval (default 500ms) and
	// once at the end, from the goroutine that called Run; it must return quickly.
	Progress         func(Progress)
	ProgressInterval time.Duration
	// Positions, when set, is called every PositionInterval (default 5s) with the positions of the
	// sources whose reader is a connector.PositionReporter (asking a broker takes a round trip, so
	// it is not per batch), from a goroutine of its own that ends before Run returns; it must return
	// quickly. Runs without such a source never call it.
	Positions        func([]SourcePositions)
	PositionInterval time.Duration
	Logger           *slog.Logger
	// MemoryBudget is the memory, in bytes, that the stateful transforms of a run (dedup keep last,
	// aggregate, join's lookup side; transform.Spiller) share for their state, in equal parts; beyond
	// it they spill to files in a directory of their own under SpillDir, removed when the run ends,
	// also after a failure. The spec's resources.memory_mb overrides it. 0: DefaultMemoryBudget.
	MemoryBudget int64
	// LimitMemory says the run is the process's only work (the CLI's run): while a run with stateful
	// transforms runs, the Go soft memory limit (debug.SetMemoryLimit) is set to
	// ProcessMemoryLimit(budget), unless the GOMEMLIMIT environment variable sets one, and restored
	// afterwards. A server, whose runs share the process, leaves it false.
	LimitMemory bool
	// SpillDir is where runs make their spill directories ("": the system's temporary directory).
	SpillDir string
	// SpillLimit caps the bytes of spill files each node may have on disk (0: no cap but the disk's).
	SpillLimit int64
	// Retry says how failures marked connector.ErrTransient are retried (zero: the defaults).
	Retry Retry
	// PreviewWait bounds how long Preview waits for rows from an unbounded source (default 10s).
	PreviewWait time.Duration
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
	// Schemas gives each destination, by node id, the snapshot of its last successful run and the
	// schema changes approved for this run (write.schema_changes).
	Schemas map[string]SchemaInput
}

// Status is how a run ended.
type Status string

// Statuses.
const (
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	Cancelled Status = "cancelled"
)

// Result is what a run did. Run returns it also when the run failed (with the counters so far).
type Result struct {
	RunID    string      `json:"run_id"`
	Status   Status      `json:"status"`
	Error    string      `json:"error,omitempty"`
	Started  time.Time   `json:"started"`
	Finished time.Time   `json:"finished"`
	Nodes    []NodeStats `json:"nodes"`
	// Resumed is true when the run continued from a checkpoint; Restarted when a checkpoint existed but
	// the pipeline had to start over (stateful nodes, or the spec changed).
	Resumed   bool `json:"resumed"`
	Restarted bool `json:"restarted"`
	// Stopped is true when Options.Stop ended the run (its sources had not ended).
	Stopped     bool  `json:"stopped,omitempty"`
	RowsRead    int64 `json:"rows_read"`
	RowsWritten int64 `json:"rows_written"`
	Rejected    int64 `json:"rejected"`
	Checkpoints int   `json:"checkpoints"`
	// SchemaDecisions are what the destinations' schema-change policies decided (one per
	// destination and schema with changes); Schemas the schema each governed destination received
	// (the snapshot the next run compares with).
	SchemaDecisions []schemachange.Decision          `json:"schema_decisions,omitempty"`
	Schemas         map[string]schemachange.Snapshot `json:"-"`
}
