package api

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/transform"
	"github.com/dataaggregator/aggregator/internal/transform/expr"
)

// Saved transformations: a transformation type with its config, reusable in
// any pipeline as `transformation: <name>`. The config is checked against the
// type's config spec (and expressions compiled) on every save.

// Transformation is a saved transformation.
type Transformation struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Description string         `json:"description"`
	Config      map[string]any `json:"config"`
	Version     int            `json:"version"`
	CreatedBy   string         `json:"created_by"`
	UpdatedBy   string         `json:"updated_by"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	Managed     *ManagedFrom   `json:"managed,omitempty" doc:"Present when aggregator apply last wrote the transformation from a file (lists leave drifted out)"`
}

func toTransformationDTO(t store.Transformation) Transformation {
	cfg := map[string]any{}
	_ = json.Unmarshal(t.Config, &cfg)
	return Transformation{ID: t.ID, Name: t.Name, Type: t.Type, Description: t.Description, Config: cfg, Version: t.Version,
		CreatedBy: t.CreatedBy, UpdatedBy: t.UpdatedBy, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

type transformationOutput struct {
	Body Transformation
}

type listTransformationsInput struct {
	PageQuery
	Search string `query:"search" maxLength:"200" doc:"Substring of the name or description"`
}

func (s *Server) listTransformations(ctx context.Context, in *listTransformationsInput) (*struct{ Body Page[Transformation] }, error) {
	list, total, err := s.store.ListTransformations(ctx, strings.TrimSpace(in.Search), in.store())
	if err != nil {
		return nil, err
	}
	managed, err := s.store.ListManaged(ctx, store.ManagedTransformation)
	if err != nil {
		return nil, err
	}
	items := make([]Transformation, len(list))
	for i, t := range list {
		items[i] = toTransformationDTO(t)
		items[i].Managed = listedManaged(managed, t.ID)
	}
	return &struct{ Body Page[Transformation] }{Body: newPage(items, total, in.PageQuery)}, nil
}

type transformationBody struct {
	Name        string         `json:"name" minLength:"1" maxLength:"128"`
	Type        string         `json:"type" minLength:"1" maxLength:"64" doc:"A transformation type: map, expression, filter, validate, cleanse, dedup, ..."`
	Description string         `json:"description,omitempty" maxLength:"2000"`
	Config      map[string]any `json:"config,omitempty"`
}

// checkTransformation builds the node once: the type must exist and the
// config must pass its spec (expressions compile).
func (s *Server) checkTransformation(typ string, config map[string]any) error {
	def, err := s.data.Transforms.Get(typ)
	if err != nil {
		return invalid("body.type", err.Error(), typ)
	}
	if config == nil {
		config = map[string]any{}
	}
	if _, err := def.New(config); err != nil {
		return configError("body.config", err)
	}
	return nil
}

func (s *Server) createTransformation(ctx context.Context, in *struct{ Body transformationBody }) (*transformationOutput, error) {
	b := in.Body
	if err := s.checkTransformation(b.Type, b.Config); err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(orEmpty(b.Config))
	if err != nil {
		return nil, invalid("body.config", err.Error(), nil)
	}
	t, err := s.store.CreateTransformation(ctx, store.Transformation{Name: b.Name, Type: b.Type, Description: b.Description,
		Config: cfg, CreatedBy: principalFrom(ctx).Username})
	if err != nil {
		return nil, err
	}
	infoFrom(ctx).setTarget("transformation", t.ID)
	return s.transformationOutput(ctx, t)
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// transformationOutput renders one transformation with its mark of management from a file.
func (s *Server) transformationOutput(ctx context.Context, t store.Transformation) (*transformationOutput, error) {
	d := toTransformationDTO(t)
	m, err := s.managedOne(ctx, store.ManagedTransformation, d.ID, transformationDigest(d))
	if err != nil {
		return nil, err
	}
	d.Managed = m
	return &transformationOutput{Body: d}, nil
}

type transformationIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) getTransformation(ctx context.Context, in *transformationIDInput) (*transformationOutput, error) {
	t, err := s.store.GetTransformation(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return s.transformationOutput(ctx, t)
}

type updateTransformationInput struct {
	ID              string `path:"id" maxLength:"64"`
	ExpectedVersion int    `query:"expected_version" minimum:"0" doc:"When set, refused with 409 unless this is the current version"`
	Body            transformationBody
}

func (s *Server) updateTransformation(ctx context.Context, in *updateTransformationInput) (*transformationOutput, error) {
	b := in.Body
	if _, err := s.store.GetTransformation(ctx, in.ID); err != nil {
		return nil, err
	}
	if err := s.checkTransformation(b.Type, b.Config); err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(orEmpty(b.Config))
	if err != nil {
		return nil, invalid("body.config", err.Error(), nil)
	}
	t, err := s.store.UpdateTransformation(ctx, store.Transformation{ID: in.ID, Name: b.Name, Type: b.Type,
		Description: b.Description, Config: cfg, UpdatedBy: principalFrom(ctx).Username}, in.ExpectedVersion)
	if err != nil {
		return nil, err
	}
	return s.transformationOutput(ctx, t)
}

func (s *Server) deleteTransformation(ctx context.Context, in *transformationIDInput) (*noContent, error) {
	if err := s.store.DeleteTransformation(ctx, in.ID); err != nil {
		return nil, err
	}
	return &noContent{}, nil
}

// TransformationPreview is what a transformation made of sample rows.
type TransformationPreview struct {
	Fields   []Field                     `json:"fields"`
	Rows     []map[string]any            `json:"rows"`
	Rejects  []record.Reject             `json:"rejects" nullable:"false"`
	Counters map[transform.Counter]int64 `json:"counters,omitempty"`
}

type sampleRows struct {
	Rows   []map[string]any   `json:"rows" maxItems:"10000" doc:"Sample input rows (JSON objects); the input schema is inferred from them"`
	Inputs [][]map[string]any `json:"inputs,omitempty" maxItems:"8" doc:"Several sample inputs, for union and join (the stream, then the lookup table)"`
}

func (s *Server) previewTransformationWith(ctx context.Context, typ string, config map[string]any, in sampleRows) (*struct{ Body TransformationPreview }, error) {
	inputs := in.Inputs
	if len(inputs) == 0 {
		inputs = [][]map[string]any{orEmptyRows(in.Rows)}
	}
	if err := s.checkTransformation(typ, config); err != nil {
		return nil, err
	}
	res, err := transform.PreviewInputs(ctx, s.data.Transforms, typ, orEmpty(config), inputs)
	if err != nil {
		return nil, configError("body", err)
	}
	rj := res.Rejects
	if rj == nil {
		rj = []record.Reject{}
	}
	return &struct{ Body TransformationPreview }{Body: TransformationPreview{Fields: toFields(res.Schema), Rows: res.Rows,
		Rejects: rj, Counters: res.Counters}}, nil
}

func orEmptyRows(r []map[string]any) []map[string]any {
	if r == nil {
		return []map[string]any{}
	}
	return r
}

type previewTransformationInput struct {
	Body struct {
		Type   string             `json:"type" minLength:"1" maxLength:"64"`
		Config map[string]any     `json:"config,omitempty"`
		Rows   []map[string]any   `json:"rows" maxItems:"10000" doc:"Sample input rows (JSON objects); the input schema is inferred from them"`
		Inputs [][]map[string]any `json:"inputs,omitempty" maxItems:"8" doc:"Several sample inputs, for union and join (the stream, then the lookup table)"`
	}
}

func (s *Server) previewTransformation(ctx context.Context, in *previewTransformationInput) (*struct{ Body TransformationPreview }, error) {
	return s.previewTransformationWith(ctx, in.Body.Type, in.Body.Config, sampleRows{Rows: in.Body.Rows, Inputs: in.Body.Inputs})
}

type previewSavedTransformationInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body sampleRows
}

func (s *Server) previewSavedTransformation(ctx context.Context, in *previewSavedTransformationInput) (*struct{ Body TransformationPreview }, error) {
	t, err := s.store.GetTransformation(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	cfg := map[string]any{}
	if err := json.Unmarshal(t.Config, &cfg); err != nil {
		return nil, err
	}
	return s.previewTransformationWith(ctx, t.Type, cfg, in.Body)
}

// TransformType is a transformation type for the pipeline builder's palette and forms.
type TransformType struct {
	transform.Spec
	ConfigSchema map[string]any `json:"config_schema" doc:"JSON Schema of the node's config"`
}

func (s *Server) listTransformTypes(ctx context.Context, _ *struct{}) (*struct{ Body []TransformType }, error) {
	reg := s.data.Transforms
	out := []TransformType{}
	for _, name := range reg.Names() {
		d, err := reg.Get(name)
		if err != nil {
			return nil, err
		}
		out = append(out, TransformType{Spec: d.Spec, ConfigSchema: d.Spec.Config.JSONSchema()})
	}
	return &struct{ Body []TransformType }{Body: out}, nil
}

// listExpressionFunctions lists the functions expressions may call, for the editors' autocomplete.
func (s *Server) listExpressionFunctions(context.Context, *struct{}) (*struct{ Body []expr.FuncDoc }, error) {
	return &struct{ Body []expr.FuncDoc }{Body: expr.Functions()}, nil
}
