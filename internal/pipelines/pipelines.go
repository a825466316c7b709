package pipelines

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// Store is the persistence the service needs.
type Store interface {
	CreatePipeline(ctx context.Context, p store.Pipeline) (store.Pipeline, error)
	UpdatePipeline(ctx context.Context, id string, u store.PipelineUpdate) (store.Pipeline, error)
	GetPipeline(ctx context.Context, id string) (store.Pipeline, error)
	ListPipelineSummaries(ctx context.Context, f store.PipelineFilter) ([]store.PipelineSummary, int, error)
	ListPipelineVersions(ctx context.Context, pipelineID string, page store.Page) ([]store.PipelineVersion, int, error)
	GetPipelineVersion(ctx context.Context, pipelineID string, version int) (store.PipelineVersion, error)
	DeletePipeline(ctx context.Context, id, actor string) error
	SetSchedulePaused(ctx context.Context, id string, paused bool, actor string) (store.Pipeline, error)
	CheckDependencies(ctx context.Context, selfID, selfName string, after []string) error
}

// Default preview budget.
const (
	DefaultPreviewTimeout = 30 * time.Second
	DefaultPreviewBytes   = 16 << 20
)

// ErrPreviewBudget is returned (wrapped) when a preview runs past its time or size budget.
var ErrPreviewBudget = errors.New("preview budget exceeded")

// Options configure a Service. Store, Connectors and Transforms are required.
type Options struct {
	Store      Store
	Connectors *connector.Registry
	Transforms *transform.Registry
	// Resolver resolves `connector:` and `transformation:` references (nil: none exist).
	Resolver pipeline.Resolver
	// SaveResolver, when set, resolves them where a spec is saved or validated without opening a
	// connection: it leaves saved connectors' secret references (vault://, file://) unresolved, so
	// that a secret manager being down does not stop an edit. Preview and deep validation use
	// Resolver.
	SaveResolver pipeline.Resolver
	// Env is what connectors are given when a deep validation or a preview opens them.
	Env    connector.Env
	Logger *slog.Logger
	// PreviewTimeout and PreviewBytes bound one preview: its run time, and the size of the values
	// of the rows and rejects it keeps (defaults DefaultPreviewTimeout, DefaultPreviewBytes).
	PreviewTimeout time.Duration
	PreviewBytes   int64
}

// Service implements the pipeline use cases. Build it with New.
type Service struct {
	o Options
}

// New checks the options and builds the service.
func New(o Options) (*Service, error) {
	var problems []string
	if o.Store == nil {
		problems = append(problems, "Store is required")
	}
	if o.Connectors == nil {
		problems = append(problems, "Connectors is required")
	}
	if o.Transforms == nil {
		problems = append(problems, "Transforms is required")
	}
	if o.PreviewTimeout < 0 || o.PreviewBytes < 0 {
		problems = append(problems, "PreviewTimeout and PreviewBytes must not be negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("pipelines: %s", strings.Join(problems, "; "))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PreviewTimeout == 0 {
		o.PreviewTimeout = DefaultPreviewTimeout
	}
	if o.PreviewBytes == 0 {
		o.PreviewBytes = DefaultPreviewBytes
	}
	return &Service{o: o}, nil
}

// Pipeline is a saved pipeline with its parsed spec (nil when the stored text no longer parses, e.g.
// after a format change) and its warnings.
type Pipeline struct {
	store.Pipeline
	Spec     *pipeline.Spec
	Warnings []string
	// Draft: the current version was saved with problems and cannot run (Problems lists them).
	Draft    bool
	Problems []DraftProblem
}

// Plan parses a spec document and validates it against the registries and the saved connectors
// and transformations. A wrong spec is pipeline.Problems, each with its path, line and column.
func (s *Service) Plan(ctx context.Context, raw []byte) (*pipeline.Plan, error) {
	spec, err := pipeline.Parse(raw)
	if err != nil {
		return nil, err
	}
	return pipeline.Validate(ctx, spec, pipeline.Env{Connectors: s.o.Connectors, Transforms: s.o.Transforms, Resolver: s.o.Resolver})
}

// planForSave is Plan plus the rules of a stored spec: no inline secret (a stored spec is readable by
// roles that may not see credentials), no file path outside the file roots.
func (s *Service) planForSave(ctx context.Context, raw []byte) (*pipeline.Plan, error) {
	resolver := s.o.SaveResolver
	if resolver == nil {
		resolver = s.o.Resolver
	}
	spec, err := pipeline.Parse(raw)
	if err != nil {
		return nil, err
	}
	plan, err := pipeline.Validate(ctx, spec, pipeline.Env{Connectors: s.o.Connectors, Transforms: s.o.Transforms, Resolver: resolver})
	if err != nil {
		return nil, err
	}
	ps := plan.InlineSecrets()
	ps = append(ps, s.pathProblems(plan)...)
	if len(ps) > 0 {
		return nil, ps
	}
	return plan, nil
}

// Warnings are what a valid plan should still tell its author (none today).
func Warnings(spec *pipeline.Spec) []string { return nil }

func scheduleOf(spec *pipeline.Spec) (cron, tz, misfire string) {
	if spec.Schedule == nil {
		return "", "", ""
	}
	return spec.Schedule.Cron, spec.Schedule.Timezone, string(spec.Schedule.Misfire.OrDefault())
}

// Create saves a new pipeline from its spec document (kept as written, comments included). A spec
// with problems is refused (pipeline.Problems), unless draft is set: then it is saved as a draft
// with its problems, provided it names the pipeline.
func (s *Service) Create(ctx context.Context, raw []byte, actor string, draft bool) (Pipeline, error) {
	plan, err := s.planForSave(ctx, raw)
	if err != nil {
		name, ps, enc, err := draftSave(raw, err, draft, "")
		if err != nil {
			return Pipeline{}, err
		}
		p, err := s.o.Store.CreatePipeline(ctx, store.Pipeline{Name: name, Spec: string(raw), CreatedBy: actor, Problems: enc,
			After: draftAfter(raw)})
		if err != nil {
			return Pipeline{}, dependencyProblems(err, raw)
		}
		s.o.Logger.InfoContext(ctx, "pipeline saved as a draft", "pipeline_id", p.ID, "name", p.Name, "version", p.Version, "problems", len(ps), "actor", actor)
		return Pipeline{Pipeline: p, Draft: true, Problems: ps}, nil
	}
	spec := plan.Spec
	cron, tz, misfire := scheduleOf(spec)
	p, err := s.o.Store.CreatePipeline(ctx, store.Pipeline{Name: spec.Name, Description: spec.Description, Spec: string(raw),
		Schedule: cron, Timezone: tz, Misfire: misfire, Enabled: cron != "", CreatedBy: actor, After: spec.AfterNames()})
	if err != nil {
		return Pipeline{}, dependencyProblems(err, raw)
	}
	s.o.Logger.InfoContext(ctx, "pipeline saved", "pipeline_id", p.ID, "name", p.Name, "version", p.Version, "actor", actor)
	return Pipeline{Pipeline: p, Spec: spec, Warnings: Warnings(spec)}, nil
}

// Update is one save of a new version of a live pipeline.
type Update struct {
	Spec    []byte
	Comment string
	Actor   string
	// ExpectedVersion, when > 0, must be the current version (else store.ErrConflict).
	ExpectedVersion int
	// Draft saves a spec with problems as a draft version (see Create) instead of refusing it; a
	// spec that names no pipeline keeps the current name.
	Draft bool
}

// Update saves a new version of a live pipeline.
func (s *Service) Update(ctx context.Context, id string, u Update) (Pipeline, error) {
	cur, err := s.o.Store.GetPipeline(ctx, id)
	if err != nil {
		return Pipeline{}, err
	}
	plan, err := s.planForSave(ctx, u.Spec)
	if err != nil {
		name, ps, enc, err := draftSave(u.Spec, err, u.Draft, cur.Name)
		if err != nil {
			return Pipeline{}, err
		}
		p, err := s.o.Store.UpdatePipeline(ctx, id, store.PipelineUpdate{Name: name, Spec: string(u.Spec), Comment: u.Comment,
			Actor: u.Actor, ExpectedVersion: u.ExpectedVersion, Problems: enc, After: draftAfter(u.Spec)})
		if err != nil {
			return Pipeline{}, dependencyProblems(err, u.Spec)
		}
		s.o.Logger.InfoContext(ctx, "pipeline saved as a draft", "pipeline_id", p.ID, "name", p.Name, "version", p.Version, "problems", len(ps), "actor", u.Actor)
		return Pipeline{Pipeline: p, Draft: true, Problems: ps}, nil
	}
	spec := plan.Spec
	cron, tz, misfire := scheduleOf(spec)
	p, err := s.o.Store.UpdatePipeline(ctx, id, store.PipelineUpdate{Name: spec.Name, Description: spec.Description,
		Spec: string(u.Spec), Schedule: cron, Timezone: tz, Misfire: misfire, Enabled: cron != "", Comment: u.Comment,
		Actor: u.Actor, ExpectedVersion: u.ExpectedVersion, After: spec.AfterNames()})
	if err != nil {
		return Pipeline{}, dependencyProblems(err, u.Spec)
	}
	s.o.Logger.InfoContext(ctx, "pipeline saved", "pipeline_id", p.ID, "name", p.Name, "version", p.Version, "actor", u.Actor)
	return Pipeline{Pipeline: p, Spec: spec, Warnings: Warnings(spec)}, nil
}

// Get returns a live pipeline with its parsed spec.
func (s *Service) Get(ctx context.Context, id string) (Pipeline, error) {
	p, err := s.o.Store.GetPipeline(ctx, id)
	if err != nil {
		return Pipeline{}, err
	}
	out := Pipeline{Pipeline: p}
	if spec, err := pipeline.Parse([]byte(p.Spec)); err == nil {
		out.Spec = spec
	}
	v, err := s.o.Store.GetPipelineVersion(ctx, p.ID, p.Version)
	if err != nil {
		return Pipeline{}, err
	}
	if out.Problems, err = DraftProblems(v); err != nil {
		return Pipeline{}, err
	}
	out.Draft = out.Problems != nil
	return out, nil
}

// SetSchedulePaused pauses or resumes a live pipeline's schedule without a new version (a resumed
// schedule does not catch up the ticks of the pause). A pipeline without a schedule is
// store.ErrConflict.
func (s *Service) SetSchedulePaused(ctx context.Context, id string, paused bool, actor string) (store.Pipeline, error) {
	p, err := s.o.Store.SetSchedulePaused(ctx, id, paused, actor)
	if err != nil {
		return store.Pipeline{}, err
	}
	s.o.Logger.InfoContext(ctx, "pipeline schedule paused", "pipeline_id", id, "paused", paused, "actor", actor)
	return p, nil
}

// List lists live pipelines by name, without their spec text, each with its
// latest run.
func (s *Service) List(ctx context.Context, f store.PipelineFilter) ([]store.PipelineSummary, int, error) {
	return s.o.Store.ListPipelineSummaries(ctx, f)
}

// Versions lists a live pipeline's versions, newest first.
func (s *Service) Versions(ctx context.Context, id string, page store.Page) ([]store.PipelineVersion, int, error) {
	if _, err := s.o.Store.GetPipeline(ctx, id); err != nil {
		return nil, 0, err
	}
	return s.o.Store.ListPipelineVersions(ctx, id, page)
}

// Delete soft-deletes a live pipeline (its versions and runs stay). A pipeline that other pipelines
// run after is refused (*store.DependentsError, naming them).
func (s *Service) Delete(ctx context.Context, id, actor string) error {
	if err := s.o.Store.DeletePipeline(ctx, id, actor); err != nil {
		return err
	}
	s.o.Logger.InfoContext(ctx, "pipeline deleted", "pipeline_id", id, "actor", actor)
	return nil
}
