package transform

import (
	"context"
	"fmt"
	"sort"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
)

type mapConfig struct {
	Rename   map[string]string
	Select   []string
	Drop     []string
	Cast     map[string]string
	Defaults map[string]any
	Add      []addField
	// Expressions are computed first, over the input fields (see mapNode.pre).
	Expressions []exprField
}

type addField struct {
	Name  string
	Value any
	Type  string
}

var mapSpec = configspec.Describe(func(c *mapConfig, b *configspec.Builder) {
	b.StringMap(&c.Rename, "rename").
		Doc("Old name -> new name. Renamed fields keep their position. Every other option uses the new names.").
		Example(map[string]any{"cust_id": "customer_id"})
	b.Strings(&c.Select, "select").
		Doc("Keep only these fields, in this order (names after rename).")
	b.Strings(&c.Drop, "drop").
		Doc("Remove these fields (names after rename).")
	b.StringMap(&c.Cast, "cast").Enum(kindEnum()...).
		Doc("Field -> type. A value that does not convert rejects the row, naming the field and the reason.").
		Example(map[string]any{"amount": "decimal", "created": "timestamp"})
	b.AnyMap(&c.Defaults, "defaults").
		Doc("Field -> value used when the field is null (applied after cast, converted to the field's type).")
	configspec.List(b, &c.Add, "add", func(a *addField, b *configspec.Builder) {
		b.String(&a.Name, "name").Required().Doc("The new field's name.")
		b.Any(&a.Value, "value").Doc("The constant (null when absent).")
		b.String(&a.Type, "type").Enum(kindEnum()...).Doc("The field's type (default: the constant's own type).")
	}).Doc("Constant fields appended to every row.")
	configspec.List(b, &c.Expressions, "expressions", describeExprField).
		Doc("Fields computed first, from the input row, in order (a name that exists replaces that field); every other option then sees them like input fields.")
})

func mapDefinition() Definition {
	return Definition{
		Spec: Spec{Name: "map", Title: "Map fields",
			Description: "Rename, select, drop, cast fields, fill defaults for nulls and add constant fields.",
			Config:      mapSpec, MinInputs: 1, MaxInputs: 1},
		New: newMapNode,
	}
}

func newMapNode(raw map[string]any) (Node, error) {
	var c mapConfig
	if err := decodeConfig(mapSpec, raw, &c); err != nil {
		return nil, err
	}
	if err := checkExprFields("expressions", c.Expressions); err != nil {
		return nil, err
	}
	var e errs
	for i, a := range c.Add {
		if a.Name == "" {
			e.add(fmt.Sprintf("add[%d].name", i), "required")
		}
	}
	seen := map[string]bool{}
	for _, to := range c.Rename {
		if to == "" {
			e.add("rename", "a new name is empty")
		}
		if seen[to] {
			e.add("rename", "two fields renamed to %q", to)
		}
		seen[to] = true
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	n := &mapNode{cfg: c}
	if len(c.Expressions) > 0 {
		n.pre = &expressionNode{cfg: expressionConfig{Fields: c.Expressions}, path: "expressions"}
	}
	return n, nil
}

// mapOut says how one output field is made.
type mapOut struct {
	src  int         // input position, or -1 for a constant
	cast bool        // convert to kind
	kind record.Kind // output kind
	def  record.Value
	has  bool // def is set
}

type mapNode struct {
	cfg     mapConfig
	pre     *expressionNode // the expressions, computed before the rest of the map; nil without
	schema  *record.Schema
	outs    []mapOut
	inPlace bool // output positions equal input positions: rows are rewritten in place
	narrow  bool // the output is no wider than the input: rows are rebuilt in place via tmp
	tmp     record.Row
	keep    []bool
}

func (n *mapNode) Init(inputs []*record.Schema) (*record.Schema, error) {
	if err := singleInput("map", inputs); err != nil {
		return nil, err
	}
	in := inputs[0]
	if n.pre != nil {
		s, err := n.pre.Init(inputs)
		if err != nil {
			return nil, err
		}
		in = s
	}
	c := n.cfg
	var e errs
	names := in.Names()
	renamedFrom := map[string]string{} // old -> new, for hints
	for _, old := range sortedKeys(c.Rename) {
		i := in.Index(old)
		if i < 0 {
			e.add("rename."+old, "%s", unknownField(old, in))
			continue
		}
		names[i] = c.Rename[old]
		renamedFrom[old] = c.Rename[old]
	}
	pos := make(map[string]int, len(names))
	for i, nm := range names {
		if j, dup := pos[nm]; dup {
			e.add("rename", "field %q would appear twice (positions %d and %d)", nm, j+1, i+1)
		}
		pos[nm] = i
	}
	unknown := func(path, name string) {
		msg := fmt.Sprintf("unknown field %q", name)
		if to, ok := renamedFrom[name]; ok {
			msg += fmt.Sprintf(" (it is renamed to %q; use the new name)", to)
		}
		e.add(path, "%s", msg)
	}
	order := make([]int, 0, len(names))
	if len(c.Select) > 0 {
		picked := map[string]bool{}
		for i, nm := range c.Select {
			j, ok := pos[nm]
			if !ok {
				unknown(fmt.Sprintf("select[%d]", i), nm)
				continue
			}
			if picked[nm] {
				e.add(fmt.Sprintf("select[%d]", i), "field %q selected twice", nm)
				continue
			}
			picked[nm] = true
			order = append(order, j)
		}
	} else {
		for i := range names {
			order = append(order, i)
		}
	}
	dropped := map[int]bool{}
	for i, nm := range c.Drop {
		j, ok := pos[nm]
		if !ok {
			unknown(fmt.Sprintf("drop[%d]", i), nm)
			continue
		}
		dropped[j] = true
	}
	var fields []record.Field
	var outs []mapOut
	outPos := map[string]int{}
	for _, j := range order {
		if dropped[j] {
			continue
		}
		f := in.Fields[j]
		f.Name = names[j]
		outPos[f.Name] = len(fields)
		fields = append(fields, f)
		outs = append(outs, mapOut{src: j, kind: f.Kind})
	}
	for _, nm := range sortedKeys(c.Cast) {
		k, err := record.ParseKind(c.Cast[nm])
		if err != nil {
			e.add("cast."+nm, "%v", err)
			continue
		}
		j, ok := outPos[nm]
		if !ok {
			unknown("cast."+nm, nm)
			continue
		}
		if fields[j].Kind != k {
			outs[j].cast, outs[j].kind = true, k
			fields[j].Kind = k
			fields[j].Native, fields[j].Precision, fields[j].Scale = "", 0, 0
		}
	}
	for _, nm := range sortedKeys(c.Defaults) {
		j, ok := outPos[nm]
		if !ok {
			unknown("defaults."+nm, nm)
			continue
		}
		v, err := valueFromJSON(c.Defaults[nm], fields[j].Kind)
		if err != nil {
			e.add("defaults."+nm, "%v", err)
			continue
		}
		if !v.IsNull() {
			outs[j].def, outs[j].has = v, true
			fields[j].Nullable = false
		}
	}
	for i, a := range c.Add {
		path := fmt.Sprintf("add[%d]", i)
		if _, dup := outPos[a.Name]; dup {
			e.add(path+".name", "field %q already exists", a.Name)
			continue
		}
		k := record.KindNull
		if a.Type != "" {
			var err error
			if k, err = record.ParseKind(a.Type); err != nil {
				e.add(path+".type", "%v", err)
				continue
			}
		}
		v, err := valueFromJSON(a.Value, k)
		if err != nil {
			e.add(path+".value", "%v", err)
			continue
		}
		if k == record.KindNull {
			k = v.Kind()
		}
		outPos[a.Name] = len(fields)
		fields = append(fields, record.Field{Name: a.Name, Kind: k, Nullable: v.IsNull()})
		outs = append(outs, mapOut{src: -1, kind: k, def: v, has: true})
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	s, err := record.NewSchema(fields...)
	if err != nil {
		return nil, fmt.Errorf("map: %w", err)
	}
	n.schema, n.outs = s, outs
	n.inPlace = len(outs) == len(in.Fields)
	for j, o := range outs {
		if o.src != j {
			n.inPlace = false
		}
	}
	n.narrow = !n.inPlace && len(outs) <= len(in.Fields)
	n.tmp = make(record.Row, len(in.Fields))
	return s, nil
}

func (n *mapNode) Process(ctx context.Context, input int, in *record.Batch, out Output) error {
	if n.pre != nil {
		return n.pre.Process(ctx, input, in, mapStage{Output: out, n: n})
	}
	return n.process(in, out)
}

// mapStage receives the batches the expressions emit and maps them on to the real output.
type mapStage struct {
	Output
	n *mapNode
}

func (s mapStage) Emit(b *record.Batch) error { return s.n.process(b, s.Output) }

func (n *mapNode) process(in *record.Batch, out Output) error {
	if n.inPlace || n.narrow {
		return n.processInPlace(in, out)
	}
	bld := record.NewBuilder(n.schema, len(in.Rows))
	for i, row := range in.Rows {
		r := bld.Row(in.PosOf(i))
		if field, reason, ok := n.fill(r, row); !ok {
			bld.Unrow()
			if err := rejectRow(out, in, i, field, reason); err != nil {
				return err
			}
		}
	}
	return emitBuilt(out, bld, in.Bytes)
}

func (n *mapNode) processInPlace(in *record.Batch, out Output) error {
	if cap(n.keep) < len(in.Rows) {
		n.keep = make([]bool, len(in.Rows))
	}
	keep := n.keep[:len(in.Rows)]
	dropped := false
	w := len(n.outs)
	for i, row := range in.Rows {
		src := row
		if n.narrow {
			copy(n.tmp, row)
			src = n.tmp
		}
		field, reason, ok := n.fill(row, src)
		if ok && n.narrow {
			clear(row[w:])
			// The row keeps the slots it owns (see record.Batch.RowCap), so that a node downstream
			// can append fields in place; without that promise its capacity ends at its length.
			c := w
			if in.RowCap > w {
				c = min(in.RowCap, cap(row))
			}
			in.Rows[i] = row[:w:c]
		}
		keep[i] = ok
		if !ok {
			dropped = true
			if n.narrow {
				copy(row, n.tmp) // restore the input for the dead letter
			}
			if err := rejectRow(out, in, i, field, reason); err != nil {
				return err
			}
		}
	}
	if dropped {
		compact(in, keep)
	}
	return emitInPlace(out, in, n.schema)
}

// fill writes the output row r from the input row (r and row are the same slice when the node
// works in place: each output position then reads only its own input position; when it narrows
// rows, row is a copy of the input).
func (n *mapNode) fill(r, row record.Row) (field, reason string, ok bool) {
	for j := range n.outs {
		o := &n.outs[j]
		if o.src < 0 {
			r[j] = o.def
			continue
		}
		v := row[o.src]
		if o.cast && !v.IsNull() {
			c, err := record.Cast(v, o.kind)
			if err != nil {
				return n.schema.Fields[j].Name, err.Error(), false
			}
			v = c
		}
		if o.has && v.IsNull() {
			v = o.def
		}
		r[j] = v
	}
	return "", "", true
}

func (n *mapNode) Flush(context.Context, Output) error { return nil }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
