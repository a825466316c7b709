package filekit

import (
	"context"
	"encoding/json"
)

// SinkWriter gives a file destination's writer the connector.ResumableWriter methods over a Sink;
// a writer embeds it and adds Write.
type SinkWriter struct {
	Sink *Sink
}

// Commit makes what was written durable (see Sink.Commit).
func (w SinkWriter) Commit(context.Context) error { return w.Sink.Commit() }

// CommitState is the token of the last commit (see Sink.CommitState).
func (w SinkWriter) CommitState() (json.RawMessage, error) { return w.Sink.CommitState() }

// ResumeAt rewinds to a commit token (see Sink.ResumeAt).
func (w SinkWriter) ResumeAt(_ context.Context, t json.RawMessage) error { return w.Sink.ResumeAt(t) }

// Close finishes the file (see Sink.Close).
func (w SinkWriter) Close(context.Context) error { return w.Sink.Close() }

// Abort drops what was not committed (see Sink.Abort).
func (w SinkWriter) Abort(context.Context) error { return w.Sink.Abort() }
