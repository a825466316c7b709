package transform

import (
	"context"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
)

// unionSpec: union takes no options.
var unionSpec = configspec.Describe(func(*struct{}, *configspec.Builder) {})

func unionDefinition() Definition {
	return Definition{
		Spec: Spec{Name: "union", Title: "Union",
			Description: "Concatenate the rows of several inputs. Fields are matched by name; a field missing from an input is null there; int widens to float or decimal, date to timestamp.",
			Config:      unionSpec, MinInputs: 2},
		New: func(raw map[string]any) (Node, error) {
			var c struct{}
			if err := decodeConfig(unionSpec, raw, &c); err != nil {
				return nil, err
			}
			return &unionNode{}, nil
		},
	}
}

type unionNode struct {
	schema *record.Schema
	plans  []unionPlan
}

// unionPlan maps one input to the output: src[j] is the input position of output field j, or -1.
type unionPlan struct {
	same bool // the input schema is the output schema
	src  []int
	cast []bool
}

// widen returns the kind both a and b fit in, if there is one.
func widen(a, b record.Kind) (record.Kind, bool) {
	switch {
	case a == b:
		return a, true
	case a == record.KindNull:
		return b, true
	case b == record.KindNull:
		return a, true
	}
	pair := func(x, y record.Kind) bool { return (a == x && b == y) || (a == y && b == x) }
	switch {
	case pair(record.KindInt, record.KindFloat):
		return record.KindFloat, true
	case pair(record.KindInt, record.KindDecimal):
		return record.KindDecimal, true
	case pair(record.KindFloat, record.KindDecimal):
		return record.KindFloat, true
	case pair(record.KindDate, record.KindTimestamp):
		return record.KindTimestamp, true
	}
	return record.KindNull, false
}

func (n *unionNode) Init(inputs []*record.Schema) (*record.Schema, error) {
	if len(inputs) < 2 {
		return nil, fmt.Errorf("union takes at least two inputs, got %d", len(inputs))
	}
	var fields []record.Field
	pos := map[string]int{}
	from := map[string]int{} // which input fixed the field's kind first
	var e errs
	for i, s := range inputs {
		for _, f := range s.Fields {
			j, ok := pos[f.Name]
			if !ok {
				pos[f.Name] = len(fields)
				from[f.Name] = i
				f.Nullable = f.Nullable || i > 0
				fields = append(fields, f)
				continue
			}
			k, ok := widen(fields[j].Kind, f.Kind)
			if !ok {
				e.add("", "field %q is %s in input %d but %s in input %d; cast one of them with a map node first", f.Name, fields[j].Kind, from[f.Name], f.Kind, i)
				continue
			}
			if k != fields[j].Kind {
				fields[j].Native, fields[j].Precision, fields[j].Scale = "", 0, 0
			}
			fields[j].Kind = k
			fields[j].Nullable = fields[j].Nullable || f.Nullable
		}
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	for name, j := range pos {
		for _, s := range inputs {
			if s.Index(name) < 0 {
				fields[j].Nullable = true
			}
		}
	}
	out, err := record.NewSchema(fields...)
	if err != nil {
		return nil, fmt.Errorf("union: %w", err)
	}
	n.schema = out
	n.plans = make([]unionPlan, len(inputs))
	for i, s := range inputs {
		p := unionPlan{src: make([]int, len(fields)), cast: make([]bool, len(fields)), same: len(s.Fields) == len(fields)}
		for j, f := range fields {
			k := s.Index(f.Name)
			p.src[j] = k
			if k != j {
				p.same = false
			}
			if k >= 0 && s.Fields[k].Kind != f.Kind && s.Fields[k].Kind != record.KindNull {
				p.cast[j] = true
				p.same = false
			}
		}
		n.plans[i] = p
	}
	return out, nil
}

func (n *unionNode) Process(_ context.Context, input int, in *record.Batch, out Output) error {
	if input < 0 || input >= len(n.plans) {
		return fmt.Errorf("union: no input %d", input)
	}
	p := &n.plans[input]
	if p.same {
		return emitInPlace(out, in, n.schema)
	}
	bld := record.NewBuilder(n.schema, len(in.Rows))
	for i, row := range in.Rows {
		r := bld.Row(in.PosOf(i))
		for j, k := range p.src {
			if k < 0 {
				continue
			}
			v := row[k]
			if p.cast[j] && !v.IsNull() {
				c, err := record.Cast(v, n.schema.Fields[j].Kind)
				if err != nil {
					bld.Unrow()
					if err := rejectRow(out, in, i, n.schema.Fields[j].Name, "union: "+err.Error()); err != nil {
						return err
					}
					break
				}
				v = c
			}
			r[j] = v
		}
	}
	return emitBuilt(out, bld, in.Bytes)
}

func (n *unionNode) Flush(context.Context, Output) error { return nil }
