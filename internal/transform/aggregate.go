package transform

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
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

// avgExtraScale is how many fractional digits an average of decimals has beyond its inputs'.
const avgExtraScale = 6

var aggregateSpec = configspec.Describe(func(c *aggregateConfig, b *configspec.Builder) {
	b.Strings(&c.GroupBy, "group_by").
		Doc("Fields whose values form a group (nulls form a group of their own). Empty: one group for the whole input.")
	describeAggregates(b, &c.Aggregates, "Output fields computed per group.")
	b.Int64(&c.MaxGroups, "max_groups").Min(0).
		Doc("Fail the run when there are more groups than this (0: no limit). Groups are held within the run's memory budget and spilled to disk beyond it; with a spilled state the count is checked when the input ends.")
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
	key   record.Row
	accs  []accum
	first int64 // sequence number of the group's first row
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
	inWidth  int
	mem      int64
	perGroup int64 // groupMem
	seq      int64
	// spilled: the groups and every later row go into sorted by (group key, seq)
	spill  *SpillArea
	sorted *sorter
	ebuf   []byte
	vbuf   []byte
}

// SetSpill gives the node its memory budget.
func (n *aggregateNode) SetSpill(a *SpillArea) { n.spill = a }

// CloseSpill removes the spill files of a run that ended without Flush.
func (n *aggregateNode) CloseSpill() {
	if n.sorted != nil {
		n.sorted.close()
		n.sorted = nil
	}
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
	n.schema, n.groupIdx, n.ops, n.inWidth = s, gi, ops, len(in.Fields)
	n.byKey = map[string]int32{}
	n.arena = rowArena{width: len(gi)}
	n.keyRow = make(record.Row, len(gi))
	n.perGroup = n.groupMem()
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

// aggGroupMem is what a held group costs beside its key and accumulators (map entry, slices).
const aggGroupMem = 96

// accumMem is what one accumulator costs; ratMem is what the exact sum of a decimal sum or avg
// (a big.Rat and its digits) adds: with it the estimate stays above the live heap measured with
// 100,000 and 200,000 groups of bench/spillgen's rows and count, max and a decimal sum (about 530
// bytes a group, where the estimate without it said 388).
const (
	accumMem = 80
	ratMem   = 176
)

// groupMem is what a held group costs beside its key bytes and values.
func (n *aggregateNode) groupMem() int64 {
	m := aggGroupMem + accumMem*int64(len(n.ops))
	for _, op := range n.ops {
		if op.in == record.KindDecimal && (op.fn == "sum" || op.fn == "avg") {
			m += ratMem
		}
	}
	return m
}

func (n *aggregateNode) tooMany() error {
	return fmt.Errorf("aggregate: more than max_groups (%d) groups of %v; raise max_groups or set it to 0 (no limit)", n.cfg.MaxGroups, n.cfg.GroupBy)
}

func (n *aggregateNode) Process(_ context.Context, _ int, in *record.Batch, _ Output) error {
	for i, row := range in.Rows {
		seq := n.seq
		n.seq++
		n.kbuf = appendKey(n.kbuf[:0], row, n.groupIdx)
		if n.sorted != nil {
			n.ebuf = sortKey(n.ebuf[:0], n.kbuf, seq)
			n.vbuf = appendRow(binary.AppendVarint(append(n.vbuf[:0], aggEntryRow), in.PosOf(i)), row)
			if err := n.sorted.add(n.ebuf, n.vbuf); err != nil {
				return fmt.Errorf("aggregate: %w", err)
			}
			continue
		}
		gi, ok := n.byKey[string(n.kbuf)]
		if !ok {
			if n.cfg.MaxGroups > 0 && int64(len(n.groups)) >= n.cfg.MaxGroups {
				return n.tooMany()
			}
			for k, j := range n.groupIdx {
				n.keyRow[k] = row[j]
			}
			gi = int32(len(n.groups))
			n.byKey[string(n.kbuf)] = gi
			n.groups = append(n.groups, group{key: n.arena.clone(n.keyRow), accs: make([]accum, len(n.ops)), first: seq})
			n.mem += n.perGroup + 2*int64(len(n.kbuf)) + rowMem(n.keyRow)
		}
		g := &n.groups[gi]
		for k := range n.ops {
			if err := n.ops[k].add(&g.accs[k], row); err != nil {
				return fmt.Errorf("aggregate: row %d: %w", in.PosOf(i), err)
			}
		}
		if n.mem > n.spill.budget()/2 || len(n.groups) == math.MaxInt32 {
			if err := n.startSpill(); err != nil {
				return err
			}
		}
	}
	if n.sorted != nil {
		n.spill.setState(n.sorted.memBytes())
	} else {
		n.spill.setState(n.mem)
	}
	return nil
}

// Entries of a spilled aggregate: a group's state when the node spilled (under the sequence number
// of its first row), or a row that came after.
const (
	aggEntryState byte = 0
	aggEntryRow   byte = 1
)

// startSpill moves the groups into a sorter; the rows that follow are folded into them when the
// input ends, in the order they came, so the results are those of an all-in-memory run.
func (n *aggregateNode) startSpill() error {
	if n.spill == nil || n.spill.Dir == "" {
		return fmt.Errorf("aggregate: more than %d groups held in memory and no spill directory", len(n.groups))
	}
	n.sorted = newSorter(n.spill, n.spill.budget()/2)
	for k, gi := range n.byKey {
		g := &n.groups[gi]
		n.ebuf = sortKey(n.ebuf[:0], []byte(k), g.first)
		n.vbuf = appendRow(append(n.vbuf[:0], aggEntryState), g.key)
		for a := range g.accs {
			n.vbuf = appendAccum(n.vbuf, &g.accs[a])
		}
		if err := n.sorted.add(n.ebuf, n.vbuf); err != nil {
			return fmt.Errorf("aggregate: %w", err)
		}
	}
	n.byKey, n.groups, n.mem = nil, nil, 0
	n.arena = rowArena{width: len(n.groupIdx)}
	n.sorted.budget = n.spill.budget()
	return nil
}

func appendAccum(dst []byte, a *accum) []byte {
	dst = binary.AppendVarint(dst, a.n)
	dst = binary.AppendVarint(dst, a.i)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(a.f))
	var r string
	if a.r != nil {
		r = a.r.RatString()
	}
	dst = binary.AppendUvarint(dst, uint64(len(r)))
	dst = append(dst, r...)
	dst = binary.AppendVarint(dst, int64(a.scale))
	return appendValue(dst, a.v)
}

func readAccum(src []byte, a *accum) ([]byte, error) {
	var w int
	if a.n, w = binary.Varint(src); w <= 0 {
		return nil, errBadSpill
	}
	src = src[w:]
	if a.i, w = binary.Varint(src); w <= 0 {
		return nil, errBadSpill
	}
	src = src[w:]
	if len(src) < 8 {
		return nil, errBadSpill
	}
	a.f = math.Float64frombits(binary.LittleEndian.Uint64(src))
	src = src[8:]
	rl, w := binary.Uvarint(src)
	if w <= 0 || uint64(len(src)-w) < rl {
		return nil, errBadSpill
	}
	a.r = nil
	if rl > 0 {
		r, ok := new(big.Rat).SetString(string(src[w : w+int(rl)]))
		if !ok {
			return nil, errBadSpill
		}
		a.r = r
	}
	src = src[w+int(rl):]
	sc, w := binary.Varint(src)
	if w <= 0 {
		return nil, errBadSpill
	}
	a.scale = int(sc)
	v, rest, err := readValue(src[w:])
	a.v = v
	return rest, err
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
	if n.sorted != nil {
		defer n.CloseSpill()
		if err := n.flushSpilled(out); err != nil {
			return fmt.Errorf("aggregate: %w", err)
		}
		return nil
	}
	if len(n.groupIdx) == 0 && len(n.groups) == 0 {
		n.groups = append(n.groups, group{accs: make([]accum, len(n.ops))})
	}
	const size = 1024
	bld := record.NewBuilder(n.schema, size)
	for gi := range n.groups {
		if err := n.result(&n.groups[gi], bld.Row(0)); err != nil {
			return err
		}
		if bld.Full() {
			if err := emitBuilt(out, bld, 0); err != nil {
				return err
			}
		}
	}
	n.groups, n.byKey = nil, nil
	n.spill.setState(0)
	return emitBuilt(out, bld, 0)
}

// result fills r with g's key and aggregates.
func (n *aggregateNode) result(g *group, r record.Row) error {
	w := len(n.groupIdx)
	copy(r, g.key)
	for k := range n.ops {
		v, err := n.ops[k].result(&g.accs[k])
		if err != nil {
			return fmt.Errorf("aggregate: %s: %w", n.ops[k].name, err)
		}
		r[w+k] = v
	}
	return nil
}

// flushSpilled merges the sorted entries group by group: a group starts from its state at the
// spill (or from its first row) and folds its later rows in the order they came. The results go
// into a second sorter by the sequence number of each group's first row, and are emitted in it.
func (n *aggregateNode) flushSpilled(out Output) error {
	it, err := n.sorted.finish(true)
	if err != nil {
		return err
	}
	order := newSorter(n.spill, n.spill.budget())
	defer order.close()
	var cur []byte
	var groups int64
	g := group{key: make(record.Row, len(n.groupIdx)), accs: make([]accum, len(n.ops))}
	row := make(record.Row, len(n.schema.Fields))
	in := make(record.Row, n.inWidth)
	have := false
	put := func() error {
		groups++
		if n.cfg.MaxGroups > 0 && groups > n.cfg.MaxGroups {
			return n.tooMany()
		}
		if err := n.result(&g, row); err != nil {
			return err
		}
		n.ebuf = seqKey(n.ebuf[:0], g.first)
		n.vbuf = appendRow(binary.AppendVarint(n.vbuf[:0], 0), row)
		return order.add(n.ebuf, n.vbuf)
	}
	for {
		k, v, ok, err := it.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		gk, seq := splitSortKey(k)
		if len(v) == 0 {
			return errBadSpill
		}
		if !have || !bytes.Equal(gk, cur) {
			if have {
				if err := put(); err != nil {
					return err
				}
			}
			cur, have = append(cur[:0], gk...), true
			g.first = seq
			clear(g.accs)
			if v[0] == aggEntryState {
				rest, err := readRow(v[1:], g.key)
				for a := range g.accs {
					if err != nil {
						break
					}
					rest, err = readAccum(rest, &g.accs[a])
				}
				if err != nil {
					return err
				}
				continue
			}
		}
		if v[0] != aggEntryRow {
			return errBadSpill
		}
		pos, w := binary.Varint(v[1:])
		if w <= 0 {
			return errBadSpill
		}
		if _, err := readRow(v[1+w:], in); err != nil {
			return err
		}
		if g.first == seq {
			for k, j := range n.groupIdx {
				g.key[k] = in[j]
			}
		}
		for k := range n.ops {
			if err := n.ops[k].add(&g.accs[k], in); err != nil {
				return fmt.Errorf("row %d: %w", pos, err)
			}
		}
	}
	if have {
		if err := put(); err != nil {
			return err
		}
	}
	n.sorted.close()
	n.spill.setState(order.memBytes())
	rows, err := order.finish(false)
	if err != nil {
		return err
	}
	err = emitSpilled(rows, n.schema, out)
	n.spill.setState(0)
	return err
}
