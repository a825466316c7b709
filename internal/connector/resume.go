package connector

import (
	"context"
	"encoding/json"
)

// ResumableWriter is an optional Writer capability for exactly-once resume of an interrupted run.
//
// A checkpoint must name, for every destination, exactly what that destination had committed when the
// source state in it was taken: if the process dies after a Commit but before the engine saved its
// checkpoint, the resumed source re-emits rows the destination already holds. A ResumableWriter closes
// that gap:
//
//   - after each Commit, the engine calls CommitState and saves the token in the same checkpoint as the
//     source state;
//   - on resume it opens the writer with WriteRequest.Resume and the same RunID, then calls ResumeAt with
//     the token from the checkpoint before the first Write; the writer discards everything written after
//     that point (a file is truncated to the committed offset, a staging table to the committed rows).
//
// A writer opened with Resume whose ResumeAt is never called continues from its own last Commit.
type ResumableWriter interface {
	Writer
	// CommitState returns an opaque token for everything made durable by the last Commit.
	CommitState() (json.RawMessage, error)
	// ResumeAt rewinds a resumed writer to the committed point the token names.
	ResumeAt(ctx context.Context, token json.RawMessage) error
}

// MarkedWriter is an optional Writer capability for exactly-once delivery into a transactional
// destination (a database), the way Kafka Connect's exactly-once sinks keep their offsets: the
// destination stores a Marker in the same transaction as the rows each Commit makes durable, so the
// marker and the data can never disagree, whatever moment the process dies at.
//
//   - Before every Commit (and before Close) the engine calls SetMarker with the number of rows it
//     has handed the writer in this run (WriteRequest.RunID, WriteRequest.Node), counting rows of
//     earlier attempts of the run; Commit stores it with the rows, and Close stores it with
//     Closed set before it finishes (for overwrite: before the swap, which it completes on a resume).
//   - On resume the engine opens the writer with Resume and calls Committed before the first Write.
//     The checkpoint says how many rows the destination had when the source state in it was taken;
//     when the marker says more (the process died after the Commit, before the checkpoint was saved),
//     the engine drops that many of the replayed rows before they reach the writer. Replay is
//     deterministic for the sources and stateless transforms a resumed run continues with.
//
// A writer whose Committed marker is Closed has finished the run's write: its Close only completes
// what the previous attempt left (an overwrite's swap), and a Write is an error.
type MarkedWriter interface {
	Writer
	// SetMarker sets the marker the next Commit, or Close, stores.
	SetMarker(m Marker)
	// Committed returns the marker last committed for this run and node; ok is false when there is none.
	Committed(ctx context.Context) (m Marker, ok bool, err error)
}

// Marker is a destination's record of what it committed for one run.
type Marker struct {
	// Rows is the number of rows the engine had handed the writer when it committed.
	Rows int64 `json:"rows"`
	// Closed is set by Close: the destination finished the run.
	Closed bool `json:"closed,omitempty"`
}
