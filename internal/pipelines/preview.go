package pipelines

import (
	"context"
	"errors"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Preview plans a spec document and runs its first rows (per source) through every node; nothing
// is written. It runs within the budget: past Options.PreviewTimeout, or when the values it keeps
// exceed Options.PreviewBytes, it stops with an error wrapping ErrPreviewBudget.
func (s *Service) Preview(ctx context.Context, raw []byte, rows int) (*engine.PreviewResult, error) {
	plan, err := s.Plan(ctx, raw)
	if err != nil {
		return nil, err
	}
	return s.previewPlan(ctx, plan, rows)
}

// PreviewSaved previews a saved pipeline's current version.
func (s *Service) PreviewSaved(ctx context.Context, id string, rows int) (*engine.PreviewResult, error) {
	p, err := s.o.Store.GetPipeline(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.Preview(ctx, []byte(p.Spec), rows)
}

func (s *Service) previewPlan(parent context.Context, plan *pipeline.Plan, rows int) (*engine.PreviewResult, error) {
	ctx, cancel := context.WithTimeoutCause(parent, s.o.PreviewTimeout,
		fmt.Errorf("%w: still running after %s", ErrPreviewBudget, s.o.PreviewTimeout))
	defer cancel()
	res, err := engine.Preview(ctx, plan, engine.Options{Env: s.o.Env, Logger: s.o.Logger}, rows)
	if err != nil {
		if parent.Err() == nil && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, err
	}
	if n := resultBytes(res); n > s.o.PreviewBytes {
		return nil, fmt.Errorf("%w: the sample holds %d bytes of values, more than %d; preview fewer rows", ErrPreviewBudget, n, s.o.PreviewBytes)
	}
	return res, nil
}

// resultBytes is the size of the values a preview keeps (strings and bytes by length, others 8).
func resultBytes(res *engine.PreviewResult) int64 {
	var n int64
	for _, s := range res.Nodes {
		for _, r := range s.Rows {
			n += rowBytes(r)
		}
		for _, rj := range s.Rejects {
			n += int64(len(rj.Reason) + len(rj.Raw))
		}
	}
	return n
}

func rowBytes(r record.Row) int64 {
	var n int64
	for _, v := range r {
		n += 8 + int64(len(v.Str())) // Str holds the text of strings, bytes, decimals and JSON
	}
	return n
}

// IsBudget reports whether err is a preview that ran out of its budget.
func IsBudget(err error) bool { return errors.Is(err, ErrPreviewBudget) }
