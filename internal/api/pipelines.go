package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/pipelines"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Pipelines. A request body that carries a spec IS the spec document: JSON
// or YAML (JSON is YAML), exactly what `aggregator run -f` reads. It is kept
// as written (comments included); every save is a new version.

// Pipeline is a saved pipeline. Spec (the parsed spec as JSON) and SpecText
// (the document as saved) are shown by the routes that return one pipeline.
type Pipeline struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Version     int              `json:"version" doc:"Current version; every save adds one"`
	Schedule    *Schedule        `json:"schedule,omitempty" doc:"The spec's schedule with its pause flag and next run times; absent when the pipeline has none"`
	Enabled     bool             `json:"enabled" doc:"The pipeline has a schedule (see schedule.paused for whether it fires)"`
	Warnings    []string         `json:"warnings,omitempty" doc:"What the author should know about the saved spec"`
	CreatedBy   string           `json:"created_by"`
	UpdatedBy   string           `json:"updated_by"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
	LastRun     *PipelineLastRun `json:"last_run,omitempty" doc:"The latest run (the newest by created_at), in the list only; absent when the pipeline never ran"`
	Spec        json.RawMessage  `json:"spec,omitempty" doc:"The parsed spec as a JSON object"`
	SpecText    string           `json:"spec_text,omitempty"`
	Draft       bool             `json:"draft,omitempty" doc:"The current version was saved with problems (?draft=true) and cannot run"`
	Problems    []DraftProblem   `json:"problems,omitempty" doc:"A draft's problems, each with its path, node id and field within the node"`
	RunsAfter   []PipelineRef    `json:"runs_after,omitempty" doc:"Single-pipeline responses: the pipelines whose successful runs start this one (the spec's triggers.after, resolved when it was saved)"`
	Dependents  []PipelineRef    `json:"dependents,omitempty" doc:"Single-pipeline responses: the pipelines that run after this one succeeds"`
	Managed     *ManagedFrom     `json:"managed,omitempty" doc:"Present when aggregator apply last wrote the pipeline from a file (lists leave drifted out)"`
}

// PipelineRef names a pipeline.
type PipelineRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// withDependencies adds the pipelines d runs after and those that run after it.
func (s *Server) withDependencies(ctx context.Context, d *Pipeline) error {
	refs := func(list []store.PipelineRef, err error) ([]PipelineRef, error) {
		if err != nil {
			return nil, err
		}
		out := make([]PipelineRef, len(list))
		for i, r := range list {
			out[i] = PipelineRef{ID: r.ID, Name: r.Name}
		}
		return out, nil
	}
	var err error
	if d.RunsAfter, err = refs(s.store.ListUpstreams(ctx, d.ID)); err != nil {
		return err
	}
	d.Dependents, err = refs(s.store.ListDependents(ctx, d.ID))
	return err
}

// PipelineLastRun is what the pipeline list shows of a pipeline's latest run.
type PipelineLastRun struct {
	ID         string     `json:"id"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// DraftProblem is one problem of a draft: where (path, node, field, line, column) and what.
type DraftProblem = pipelines.DraftProblem

func toPipelineSummary(p store.Pipeline) Pipeline {
	return Pipeline{ID: p.ID, Name: p.Name, Description: p.Description, Version: p.Version, Schedule: toSchedule(p, time.Now()),
		Enabled: p.Enabled, CreatedBy: p.CreatedBy,
		UpdatedBy: p.UpdatedBy, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// toPipelineDTO renders one pipeline with its spec (the parsed spec marshalled once; nil when the
// stored text no longer parses, e.g. after a format change; spec_text still shows it).
func toPipelineDTO(p pipelines.Pipeline) Pipeline {
	d := toPipelineSummary(p.Pipeline)
	d.Warnings = p.Warnings
	d.SpecText = p.Pipeline.Spec
	d.Draft, d.Problems = p.Draft, p.Problems
	if p.Spec != nil {
		if b, err := json.Marshal(p.Spec); err == nil {
			d.Spec = b
		}
	}
	return d
}

type pipelineOutput struct {
	Body Pipeline
}

type listPipelinesInput struct {
	PageQuery
	Search string `query:"search" maxLength:"200" doc:"Substring of the name or description (case-insensitive)"`
}

func (s *Server) listPipelines(ctx context.Context, in *listPipelinesInput) (*struct{ Body Page[Pipeline] }, error) {
	list, total, err := s.data.Pipelines.List(ctx, store.PipelineFilter{Search: strings.TrimSpace(in.Search), Page: in.store()})
	if err != nil {
		return nil, err
	}
	managed, err := s.store.ListManaged(ctx, store.ManagedPipeline)
	if err != nil {
		return nil, err
	}
	items := make([]Pipeline, len(list))
	for i, p := range list {
		items[i] = toPipelineSummary(p.Pipeline)
		items[i].Managed = listedManaged(managed, p.ID)
		items[i].Draft = p.Draft
		if r := p.LastRun; r != nil {
			items[i].LastRun = &PipelineLastRun{ID: r.ID, Status: string(r.Status), CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt}
		}
	}
	return &struct{ Body Page[Pipeline] }{Body: newPage(items, total, in.PageQuery)}, nil
}

type createPipelineInput struct {
	Draft   bool   `query:"draft" doc:"Save a spec with problems as a draft (201, draft: true, problems) instead of refusing it with 422; a draft cannot run. The spec must still name the pipeline"`
	RawBody []byte `contentType:"application/yaml" doc:"The pipeline spec, YAML or JSON"`
}

func (s *Server) createPipeline(ctx context.Context, in *createPipelineInput) (*pipelineOutput, error) {
	p, err := s.data.Pipelines.Create(ctx, in.RawBody, principalFrom(ctx).Username, in.Draft)
	if err != nil {
		return nil, specError(err)
	}
	infoFrom(ctx).setTarget("pipeline", p.ID)
	return s.pipelineOutput(ctx, p)
}

type pipelineIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) getPipeline(ctx context.Context, in *pipelineIDInput) (*pipelineOutput, error) {
	p, err := s.data.Pipelines.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return s.pipelineOutput(ctx, p)
}

type updatePipelineInput struct {
	ID              string `path:"id" maxLength:"64"`
	ExpectedVersion int    `query:"expected_version" minimum:"0" doc:"When set, the save is refused with 409 unless this is the current version"`
	Comment         string `query:"comment" maxLength:"500" doc:"A note stored with the new version"`
	Draft           bool   `query:"draft" doc:"Save a spec with problems as a draft version (draft: true, problems) instead of refusing it with 422; a draft cannot run"`
	RawBody         []byte `contentType:"application/yaml" doc:"The pipeline spec, YAML or JSON"`
}

func (s *Server) updatePipeline(ctx context.Context, in *updatePipelineInput) (*pipelineOutput, error) {
	p, err := s.data.Pipelines.Update(ctx, in.ID, pipelines.Update{Spec: in.RawBody, Comment: in.Comment,
		Actor: principalFrom(ctx).Username, ExpectedVersion: in.ExpectedVersion, Draft: in.Draft})
	if err != nil {
		return nil, specError(err)
	}
	return s.pipelineOutput(ctx, p)
}

// pipelineOutput renders one pipeline with its spec and dependencies.
func (s *Server) pipelineOutput(ctx context.Context, p pipelines.Pipeline) (*pipelineOutput, error) {
	d := toPipelineDTO(p)
	if err := s.withDependencies(ctx, &d); err != nil {
		return nil, err
	}
	m, err := s.managedOne(ctx, store.ManagedPipeline, d.ID, pipelineDigest(d))
	if err != nil {
		return nil, err
	}
	d.Managed = m
	return &pipelineOutput{Body: d}, nil
}

func (s *Server) deletePipeline(ctx context.Context, in *pipelineIDInput) (*noContent, error) {
	if err := s.data.Pipelines.Delete(ctx, in.ID, principalFrom(ctx).Username); err != nil {
		return nil, err
	}
	return &noContent{}, nil
}

// PipelineVersion is one saved version of a pipeline.
type PipelineVersion struct {
	Version   int       `json:"version"`
	Comment   string    `json:"comment"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	SpecText  string    `json:"spec_text"`
	Draft     bool      `json:"draft,omitempty" doc:"This version was saved with problems and cannot run"`
}

type listVersionsInput struct {
	ID string `path:"id" maxLength:"64"`
	PageQuery
}

func (s *Server) listPipelineVersions(ctx context.Context, in *listVersionsInput) (*struct{ Body Page[PipelineVersion] }, error) {
	list, total, err := s.data.Pipelines.Versions(ctx, in.ID, in.store())
	if err != nil {
		return nil, err
	}
	items := make([]PipelineVersion, len(list))
	for i, v := range list {
		items[i] = PipelineVersion{Version: v.Version, Comment: v.Comment, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt, SpecText: v.Spec,
			Draft: len(v.Problems) > 0 && string(v.Problems) != "null"}
	}
	return &struct{ Body Page[PipelineVersion] }{Body: newPage(items, total, in.PageQuery)}, nil
}

// Validation is the outcome of POST /pipelines/validate.
type Validation struct {
	Valid    bool              `json:"valid"`
	Problems pipeline.Problems `json:"problems" nullable:"false"`
	Warnings []string          `json:"warnings" nullable:"false" doc:"What a valid spec should still tell its author"`
}

type validateInput struct {
	PipelineID string `query:"pipeline_id" maxLength:"64" doc:"Check triggers.after as a save of this saved pipeline would (cycles through it); without it, as a new pipeline"`
	Deep       bool   `query:"deep" doc:"Also open the sources and initialise every node with its input schema (fields an expression names that do not exist, type mismatches, missing files), and check every destination (connect; for databases the table, the write mode and the upsert key's unique index). Every problem is listed with its node's path"`
	RawBody    []byte `contentType:"application/yaml" doc:"The pipeline spec, YAML or JSON"`
}

func (s *Server) validatePipeline(ctx context.Context, in *validateInput) (*struct{ Body Validation }, error) {
	v, err := s.data.Pipelines.Validate(ctx, in.RawBody, in.Deep)
	if err != nil {
		return nil, err
	}
	deps, err := s.data.Pipelines.CheckDependencies(ctx, in.PipelineID, in.RawBody)
	if err != nil {
		return nil, err
	}
	v.Problems = append(v.Problems, deps...)
	out := Validation{Valid: v.Valid(), Problems: v.Problems, Warnings: v.Warnings}
	if out.Problems == nil {
		out.Problems = pipeline.Problems{}
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	return &struct{ Body Validation }{Body: out}, nil
}

// Field is one field of a schema.
type Field struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

func toFields(s *record.Schema) []Field {
	out := []Field{}
	if s == nil {
		return out
	}
	for _, f := range s.Fields {
		out = append(out, Field{Name: f.Name, Type: f.Kind.String(), Nullable: f.Nullable})
	}
	return out
}

// NodeSample is what one node produced in a preview.
type NodeSample struct {
	ID      string           `json:"id"`
	Kind    string           `json:"kind"`
	Type    string           `json:"type"`
	Fields  []Field          `json:"fields"`
	Rows    []map[string]any `json:"rows"`
	Rejects []record.Reject  `json:"rejects" nullable:"false"`
	Stats   engine.NodeStats `json:"stats"`
}

// Preview is the first rows through every node; nothing was written.
type Preview struct {
	Nodes []NodeSample `json:"nodes"`
}

func rowObjects(s *record.Schema, rows []record.Row) []map[string]any {
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		m := make(map[string]any, len(r))
		for i, v := range r {
			if s != nil && i < len(s.Fields) {
				m[s.Fields[i].Name] = json.RawMessage(v.AppendJSON(nil))
			}
		}
		out = append(out, m)
	}
	return out
}

func toPreviewDTO(res *engine.PreviewResult) Preview {
	out := Preview{Nodes: make([]NodeSample, len(res.Nodes))}
	for i, n := range res.Nodes {
		rj := n.Rejects
		if rj == nil {
			rj = []record.Reject{}
		}
		out.Nodes[i] = NodeSample{ID: n.ID, Kind: n.Kind, Type: n.Type, Fields: toFields(n.Schema),
			Rows: rowObjects(n.Schema, n.Rows), Rejects: rj, Stats: n.Stats}
	}
	return out
}

type previewSpecInput struct {
	Rows    int    `query:"rows" minimum:"1" maximum:"1000" default:"20" doc:"Rows to read from each source"`
	RawBody []byte `contentType:"application/yaml" doc:"The pipeline spec, YAML or JSON"`
}

func (s *Server) previewSpec(ctx context.Context, in *previewSpecInput) (*struct{ Body Preview }, error) {
	return previewOutput(s.data.Pipelines.Preview(ctx, in.RawBody, in.Rows))
}

type previewPipelineInput struct {
	ID   string `path:"id" maxLength:"64"`
	Rows int    `query:"rows" minimum:"1" maximum:"1000" default:"20" doc:"Rows to read from each source"`
}

func (s *Server) previewPipeline(ctx context.Context, in *previewPipelineInput) (*struct{ Body Preview }, error) {
	return previewOutput(s.data.Pipelines.PreviewSaved(ctx, in.ID, in.Rows))
}

func previewOutput(res *engine.PreviewResult, err error) (*struct{ Body Preview }, error) {
	if err != nil {
		return nil, runError(err)
	}
	return &struct{ Body Preview }{Body: toPreviewDTO(res)}, nil
}

// runError maps errors of opening sources and initialising nodes (a missing
// file, a field an expression names that does not exist) to a 422 that says
// what is wrong; they are about the spec and its inputs, not the server.
func runError(err error) error {
	if ps, ok := pipeline.AsProblems(err); ok {
		return problemsError(ps)
	}
	if ps, ok := pipelines.NodeProblems(err); ok {
		return problemsError(ps)
	}
	if pipelines.IsBudget(err) {
		return newProblem(http.StatusUnprocessableEntity, err.Error())
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, context.Canceled) {
		return err
	}
	return newProblem(http.StatusUnprocessableEntity, "the pipeline cannot read its inputs: "+err.Error())
}

type runPipelineInput struct {
	ID      string `path:"id" maxLength:"64"`
	Version int    `query:"version" minimum:"0" doc:"The version to run (default: the current one)"`
	Via     string `query:"via" enum:"ui,cli,api" doc:"Who asks: ui (the web app's Run button) and cli (aggregator trigger) record the run as manual, api as api. Default: manual for a signed-in session, api for an API token"`
}

func (s *Server) runPipeline(ctx context.Context, in *runPipelineInput) (*runOutput, error) {
	p := principalFrom(ctx)
	via := in.Via
	if via == "" {
		via = "ui"
		if p.APITokenID != "" {
			via = "api"
		}
	}
	trigger := runs.TriggerManual
	if via == "api" {
		trigger = runs.TriggerAPI
	}
	run, err := s.data.Runs.StartRun(ctx, in.ID, runs.StartRequest{Version: in.Version, Trigger: trigger,
		Detail: runs.TriggerDetail{User: p.Username, Via: via}, Actor: runs.Actor{ID: p.UserID, Name: p.Username, RequestID: RequestID(ctx)}})
	if err != nil {
		return nil, specError(err)
	}
	return &runOutput{Body: s.toRunDTO(ctx, run, false)}, nil
}
