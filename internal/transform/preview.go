package transform

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/dataaggregator/aggregator/internal/record"
)

// MaxPreviewRows bounds the sample rows Preview accepts per input.
const MaxPreviewRows = 10_000

// PreviewResult is what a node made of sample rows.
type PreviewResult struct {
	Schema   *record.Schema    `json:"schema"`
	Rows     []map[string]any  `json:"rows"`
	Rejects  []record.Reject   `json:"rejects"`
	Counters map[Counter]int64 `json:"counters,omitempty"`
}

// Preview runs one node of type typ with config on sample rows (a saved transformation is just
// {type, config}) and returns its output rows and rejects; used by the API's preview of saved
// transformations. Nodes with several inputs (union, join) need PreviewInputs. Config problems come
// back as configspec.Errors with paths relative to the config.
func Preview(ctx context.Context, reg *Registry, typ string, config map[string]any, sample []map[string]any) ([]map[string]any, []record.Reject, error) {
	res, err := PreviewInputs(ctx, reg, typ, config, [][]map[string]any{sample})
	if err != nil {
		return nil, nil, err
	}
	return res.Rows, res.Rejects, nil
}

// PreviewInputs is Preview for any number of inputs (for join: the stream, then the lookup table).
// The schema of each input is inferred from its rows: fields sorted by name; JSON numbers that are
// all whole become int, other numbers float; strings stay strings; objects and lists are json.
func PreviewInputs(ctx context.Context, reg *Registry, typ string, config map[string]any, inputs [][]map[string]any) (*PreviewResult, error) {
	def, err := reg.Get(typ)
	if err != nil {
		return nil, err
	}
	if len(inputs) < def.Spec.MinInputs || (def.Spec.MaxInputs > 0 && len(inputs) > def.Spec.MaxInputs) {
		return nil, fmt.Errorf("%s takes %s, got %d sample inputs", typ, inputCount(def.Spec), len(inputs))
	}
	node, err := def.New(config)
	if err != nil {
		return nil, err
	}
	schemas := make([]*record.Schema, len(inputs))
	batches := make([]*record.Batch, len(inputs))
	for i, rows := range inputs {
		if len(rows) > MaxPreviewRows {
			return nil, fmt.Errorf("input %d: %d sample rows, at most %d", i, len(rows), MaxPreviewRows)
		}
		if batches[i], err = sampleBatch(rows); err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
		schemas[i] = batches[i].Schema
	}
	outSchema, err := node.Init(schemas)
	if err != nil {
		return nil, err
	}
	col := &previewOutput{res: &PreviewResult{Schema: outSchema, Rows: []map[string]any{}, Rejects: []record.Reject{}}}
	order := make([]int, 0, len(inputs))
	if li, ok := node.(LookupInputs); ok {
		order = append(order, li.LookupInputs()...)
	}
	for i := range inputs {
		seen := false
		for _, j := range order {
			seen = seen || j == i
		}
		if !seen {
			order = append(order, i)
		}
	}
	for _, i := range order {
		if i < 0 || i >= len(batches) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := node.Process(ctx, i, batches[i], col); err != nil {
			return nil, err
		}
	}
	if err := node.Flush(ctx, col); err != nil {
		return nil, err
	}
	return col.res, nil
}

func inputCount(s Spec) string {
	switch {
	case s.MaxInputs == s.MinInputs:
		return fmt.Sprintf("exactly %d input(s)", s.MinInputs)
	case s.MaxInputs == 0:
		return fmt.Sprintf("at least %d inputs", s.MinInputs)
	}
	return fmt.Sprintf("%d to %d inputs", s.MinInputs, s.MaxInputs)
}

type previewOutput struct{ res *PreviewResult }

func (p *previewOutput) Emit(b *record.Batch) error {
	for i := range b.Rows {
		m := make(map[string]any, len(b.Schema.Fields))
		for j, f := range b.Schema.Fields {
			m[f.Name] = previewValue(b.Rows[i][j])
		}
		p.res.Rows = append(p.res.Rows, m)
	}
	return nil
}

// previewValue renders a value for JSON: numbers as numbers (decimals as exact json.Number),
// dates and timestamps as text, json as raw JSON.
func previewValue(v record.Value) any {
	switch v.Kind() {
	case record.KindDecimal:
		return json.Number(v.Str())
	case record.KindDate, record.KindTimestamp:
		return v.String()
	case record.KindFloat:
		f := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return v.String()
		}
		return f
	}
	return v.Go()
}

func (p *previewOutput) Reject(r record.Reject) error {
	p.res.Rejects = append(p.res.Rejects, r)
	return nil
}

func (p *previewOutput) Count(c Counter, n int64) {
	if p.res.Counters == nil {
		p.res.Counters = map[Counter]int64{}
	}
	p.res.Counters[c] += n
}

// sampleBatch builds a batch from JSON-like rows, inferring the schema.
func sampleBatch(rows []map[string]any) (*record.Batch, error) {
	kinds := map[string]record.Kind{}
	allWhole := map[string]bool{}
	for _, r := range rows {
		for k, x := range r {
			if _, ok := kinds[k]; !ok {
				kinds[k], allWhole[k] = record.KindNull, true
			}
			var k2 record.Kind
			switch t := x.(type) {
			case nil:
				continue
			case bool:
				k2 = record.KindBool
			case float64:
				k2 = record.KindFloat
				allWhole[k] = allWhole[k] && t == math.Trunc(t) && math.Abs(t) < 1<<53
			case json.Number:
				k2 = record.KindFloat
				_, err := t.Int64()
				allWhole[k] = allWhole[k] && err == nil
			case int, int64, int32:
				k2 = record.KindFloat
			case string:
				k2 = record.KindString
			case map[string]any, []any:
				k2 = record.KindJSON
			default:
				return nil, fmt.Errorf("field %q: unsupported value of type %T", k, x)
			}
			switch prev := kinds[k]; {
			case prev == record.KindNull || prev == k2:
				kinds[k] = k2
			default:
				kinds[k] = record.KindString // mixed kinds: read everything as text
			}
		}
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	fields := make([]record.Field, len(names))
	for i, n := range names {
		k := kinds[n]
		if k == record.KindFloat && allWhole[n] {
			k = record.KindInt
		}
		if k == record.KindNull {
			k = record.KindString
		}
		fields[i] = record.Field{Name: n, Kind: k, Nullable: true}
	}
	s, err := record.NewSchema(fields...)
	if err != nil {
		return nil, err
	}
	b := record.NewBuilder(s, max(len(rows), 1))
	for i, r := range rows {
		row := b.Row(int64(i + 1))
		for j, f := range fields {
			x, ok := r[f.Name]
			if !ok || x == nil {
				continue
			}
			v, err := sampleValue(x, f.Kind)
			if err != nil {
				return nil, fmt.Errorf("row %d field %q: %w", i+1, f.Name, err)
			}
			row[j] = v
		}
	}
	out := b.Take()
	if out == nil {
		out = record.NewBatch(s, 0)
	}
	return out, nil
}

func sampleValue(x any, k record.Kind) (record.Value, error) {
	if k == record.KindString {
		if s, ok := x.(string); ok {
			return record.String(s), nil
		}
		b, err := json.Marshal(x)
		if err != nil {
			return record.Null, err
		}
		return record.String(string(b)), nil
	}
	return valueFromJSON(x, k)
}
