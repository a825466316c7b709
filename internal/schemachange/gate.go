package schemachange

import (
	"fmt"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Gate applies a quarantine decision to the batches a destination receives: it leaves out the
// columns the destination lacks, casts the values of changed columns to the kind the destination
// column holds, and takes out each row that carries a value of a new column or a value its column
// cannot hold, with the change named.
type Gate struct {
	fold   func(string) string
	target map[string]connector.TargetColumn
	change map[string]Change // by folded column: the change quarantined
	skip   map[string]bool
	// the last schema seen and what it maps to
	in   *record.Schema
	out  *record.Schema
	keep []int // for each output field, its index in the input
	kind []record.Kind
	drop []int // input fields left out
}

// NewGate makes the gate of a decision (its quarantined changes) for a table.
func NewGate(d Decision, target connector.Target, fold func(string) string) *Gate {
	if fold == nil {
		fold = func(s string) string { return s }
	}
	g := &Gate{fold: fold, target: map[string]connector.TargetColumn{}, change: map[string]Change{}, skip: map[string]bool{}}
	for _, n := range target.Skip {
		g.skip[fold(n)] = true
	}
	for _, c := range target.Columns {
		g.target[fold(c.Name)] = c
	}
	for _, c := range d.Of(Quarantined) {
		g.change[fold(c.Column)] = c
	}
	return g
}

// Schema is the schema the destination is written with for input schema s.
func (g *Gate) Schema(s *record.Schema) *record.Schema {
	g.plan(s)
	return g.out
}

func (g *Gate) plan(s *record.Schema) {
	if g.in == s {
		return
	}
	g.in, g.keep, g.kind, g.drop = s, nil, nil, nil
	var fs []record.Field
	for i, f := range s.Fields {
		c, ok := g.target[g.fold(f.Name)]
		if !ok && !g.skip[g.fold(f.Name)] {
			if len(g.target) > 0 {
				g.drop = append(g.drop, i)
				continue
			}
		}
		k := f.Kind
		if _, changed := g.change[g.fold(f.Name)]; changed && ok {
			k = c.Kind
			f.Kind, f.Native, f.Precision, f.Scale = c.Kind, c.Native, 0, 0
		}
		fs = append(fs, f)
		g.keep = append(g.keep, i)
		g.kind = append(g.kind, k)
	}
	out, err := record.NewSchema(fs...)
	if err != nil { // cannot happen: a subset of a valid schema
		out = s
	}
	g.out = out
}

// Filter returns the batch to write and the rows taken out (Index: the row in b).
func (g *Gate) Filter(b *record.Batch) (*record.Batch, []connector.RowProblem) {
	g.plan(b.Schema)
	out := &record.Batch{Schema: g.out, Rows: make([]record.Row, 0, len(b.Rows)), Bytes: b.Bytes, Rejects: b.Rejects}
	withPos := len(b.Pos) == len(b.Rows)
	var bad []connector.RowProblem
	vals := make([]record.Value, 0, len(b.Rows)*len(g.keep))
rows:
	for i, row := range b.Rows {
		for _, j := range g.drop {
			if j < len(row) && !row[j].IsNull() {
				f := b.Schema.Fields[j]
				bad = append(bad, connector.RowProblem{Index: i, Field: f.Name, Reason: g.reason(f.Name,
					"the destination has no such column and schema_changes is quarantine")})
				continue rows
			}
		}
		start := len(vals)
		for n, j := range g.keep {
			v := record.Null
			if j < len(row) {
				v = row[j]
			}
			if k := g.kind[n]; !v.IsNull() && v.Kind() != k {
				cv, err := cast(v, k)
				if err != nil {
					vals = vals[:start]
					f := b.Schema.Fields[j]
					bad = append(bad, connector.RowProblem{Index: i, Field: f.Name, Reason: g.reason(f.Name,
						fmt.Sprintf("the value does not fit the destination column (%s): %v", g.target[g.fold(f.Name)].Native, err))})
					continue rows
				}
				v = cv
			}
			vals = append(vals, v)
		}
		out.Rows = append(out.Rows, vals[start:len(vals):len(vals)])
		if withPos {
			out.Pos = append(out.Pos, b.Pos[i])
		}
	}
	return out, bad
}

func (g *Gate) reason(col, why string) string {
	if c, ok := g.change[g.fold(col)]; ok {
		return "schema change quarantined: " + c.String() + ": " + why
	}
	return "schema change quarantined: column " + fmt.Sprintf("%q", col) + ": " + why
}

func cast(v record.Value, k record.Kind) (record.Value, error) {
	if v.Kind() == record.KindString && k == record.KindJSON {
		return record.ParseJSON([]byte(v.Str()))
	}
	return record.Cast(v, k)
}
