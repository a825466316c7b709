package transform

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
)

type aggregateConfig struct {
	GroupBy    []string
	Aggregates []aggItem
	MaxGroups  int64
}

type aggItem struct {
	Name     string
	Function string
	Field    string
}

const defaultMaxGroups = 1_000_000

// avgExtraScale is how many fractional digits an average of decimals has beyond its inputs'.
const avgExtraScale = 6

var aggregateSpec = configspec.Describe(func(c *aggregateConfig, b *configspec.Builder) {
	b.Strings(&c.GroupBy, "group_by").
		Doc("Fields whose values form a group (nulls form a group of their own). Empty: one group for the whole input.")
	describeAggregates(b, &c.Aggregates, "Output fields computed per group.")
	b.Int64(&c.MaxGroups, "max_groups").Min(1).Default(defaultMaxGroups).
		Doc("Fail the run when there are more groups than this (groups are held in memory until the input ends).")
})

// describeAggregates declares the aggregates list the aggregate and window nodes share.
func describeAggregates(b *configspec.Builder, p *[]aggItem, doc string) {
	configspec.List(b, p, "aggregates", func(a *aggItem, b *configspec.Builder) {
		b.String(&a.Name, "name").Required().Min(1).Doc("The output field.")
		b.String(&a.Function, "function").Required().Enum("count", "sum", "min", "max", "avg").
			Doc("count (rows, or non-null values of field), sum, min, max, avg; nulls are ignored.")
		b.String(&a.Field, "field").Doc("The input field (optional for count).")
	}).Required().Min(1).Doc(doc)
}

// checkAggregates reports aggregates that need a field and have none.
func checkAggregates(items []aggItem, e *errs) {
	for i, a := range items {
		if a.Field == "" && a.Function != "count" {
			e.add(fmt.Sprintf("aggregates[%d].field", i), "required for %s", a.Function)
		}
	}
}

func aggregateDefinition() Definition {
	return Definition{
		Spec: Spec{Name: "aggregate", Title: "Aggregate",
			Description: "Group rows and compute count, sum, min, max and avg per group; emitted when the input ends.",
			Config:      aggregateSpec, MinInputs: 1, MaxInputs: 1},
		New: newAggregateNode,
	}
}

func newAggregateNode(raw map[string]any) (Node, error) {
	var c aggregateConfig
	if err := decodeConfig(aggregateSpec, raw, &c); err != nil {
		return nil, err
	}
	var e errs
	checkAggregates(c.Aggregates, &e)
	if err := e.err(); err != nil {
		return nil, err
	}
	return &aggregateNode{cfg: c}, nil
}

type aggOp struct {
	fn    string
	src   int // input position; -1 for count(*)
	in    record.Kind
	out   record.Kind
	name  string
	field string
}

// accum is one aggregate's running state in one group.
type accum struct {
	n     int64 // non-null values seen (rows for count(*))
	i     int64
	f     float64
	r     *big.Rat
	scale int
	v     record.Value
}

type group struct {
	key  record.Row
	accs []accum
}

type aggregateNode struct {
	cfg      aggregateConfig
	schema   *record.Schema
	groupIdx []int
	ops      []aggOp
	byKey    map[string]int32
	groups   []group
	arena    rowArena
	kbuf     []byte
	keyRow   record.Row
}

// Stateful: groups accumulate over the whole run.
func (n *aggregateNode) Stateful() bool { return true }

func (n *aggregateNode) Init(inputs []*record.Schema) (*record.Schema, error) {
	if err := singleInput("aggregate", inputs); err != nil {
		return nil, err
	}
	in := inputs[0]
	var e errs
	gi, bad := indexes(in, n.cfg.GroupBy)
	if bad != "" {
		e.add("group_by", "%s", unknownField(bad, in))
	}
	var fields []record.Field
	for _, j := range gi {
		fields = append(fields, in.Fields[j])
	}
	names := map[string]bool{}
	for _, f := range fields {
		names[f.Name] = true
	}
	ops, aggFields := buildAggOps(in, n.cfg.Aggregates, names, &e)
	fields = append(fields, aggFields...)
	if err := e.err(); err != nil {
		return nil, err
	}
	s, err := record.NewSchema(fields...)
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	n.schema, n.groupIdx, n.ops = s, gi, ops
	n.byKey = map[string]int32{}
	n.arena = rowArena{width: len(gi)}
	n.keyRow = make(record.Row, len(gi))
	return s, nil
}

// buildAggOps resolves aggregates against the input schema; names holds the output names taken so
// far (and receives the new ones). It returns the ops and their output fields.
func buildAggOps(in *record.Schema, items []aggItem, names map[string]bool, e *errs) ([]aggOp, []record.Field) {
	var fields []record.Field
	var ops []aggOp
	for i, a := range items {
		path := fmt.Sprintf("aggregates[%d]", i)
		if names[a.Name] {
			e.add(path+".name", "field %q already exists in the output", a.Name)
			continue
		}
		names[a.Name] = true
		op := aggOp{fn: a.Function, src: -1, name: a.Name, field: a.Field}
		if a.Field != "" {
			op.src = in.Index(a.Field)
			if op.src < 0 {
				e.add(path+".field", "%s", unknownField(a.Field, in))
				continue
			}
			op.in = in.Fields[op.src].Kind
		}
		numeric := op.in == record.KindInt || op.in == record.KindFloat || op.in == record.KindDecimal
		switch a.Function {
		case "count":
			op.out = record.KindInt
		case "sum":
			if !numeric {
				e.add(path+".field", "sum needs a number, but %q is %s; cast it with a map node first", a.Field, op.in)
				continue
			}
			op.out = op.in
		case "avg":
			if !numeric {
				e.add(path+".field", "avg needs a number, but %q is %s; cast it with a map node first", a.Field, op.in)
				continue
			}
			op.out = record.KindFloat
			if op.in == record.KindDecimal {
				op.out = record.KindDecimal
			}
		case "min", "max":
			op.out = op.in
		}
		ops = append(ops, op)
		fields = append(fields, record.Field{Name: a.Name, Kind: op.out, Nullable: a.Function != "count"})
	}
	return ops, fields
}

func (n *aggregateNode) Process(_ context.Context, _ int, in *record.Batch, _ Output) error {
	for i, row := range in.Rows {
		n.kbuf = appendKey(n.kbuf[:0], row, n.groupIdx)
		gi, ok := n.byKey[string(n.kbuf)]
		if !ok {
			if int64(len(n.groups)) >= n.cfg.MaxGroups {
				return fmt.Errorf("aggregate: more than max_groups (%d) groups of %v; raise max_groups", n.cfg.MaxGroups, n.cfg.GroupBy)
			}
			for k, j := range n.groupIdx {
				n.keyRow[k] = row[j]
			}
			gi = int32(len(n.groups))
			n.byKey[string(n.kbuf)] = gi
			n.groups = append(n.groups, group{key: n.arena.clone(n.keyRow), accs: make([]accum, len(n.ops))})
		}
		g := &n.groups[gi]
		for k := range n.ops {
			if err := n.ops[k].add(&g.accs[k], row); err != nil {
				return fmt.Errorf("aggregate: row %d: %w", in.PosOf(i), err)
			}
		}
	}
	return nil
}

// add folds row into a.
func (op *aggOp) add(a *accum, row record.Row) error {
	if op.src < 0 {
		a.n++
		return nil
	}
	v := row[op.src]
	if v.IsNull() {
		return nil
	}
	a.n++
	switch op.fn {
	case "sum", "avg":
		switch op.in {
		case record.KindInt:
			x := v.AsInt()
			s := a.i + x
			if (x > 0 && s < a.i) || (x < 0 && s > a.i) {
				if op.fn == "sum" {
					return fmt.Errorf("the sum of %q overflows the int range; cast it to decimal first", op.field)
				}
				// avg keeps going exactly in a rational.
				if a.r == nil {
					a.r = new(big.Rat).SetInt64(a.i)
				}
				a.r.Add(a.r, new(big.Rat).SetInt64(x))
				a.i = 0
				return nil
			}
			a.i = s
		case record.KindFloat:
			a.f += v.AsFloat()
		case record.KindDecimal:
			r, ok := new(big.Rat).SetString(v.Str())
			if !ok {
				return fmt.Errorf("field %q: invalid decimal %q", op.field, v.Str())
			}
			if a.r == nil {
				a.r = new(big.Rat)
			}
			a.r.Add(a.r, r)
			if _, frac, ok := strings.Cut(v.Str(), "."); ok && len(frac) > a.scale {
				a.scale = len(frac)
			}
		}
	case "min":
		if a.n == 1 || record.Compare(v, a.v) < 0 {
			a.v = cloneValue(v)
		}
	case "max":
		if a.n == 1 || record.Compare(v, a.v) > 0 {
			a.v = cloneValue(v)
		}
	}
	return nil
}

// result is the aggregate of what a holds.
func (op *aggOp) result(a *accum) (record.Value, error) {
	if op.fn == "count" {
		return record.Int(a.n), nil
	}
	if a.n == 0 {
		return record.Null, nil
	}
	switch op.fn {
	case "min", "max":
		return a.v, nil
	case "sum":
		switch op.in {
		case record.KindInt:
			return record.Int(a.i), nil
		case record.KindFloat:
			return record.Float(a.f), nil
		default:
			return record.Decimal(a.r.FloatString(a.scale))
		}
	}
	// avg
	switch op.in {
	case record.KindInt:
		if a.r != nil {
			total := new(big.Rat).Add(a.r, new(big.Rat).SetInt64(a.i))
			f, _ := total.Quo(total, new(big.Rat).SetInt64(a.n)).Float64()
			return record.Float(f), nil
		}
		return record.Float(float64(a.i) / float64(a.n)), nil
	case record.KindFloat:
		return record.Float(a.f / float64(a.n)), nil
	}
	q := new(big.Rat).Quo(a.r, new(big.Rat).SetInt64(a.n))
	return record.Decimal(q.FloatString(a.scale + avgExtraScale))
}

// Flush emits one row per group, in the order the groups first appeared. With no group_by and no
// input rows, it emits one row (count 0, other aggregates null), as SQL does.
func (n *aggregateNode) Flush(_ context.Context, out Output) error {
	if len(n.groupIdx) == 0 && len(n.groups) == 0 {
		n.groups = append(n.groups, group{accs: make([]accum, len(n.ops))})
	}
	const size = 1024
	bld := record.NewBuilder(n.schema, size)
	w := len(n.groupIdx)
	for gi := range n.groups {
		g := &n.groups[gi]
		r := bld.Row(0)
		copy(r, g.key)
		for k := range n.ops {
			v, err := n.ops[k].result(&g.accs[k])
			if err != nil {
				return fmt.Errorf("aggregate: %s: %w", n.ops[k].name, err)
			}
			r[w+k] = v
		}
		if bld.Full() {
			if err := emitBuilt(out, bld, 0); err != nil {
				return err
			}
		}
	}
	n.groups, n.byKey = nil, nil
	return emitBuilt(out, bld, 0)
}
