package transform

import (
	"context"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/transform/expr"
)

type expressionConfig struct {
	Fields []exprField
}

type exprField struct {
	Name       string
	Expression string
	Type       string
}

var expressionSpec = configspec.Describe(func(c *expressionConfig, b *configspec.Builder) {
	configspec.List(b, &c.Fields, "fields", describeExprField).Required().Min(1).
		Doc("Fields to derive, in order; each may use the fields derived before it. A name that exists replaces that field in place.")
})

// describeExprField is the config of one derived field, shared by expression's fields and map's
// expressions.
func describeExprField(f *exprField, b *configspec.Builder) {
	b.String(&f.Name, "name").Required().Min(1).Doc("The field to set.")
	b.String(&f.Expression, "expression").Required().Min(1).
		Doc("An expr-lang expression over the row's fields (see docs/expressions.md).").
		Example("price * quantity", `upper(trim(country))`)
	b.String(&f.Type, "type").Enum(kindEnum()...).
		Doc("The result type; inferred when absent (required when the expression's type is only known at run time, e.g. coalesce).")
}

func expressionDefinition() Definition {
	return Definition{
		Spec: Spec{Name: "expression", Title: "Derive fields",
			Description: "Compute new fields (or replace existing ones) with expressions.",
			Config:      expressionSpec, MinInputs: 1, MaxInputs: 1},
		New: newExpressionNode,
	}
}

func newExpressionNode(raw map[string]any) (Node, error) {
	var c expressionConfig
	if err := decodeConfig(expressionSpec, raw, &c); err != nil {
		return nil, err
	}
	if err := checkExprFields("fields", c.Fields); err != nil {
		return nil, err
	}
	return &expressionNode{cfg: c, path: "fields"}, nil
}

// checkExprFields checks the names, syntax and types of derived fields; path names the list in
// the config ("fields", or map's "expressions").
func checkExprFields(list string, fields []exprField) error {
	var e errs
	seen := map[string]int{}
	for i, f := range fields {
		path := fmt.Sprintf("%s[%d]", list, i)
		if j, dup := seen[f.Name]; dup {
			e.add(path+".name", "field %q is already derived by %s[%d]", f.Name, list, j)
		}
		seen[f.Name] = i
		if err := expr.CheckSyntax(f.Expression); err != nil {
			e.add(path+".expression", "%v", err)
		}
		if f.Type != "" {
			if _, err := record.ParseKind(f.Type); err != nil {
				e.add(path+".type", "%v", err)
			}
		}
	}
	return e.err()
}

type derived struct {
	name string
	pos  int // position in the output row
	kind record.Kind
	prog *expr.Program
}

type expressionNode struct {
	cfg     expressionConfig
	path    string // the list's name in the config, for errors
	schema  *record.Schema
	width   int // input width
	derived []derived
	inPlace bool // every derived field replaces an input field
	// extend: every derived field is appended after the input fields, so a batch whose rows own
	// enough capacity (record.Batch.RowCap) gets them in place, without copying each row.
	extend bool
}

func (n *expressionNode) Init(inputs []*record.Schema) (*record.Schema, error) {
	if err := singleInput("expression", inputs); err != nil {
		return nil, err
	}
	in := inputs[0]
	fields := append([]record.Field(nil), in.Fields...)
	var e errs
	n.derived = n.derived[:0]
	n.inPlace = true
	for i, f := range n.cfg.Fields {
		path := fmt.Sprintf("%s[%d]", n.path, i)
		stage, err := record.NewSchema(fields...)
		if err != nil {
			return nil, fmt.Errorf("expression: %w", err)
		}
		p, err := expr.Compile(f.Expression, stage)
		if err != nil {
			e.add(path+".expression", "%v", err)
			continue
		}
		kind, known := p.Kind()
		if f.Type != "" {
			kind, _ = record.ParseKind(f.Type)
		} else if !known {
			e.add(path+".type", "the type of %q is only known at run time; set type (one of %v)", f.Expression, kindEnum())
			continue
		} else if kind == record.KindTimestamp && p.ReturnsDate() {
			kind = record.KindDate
		}
		pos := stageIndex(fields, f.Name)
		nf := record.Field{Name: f.Name, Kind: kind, Nullable: true}
		if pos < 0 {
			pos = len(fields)
			fields = append(fields, nf)
			n.inPlace = false
		} else {
			fields[pos] = nf
		}
		n.derived = append(n.derived, derived{name: f.Name, pos: pos, kind: kind, prog: p})
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	s, err := record.NewSchema(fields...)
	if err != nil {
		return nil, fmt.Errorf("expression: %w", err)
	}
	n.schema, n.width = s, len(in.Fields)
	n.extend = !n.inPlace
	for _, d := range n.derived {
		if d.pos < n.width {
			n.extend = false
		}
	}
	return s, nil
}

func stageIndex(fields []record.Field, name string) int {
	for i, f := range fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

func (n *expressionNode) Process(_ context.Context, _ int, in *record.Batch, out Output) error {
	if n.inPlace {
		ok := true
		var keep []bool
		for i, row := range in.Rows {
			if field, reason, good := n.eval(row); !good {
				if keep == nil {
					keep = make([]bool, len(in.Rows))
					for j := range i {
						keep[j] = true
					}
				}
				ok = false
				if err := rejectRow(out, in, i, field, reason); err != nil {
					return err
				}
			} else if keep != nil {
				keep[i] = true
			}
		}
		if !ok {
			compact(in, keep)
		}
		return emitInPlace(out, in, n.schema)
	}
	if n.extend && n.canExtend(in) {
		return n.processExtend(in, out)
	}
	bld := record.NewBuilder(n.schema, len(in.Rows))
	for i, row := range in.Rows {
		r := bld.Row(in.PosOf(i))
		copy(r, row[:n.width])
		if field, reason, good := n.eval(r); !good {
			bld.Unrow()
			if err := rejectRow(out, in, i, field, reason); err != nil {
				return err
			}
		}
	}
	return emitBuilt(out, bld, in.Bytes)
}

// canExtend reports whether every row of in owns room for the output row (record.Batch.RowCap).
func (n *expressionNode) canExtend(in *record.Batch) bool {
	w := len(n.schema.Fields)
	if in.RowCap < w {
		return false
	}
	for _, row := range in.Rows {
		if len(row) != n.width || cap(row) < w {
			return false
		}
	}
	return true
}

// processExtend appends the derived fields to the rows of in, in place. The input fields are
// not written, so a rejected row is sent to the error policy with its input values as they came.
func (n *expressionNode) processExtend(in *record.Batch, out Output) error {
	w := len(n.schema.Fields)
	var keep []bool
	for i, row := range in.Rows {
		r := row[:w]
		clear(r[n.width:]) // spare slots are the row's own; start them null
		field, reason, good := n.eval(r)
		if good {
			in.Rows[i] = r
			if keep != nil {
				keep[i] = true
			}
			continue
		}
		clear(r[n.width:])
		if keep == nil {
			keep = make([]bool, len(in.Rows))
			for j := range i {
				keep[j] = true
			}
		}
		if err := rejectRow(out, in, i, field, reason); err != nil {
			return err
		}
	}
	if keep != nil {
		compact(in, keep)
	}
	return emitInPlace(out, in, n.schema)
}

// eval computes the derived fields into r, in order.
func (n *expressionNode) eval(r record.Row) (field, reason string, ok bool) {
	for i := range n.derived {
		d := &n.derived[i]
		res, err := d.prog.Run(r)
		if err != nil {
			return d.name, err.Error(), false
		}
		v, err := expr.FromResult(res, d.kind)
		if err != nil {
			return d.name, err.Error(), false
		}
		r[d.pos] = v
	}
	return "", "", true
}

func (n *expressionNode) Flush(context.Context, Output) error { return nil }
