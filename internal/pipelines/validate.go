package pipelines

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Validation is the outcome of checking a spec: every problem (none when valid) and the warnings
// of a valid spec.
type Validation struct {
	Problems pipeline.Problems
	Warnings []string
	Plan     *pipeline.Plan // nil when the spec does not plan
}

// Valid reports whether no problem was found.
func (v Validation) Valid() bool { return len(v.Problems) == 0 }

// Validate checks a spec document as a save would (shape, types, configs, expressions, inline
// secrets, file paths). With deep it also opens the sources and initialises every node with its
// input schema, and checks every destination (connect; for database destinations the table, the
// write mode and the upsert key): every problem is reported, each with its node's path. Errors other
// than problems (a cancelled context) are returned as such.
func (s *Service) Validate(ctx context.Context, raw []byte, deep bool) (Validation, error) {
	plan, err := s.planForSave(ctx, raw)
	if err != nil {
		ps, ok := pipeline.AsProblems(err)
		if !ok {
			return Validation{}, err
		}
		return Validation{Problems: ps}, nil
	}
	out := Validation{Plan: plan, Warnings: Warnings(plan.Spec)}
	if deep && s.o.SaveResolver != nil {
		// Opening the sources needs the secret references resolved, as a run does.
		if plan, err = s.Plan(ctx, raw); err != nil {
			ps, ok := pipeline.AsProblems(err)
			if !ok {
				return Validation{}, err
			}
			out.Problems = ps
			return out, nil
		}
	}
	if deep {
		ps, err := Deep(ctx, plan, s.o.Env, s.o.Logger)
		if err != nil {
			return Validation{}, err
		}
		out.Problems = ps
	}
	return out, nil
}

// Deep checks a plan as far as it can without writing: it opens the sources, initialises every node
// with its input schema and checks every destination (see Validate). Every problem is returned, each
// with its node's path and, when the spec was parsed from text, line and column; the CLI's validate
// and the service share it.
func Deep(ctx context.Context, plan *pipeline.Plan, env connector.Env, log *slog.Logger) (pipeline.Problems, error) {
	var ps pipeline.Problems
	schemas, err := engine.Schemas(ctx, plan, engine.Options{Env: env, Logger: log})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		nps, ok := NodeProblems(err)
		if !ok {
			nps = pipeline.Problems{{Message: err.Error()}}
		}
		ps = append(ps, nps...)
	}
	ps = append(ps, destinationProblems(ctx, plan, env, schemas)...)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	for i := range ps {
		if ps[i].Line == 0 {
			if pos, ok := plan.Spec.PositionOf(ps[i].Path); ok {
				ps[i].Line, ps[i].Column = pos.Line, pos.Column
			}
		}
	}
	return ps, nil
}

// destinationProblems checks each destination without writing: with its connector's
// connector.DestinationChecker when it has one (given the destination's input schema when every
// node initialised), else with its connector.Checker (connect).
func destinationProblems(ctx context.Context, plan *pipeline.Plan, env connector.Env, schemas map[string]*record.Schema) pipeline.Problems {
	var ps pipeline.Problems
	for _, n := range plan.Destinations {
		var err error
		switch c := n.Destination.(type) {
		case connector.DestinationChecker:
			err = c.CheckDestination(ctx, env, n.Config, connector.WriteRequest{Stream: n.Stream, Mode: n.Write.Mode, Key: n.Write.Key, Schema: schemas[n.ID], Node: n.ID})
		case connector.Checker:
			err = c.Check(ctx, env, n.Config)
		}
		if err != nil {
			ps = append(ps, pipeline.Problem{Path: n.Path, Message: fmt.Sprintf("destination %q: %v", n.ID, err)})
		}
	}
	return ps
}

// NodeProblems extracts the spec problems of engine node errors (one node's *engine.NodeError, or
// engine.NodeErrors for several).
func NodeProblems(err error) (pipeline.Problems, bool) {
	var pe interface{ Problems() pipeline.Problems }
	if errors.As(err, &pe) {
		return pe.Problems(), true
	}
	return nil, false
}

// pathProblems refuses, at save time, a file path that lies outside the file roots: an absolute
// path outside every root, or a relative one that climbs out with "..". (The run resolves symlinks
// too and stays the authority; this catches what the text alone shows.)
func (s *Service) pathProblems(plan *pipeline.Plan) pipeline.Problems {
	roots := make([]string, 0, len(s.o.Env.FileRoots))
	for _, r := range s.o.Env.FileRoots {
		if abs, err := filepath.Abs(r); err == nil {
			roots = append(roots, filepath.Clean(abs))
		}
	}
	if len(roots) == 0 {
		return nil
	}
	var ps pipeline.Problems
	for _, n := range plan.Nodes {
		if n.Kind == pipeline.KindTransform || !hasParam(n.ConnectorSpec, "path") {
			continue
		}
		path, _ := n.Config["path"].(string)
		if path == "" {
			continue
		}
		if !pathWithin(path, roots) {
			p := pipeline.Problem{Path: n.Path + ".config.path",
				Message: fmt.Sprintf("path %q is outside the allowed file roots (%s)", path, strings.Join(roots, ", "))}
			if pos, ok := plan.Spec.PositionOf(p.Path); ok {
				p.Line, p.Column = pos.Line, pos.Column
			}
			ps = append(ps, p)
		}
	}
	return ps
}

func hasParam(spec connector.Spec, name string) bool {
	for _, p := range spec.Config.Params {
		if p.Name == name {
			return true
		}
	}
	return false
}

func pathWithin(path string, roots []string) bool {
	for _, r := range roots {
		p := path
		if !filepath.IsAbs(p) {
			p = filepath.Join(r, p)
		}
		rel, err := filepath.Rel(r, filepath.Clean(p))
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}
