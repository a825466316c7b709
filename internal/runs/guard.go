package runs

import (
	"context"
	"sync/atomic"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
)

// guardPlan wraps every destination of the plan so that, once interrupted is set (the server is
// shutting down and will requeue the run), Abort leaves the staged output and its commit record in
// place, exactly as a killed process would: the next attempt resumes from the last checkpoint
// instead of starting over. A cancel by request or a failure still aborts (and discards) as usual.
// An interrupted writer is not closed either (closing would finish or discard it): its handles go
// with the process, which is exiting.
func guardPlan(plan *pipeline.Plan, interrupted *atomic.Bool) {
	for _, n := range plan.Destinations {
		if n.Destination != nil {
			n.Destination = guardDest{inner: n.Destination, interrupted: interrupted}
		}
	}
}

type guardDest struct {
	inner       connector.Destination
	interrupted *atomic.Bool
}

func (g guardDest) OpenWriter(ctx context.Context, env connector.Env, config map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	w, err := g.inner.OpenWriter(ctx, env, config, req)
	if err != nil {
		return nil, err
	}
	if rw, ok := w.(connector.ResumableWriter); ok {
		return &guardResumable{ResumableWriter: rw, interrupted: g.interrupted}, nil
	}
	return &guardWriter{Writer: w, interrupted: g.interrupted}, nil
}

type guardWriter struct {
	connector.Writer
	interrupted *atomic.Bool
}

func (g *guardWriter) Abort(ctx context.Context) error {
	if g.interrupted.Load() {
		return nil
	}
	return g.Writer.Abort(ctx)
}

type guardResumable struct {
	connector.ResumableWriter
	interrupted *atomic.Bool
}

func (g *guardResumable) Abort(ctx context.Context) error {
	if g.interrupted.Load() {
		return nil
	}
	return g.ResumableWriter.Abort(ctx)
}
