package engine

import (
	"errors"
	"strings"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/pipeline"
)

// ErrInterrupted, as the cause of the run context's cancellation (context.WithCancelCause), stops a
// run the way a killed process would: destinations are not aborted, so what they committed (and, for
// a ResumableWriter, what it staged) stays in place and the next run resumes from the last
// checkpoint. Any other cancellation or failure aborts them: the previous data stays intact.
var ErrInterrupted = errors.New("interrupted")

// ResumeError is a destination that cannot continue from the checkpoint: what it had staged is gone
// (a failed or cancelled run rolled it back, or someone removed it). The run must start afresh.
type ResumeError struct {
	ID, Type string
	Err      error
}

func (e *ResumeError) Error() string {
	return "resume destination " + e.ID + " (" + e.Type + "): " + e.Err.Error()
}
func (e *ResumeError) Unwrap() error { return e.Err }

// NodeError is a node that could not be built, opened (a source) or initialised with its input
// schemas (a field an expression names does not exist, a join key is missing). Path is the node's
// place in the spec.
type NodeError struct {
	ID   string
	Path string
	Err  error
}

func (e *NodeError) Error() string { return e.Path + " (" + e.ID + "): " + e.Err.Error() }
func (e *NodeError) Unwrap() error { return e.Err }

// Problems turns the error into spec problems with paths (config problems land under config).
func (e *NodeError) Problems() pipeline.Problems {
	var ces configspec.Errors
	if errors.As(e.Err, &ces) {
		out := make(pipeline.Problems, 0, len(ces))
		for _, fe := range ces.Prefix(e.Path + ".config") {
			out = append(out, pipeline.Problem{Path: fe.Path, Message: fe.Message})
		}
		return out
	}
	return pipeline.Problems{{Path: e.Path, Message: e.Err.Error()}}
}

// NodeErrors are several nodes' errors (Schemas reports every one).
type NodeErrors []*NodeError

func (es NodeErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap gives errors.Is and errors.As every node's error.
func (es NodeErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Problems lists every node's problems.
func (es NodeErrors) Problems() pipeline.Problems {
	var out pipeline.Problems
	for _, e := range es {
		out = append(out, e.Problems()...)
	}
	return out
}
