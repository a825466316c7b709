package api

import (
	"context"
	"errors"

	"github.com/dataaggregator/aggregator/internal/runs"
)

type reviewInput struct {
	ID   string `path:"id"`
	Body struct {
		Comment string `json:"comment,omitempty" maxLength:"2000" doc:"Why: kept with the decision and in the audit log"`
	}
}

// approveRun approves the schema changes a run awaits: the run is queued again, the changes are
// applied when it runs.
func (s *Server) approveRun(ctx context.Context, in *reviewInput) (*runOutput, error) {
	return s.reviewRun(ctx, in, true)
}

// rejectRun rejects them: the run fails naming the changes.
func (s *Server) rejectRun(ctx context.Context, in *reviewInput) (*runOutput, error) {
	return s.reviewRun(ctx, in, false)
}

func (s *Server) reviewRun(ctx context.Context, in *reviewInput, approve bool) (*runOutput, error) {
	actor := principalFrom(ctx).Username
	decide := s.data.Runs.Reject
	if approve {
		decide = s.data.Runs.Approve
	}
	r, err := decide(ctx, in.ID, actor, in.Body.Comment)
	if err != nil {
		if errors.Is(err, runs.ErrNotAwaiting) {
			return nil, conflict(err.Error())
		}
		return nil, err
	}
	ri := infoFrom(ctx)
	if rv, _ := runs.ReviewOf(r); rv != nil {
		ri.setExtra("node", rv.Node)
		ri.setExtra("target", rv.Target)
		ri.setExtra("changes", rv.Changes)
		if rv.Comment != "" {
			ri.setExtra("comment", rv.Comment)
		}
	}
	return &runOutput{Body: s.toRunDTO(ctx, r, true)}, nil
}
