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
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Version     int            `json:"version" doc:"Current version; every save adds one"`
	Schedule    string         `json:"schedule" doc:"Cron expression from the spec, empty when not scheduled"`
	Timezone    string         `json:"timezone"`
	Enabled     bool           `json:"enabled"`
	CreatedBy   string         `json:"created_by"`
	UpdatedBy   string         `json:"updated_by"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	Spec        map[string]any `json:"spec,omitempty"`
	SpecText    string         `json:"spec_text,omitempty"`
}

func toPipelineDTO(p store.Pipeline, withSpec bool) Pipeline {
	d := Pipeline{ID: p.ID, Name: p.Name, Description: p.Description, Version: p.Version, Schedule: p.Schedule,
		Timezone: p.Timezone, Enabled: p.Enabled, CreatedBy: p.CreatedBy, UpdatedBy: p.UpdatedBy,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if withSpec {
		d.SpecText = p.Spec
		d.Spec = specObject(p.Spec)
	}
	return d
}

// specObject renders a saved spec document as a JSON object (nil when it no
// longer parses, e.g. after a format change; spec_text still shows it).
func specObject(text string) map[string]any {
	spec, err := pipeline.Parse([]byte(text))
	if err != nil {
		return nil
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

type pipelineOutput struct {
	Body Pipeline
}

type listPipelinesInput struct {
	PageQuery
	Search string `query:"search" maxLength:"200" doc:"Substring of the name or description (case-insensitive)"`
}

func (s *Server) listPipelines(ctx context.Context, in *listPipelinesInput) (*struct{ Body Page[Pipeline] }, error) {
	list, total, err := s.store.ListPipelines(ctx, store.PipelineFilter{Search: strings.TrimSpace(in.Search), Page: in.store()})
	if err != nil {
		return nil, err
	}
	items := make([]Pipeline, len(list))
	for i, p := range list {
		items[i] = toPipelineDTO(p, false)
	}
	return &struct{ Body Page[Pipeline] }{Body: newPage(items, total, in.PageQuery)}, nil
}

type specBodyInput struct {
	RawBody []byte `contentType:"application/yaml" doc:"The pipeline spec, YAML or JSON"`
}

// parseAndPlan parses a spec document and validates it against the
// registries and saved items; problems come back as a 422.
func (s *Server) parseAndPlan(ctx context.Context, raw []byte) (*pipeline.Spec, *pipeline.Plan, error) {
	spec, err := pipeline.Parse(raw)
	if err != nil {
		return nil, nil, specError(err)
	}
	plan, err := s.data.Runs.Plan(ctx, spec)
	if err != nil {
		return nil, nil, specError(err)
	}
	return spec, plan, nil
}

func scheduleOf(spec *pipeline.Spec) (cron, tz string) {
	if spec.Schedule == nil {
		return "", ""
	}
	return spec.Schedule.Cron, spec.Schedule.Timezone
}

// parseForSave is parseAndPlan for a spec about to be stored: a stored spec is readable by roles that
// may not see credentials, so inline secrets are refused (they belong in a saved connector).
func (s *Server) parseForSave(ctx context.Context, raw []byte) (*pipeline.Spec, error) {
	spec, plan, err := s.parseAndPlan(ctx, raw)
	if err != nil {
		return nil, err
	}
	if ps := plan.InlineSecrets(); len(ps) > 0 {
		return nil, specError(ps)
	}
	return spec, nil
}

func (s *Server) createPipeline(ctx context.Context, in *specBodyInput) (*pipelineOutput, error) {
	spec, err := s.parseForSave(ctx, in.RawBody)
	if err != nil {
		return nil, err
	}
	cron, tz := scheduleOf(spec)
	actor := principalFrom(ctx).Username
	p, err := s.store.CreatePipeline(ctx, store.Pipeline{Name: spec.Name, Description: spec.Description, Spec: string(in.RawBody),
		Schedule: cron, Timezone: tz, Enabled: cron != "", CreatedBy: actor})
	if err != nil {
		return nil, err
	}
	infoFrom(ctx).setTarget("pipeline", p.ID)
	return &pipelineOutput{Body: toPipelineDTO(p, true)}, nil
}

type pipelineIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) getPipeline(ctx context.Context, in *pipelineIDInput) (*pipelineOutput, error) {
	p, err := s.store.GetPipeline(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &pipelineOutput{Body: toPipelineDTO(p, true)}, nil
}

type updatePipelineInput struct {
	ID              string `path:"id" maxLength:"64"`
	ExpectedVersion int    `query:"expected_version" minimum:"0" doc:"When set, the save is refused with 409 unless this is the current version"`
	Comment         string `query:"comment" maxLength:"500" doc:"A note stored with the new version"`
	RawBody         []byte `contentType:"application/yaml" doc:"The pipeline spec, YAML or JSON"`
}

func (s *Server) updatePipeline(ctx context.Context, in *updatePipelineInput) (*pipelineOutput, error) {
	if _, err := s.store.GetPipeline(ctx, in.ID); err != nil {
		return nil, err
	}
	spec, err := s.parseForSave(ctx, in.RawBody)
	if err != nil {
		return nil, err
	}
	cron, tz := scheduleOf(spec)
	p, err := s.store.UpdatePipeline(ctx, in.ID, store.PipelineUpdate{Name: spec.Name, Description: spec.Description,
		Spec: string(in.RawBody), Schedule: cron, Timezone: tz, Enabled: cron != "", Comment: in.Comment,
		Actor: principalFrom(ctx).Username, ExpectedVersion: in.ExpectedVersion})
	if err != nil {
		return nil, err
	}
	return &pipelineOutput{Body: toPipelineDTO(p, true)}, nil
}

func (s *Server) deletePipeline(ctx context.Context, in *pipelineIDInput) (*noContent, error) {
	if err := s.store.DeletePipeline(ctx, in.ID, principalFrom(ctx).Username); err != nil {
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
}

type listVersionsInput struct {
	ID string `path:"id" maxLength:"64"`
	PageQuery
}

func (s *Server) listPipelineVersions(ctx context.Context, in *listVersionsInput) (*struct{ Body Page[PipelineVersion] }, error) {
	if _, err := s.store.GetPipeline(ctx, in.ID); err != nil {
		return nil, err
	}
	list, total, err := s.store.ListPipelineVersions(ctx, in.ID, in.store())
	if err != nil {
		return nil, err
	}
	items := make([]PipelineVersion, len(list))
	for i, v := range list {
		items[i] = PipelineVersion{Version: v.Version, Comment: v.Comment, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt, SpecText: v.Spec}
	}
	return &struct{ Body Page[PipelineVersion] }{Body: newPage(items, total, in.PageQuery)}, nil
}

// Validation is the outcome of POST /pipelines/validate.
type Validation struct {
	Valid    bool              `json:"valid"`
	Problems pipeline.Problems `json:"problems" nullable:"false"`
}

type validateInput struct {
	Deep    bool   `query:"deep" doc:"Also open the sources and initialise every node with its input schema: catches fields an expression names that do not exist, type mismatches and missing files (reads only what sources need for their schema)"`
	RawBody []byte `contentType:"application/yaml" doc:"The pipeline spec, YAML or JSON"`
}

func (s *Server) validatePipeline(ctx context.Context, in *validateInput) (*struct{ Body Validation }, error) {
	out := &struct{ Body Validation }{Body: Validation{Valid: true, Problems: pipeline.Problems{}}}
	spec, err := pipeline.Parse(in.RawBody)
	var plan *pipeline.Plan
	if err == nil {
		plan, err = s.data.Runs.Plan(ctx, spec)
	}
	if err == nil {
		if ps := plan.InlineSecrets(); len(ps) > 0 {
			err = ps
		}
	}
	if err == nil && in.Deep {
		if _, serr := engine.Schemas(ctx, plan, engine.Options{Env: s.data.Runs.Env(), Logger: s.log}); serr != nil {
			if pe, ok := nodeProblems(serr); ok {
				err = pe
			} else {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				err = pipeline.Problems{{Message: serr.Error()}}
			}
		}
	}
	if err != nil {
		ps, ok := pipeline.AsProblems(err)
		if !ok {
			return nil, err
		}
		out.Body = Validation{Valid: false, Problems: ps}
	}
	return out, nil
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
	return s.preview(ctx, in.RawBody, in.Rows)
}

type previewPipelineInput struct {
	ID   string `path:"id" maxLength:"64"`
	Rows int    `query:"rows" minimum:"1" maximum:"1000" default:"20" doc:"Rows to read from each source"`
}

func (s *Server) previewPipeline(ctx context.Context, in *previewPipelineInput) (*struct{ Body Preview }, error) {
	p, err := s.store.GetPipeline(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return s.preview(ctx, []byte(p.Spec), in.Rows)
}

func (s *Server) preview(ctx context.Context, raw []byte, rows int) (*struct{ Body Preview }, error) {
	_, plan, err := s.parseAndPlan(ctx, raw)
	if err != nil {
		return nil, err
	}
	res, err := engine.Preview(ctx, plan, engine.Options{Env: s.data.Runs.Env(), Logger: s.log}, rows)
	if err != nil {
		return nil, runError(err)
	}
	return &struct{ Body Preview }{Body: toPreviewDTO(res)}, nil
}

// nodeProblems extracts the spec problems of engine node errors (one node's
// *engine.NodeError, or engine.NodeErrors for several).
func nodeProblems(err error) (pipeline.Problems, bool) {
	var pe interface{ Problems() pipeline.Problems }
	if errors.As(err, &pe) {
		return pe.Problems(), true
	}
	return nil, false
}

// runError maps errors of opening sources and initialising nodes (a missing
// file, a field an expression names that does not exist) to a 422 that says
// what is wrong; they are about the spec and its inputs, not the server.
func runError(err error) error {
	if ps, ok := nodeProblems(err); ok {
		return problemsError(ps)
	}
	return newProblem(http.StatusUnprocessableEntity, "the pipeline cannot read its inputs: "+err.Error())
}

type runPipelineInput struct {
	ID      string `path:"id" maxLength:"64"`
	Version int    `query:"version" minimum:"0" doc:"The version to run (default: the current one)"`
}

func (s *Server) runPipeline(ctx context.Context, in *runPipelineInput) (*runOutput, error) {
	p := principalFrom(ctx)
	run, err := s.data.Runs.Start(ctx, in.ID, in.Version, "api", runs.Actor{ID: p.UserID, Name: p.Username})
	if err != nil {
		return nil, specError(err)
	}
	return &runOutput{Body: s.toRunDTO(ctx, run, false)}, nil
}
