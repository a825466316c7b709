package transform

import (
	"context"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/transform/expr"
)

type filterConfig struct {
	Expression string
}

var filterSpec = configspec.Describe(func(c *filterConfig, b *configspec.Builder) {
	b.String(&c.Expression, "expression").Required().Min(1).
		Doc("A boolean expression; rows for which it is true are kept. Null or false drops the row (counted as filtered); an evaluation error rejects it.").
		Example("is_active && amount > 100", `country in ["FR", "DE"]`)
})

func filterDefinition() Definition {
	return Definition{
		Spec: Spec{Name: "filter", Title: "Filter rows",
			Description: "Keep the rows for which a boolean expression holds.",
			Config:      filterSpec, MinInputs: 1, MaxInputs: 1},
		New: newFilterNode,
	}
}

func newFilterNode(raw map[string]any) (Node, error) {
	var c filterConfig
	if err := decodeConfig(filterSpec, raw, &c); err != nil {
		return nil, err
	}
	if err := expr.CheckSyntax(c.Expression); err != nil {
		return nil, configspec.Errors{{Path: "expression", Message: err.Error()}}
	}
	return &filterNode{cfg: c}, nil
}

type filterNode struct {
	cfg    filterConfig
	schema *record.Schema
	prog   *expr.Program
	keep   []bool
}

func (n *filterNode) Init(inputs []*record.Schema) (*record.Schema, error) {
	if err := singleInput("filter", inputs); err != nil {
		return nil, err
	}
	p, err := expr.Compile(n.cfg.Expression, inputs[0])
	if err != nil {
		return nil, configspec.Errors{{Path: "expression", Message: err.Error()}}
	}
	if kind, known := p.Kind(); known && kind != record.KindBool {
		return nil, configspec.Errors{{Path: "expression", Message: fmt.Sprintf("must be a boolean, but it is %s", kind)}}
	}
	n.schema, n.prog = inputs[0], p
	return inputs[0], nil
}

func (n *filterNode) Process(_ context.Context, _ int, in *record.Batch, out Output) error {
	if cap(n.keep) < len(in.Rows) {
		n.keep = make([]bool, len(in.Rows))
	}
	keep := n.keep[:len(in.Rows)]
	var filtered int64
	for i, row := range in.Rows {
		res, err := n.prog.Run(row)
		keep[i] = false
		if err != nil {
			if err := rejectRow(out, in, i, "", "filter: "+err.Error()); err != nil {
				return err
			}
			continue
		}
		switch t := res.(type) {
		case bool:
			keep[i] = t
			if !t {
				filtered++
			}
		case nil:
			filtered++
		default:
			if err := rejectRow(out, in, i, "", fmt.Sprintf("filter: the expression gave %s, not a boolean", expr.TypeName(res))); err != nil {
				return err
			}
		}
	}
	if filtered > 0 {
		out.Count(Filtered, filtered)
	}
	compact(in, keep)
	return emitInPlace(out, in, n.schema)
}

func (n *filterNode) Flush(context.Context, Output) error { return nil }
