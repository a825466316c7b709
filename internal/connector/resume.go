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
