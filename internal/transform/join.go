package transform

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
)

type joinConfig struct {
	On       []string
	LookupOn []string
	Type     string
	Fields   []string
	Prefix   string
	MaxRows  int64
}

var joinSpec = configspec.Describe(func(c *joinConfig, b *configspec.Builder) {
	b.Strings(&c.On, "on").Required().Min(1).
		Doc("Key fields of the stream (input 0).")
	b.Strings(&c.LookupOn, "lookup_on").
		Doc("Key fields of the lookup table (input 1), in the same order as on (default: the same names).")
	b.String(&c.Type, "type").Default("left").Enum("inner", "left").
		Doc("inner drops stream rows without a match; left keeps them with null lookup fields.")
	b.Strings(&c.Fields, "fields").
		Doc("Lookup fields to add (default: every lookup field except its keys).")
	b.String(&c.Prefix, "prefix").
		Doc("Prefix for the added fields' names (needed when a name exists in the stream).")
	b.Int64(&c.MaxRows, "max_rows").Min(0).
		Doc("Fail the run when the lookup table has more rows than this (0: no limit). The table is held within the run's memory budget and spilled to a sorted, indexed file beyond it.")
})

func joinDefinition() Definition {
	return Definition{
		Spec: Spec{Name: "join", Title: "Lookup join",
			Description: "Enrich the stream (input 0) with the fields of matching rows of a lookup table (input 1), held in memory within the run's budget and on disk beyond it.",
			Config:      joinSpec, MinInputs: 2, MaxInputs: 2},
		New: newJoinNode,
	}
}

func newJoinNode(raw map[string]any) (Node, error) {
	var c joinConfig
	if err := decodeConfig(joinSpec, raw, &c); err != nil {
		return nil, err
	}
	if len(c.LookupOn) == 0 {
		c.LookupOn = c.On
	}
	if len(c.LookupOn) != len(c.On) {
		return nil, configspec.Errors{{Path: "lookup_on", Message: fmt.Sprintf("has %d fields but on has %d", len(c.LookupOn), len(c.On))}}
	}
	return &joinNode{cfg: c}, nil
}

type joinNode struct {
	cfg       joinConfig
	schema    *record.Schema
	leftIdx   []int
	rightIdx  []int
	addIdx    []int // lookup positions of the added fields
	leftWidth int
	table     map[string][]record.Row // key -> projected lookup rows (the added fields only)
	rows      int64
	arena     rowArena
	proj      record.Row
	kbuf      []byte
	mem       int64
	// spilled: the lookup rows go into sorted, then into disk, a file sorted by key
	spill   *SpillArea
	sorted  *sorter
	disk    *lookupFile
	ebuf    []byte
	vbuf    []byte
	matches []record.Row
}

// SetSpill gives the lookup table its memory budget.
func (n *joinNode) SetSpill(a *SpillArea) { n.spill = a }

// CloseSpill removes the spill files.
func (n *joinNode) CloseSpill() {
	if n.sorted != nil {
		n.sorted.close()
		n.sorted = nil
	}
	if n.disk != nil {
		n.disk.f.remove()
		n.disk = nil
	}
}

// LookupInputs: input 1, the lookup table, is read to the end before the stream is fed.
func (n *joinNode) LookupInputs() []int { return []int{1} }

func (n *joinNode) Init(inputs []*record.Schema) (*record.Schema, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("join takes two inputs (the stream, then the lookup table), got %d", len(inputs))
	}
	left, right := inputs[0], inputs[1]
	var e errs
	li, bad := indexes(left, n.cfg.On)
	if bad != "" {
		e.add("on", "%s", unknownField(bad, left))
	}
	ri, bad := indexes(right, n.cfg.LookupOn)
	if bad != "" {
		e.add("lookup_on", "lookup table: %s", unknownField(bad, right))
	}
	add := n.cfg.Fields
	if len(add) == 0 {
		keys := map[string]bool{}
		for _, k := range n.cfg.LookupOn {
			keys[k] = true
		}
		for _, f := range right.Fields {
			if !keys[f.Name] {
				add = append(add, f.Name)
			}
		}
	}
	ai, bad := indexes(right, add)
	if bad != "" {
		e.add("fields", "lookup table: %s", unknownField(bad, right))
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	fields := append([]record.Field(nil), left.Fields...)
	for _, j := range ai {
		f := right.Fields[j]
		f.Name = n.cfg.Prefix + f.Name
		if left.Index(f.Name) >= 0 {
			e.add("fields", "field %q exists in the stream; set prefix (e.g. \"lookup_\") or list fields", f.Name)
			continue
		}
		if n.cfg.Type == "left" {
			f.Nullable = true
		}
		fields = append(fields, f)
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	s, err := record.NewSchema(fields...)
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	n.schema, n.leftIdx, n.rightIdx, n.addIdx, n.leftWidth = s, li, ri, ai, len(left.Fields)
	n.table = map[string][]record.Row{}
	n.arena = rowArena{width: len(ai)}
	n.proj = make(record.Row, len(ai))
	return s, nil
}

func (n *joinNode) Process(_ context.Context, input int, in *record.Batch, out Output) error {
	switch input {
	case 1:
		return n.load(in)
	case 0:
		return n.probe(in, out)
	}
	return fmt.Errorf("join: no input %d", input)
}

// joinRowMem is what a held lookup row costs beside its values and key bytes.
const joinRowMem = 64

// load adds lookup rows; rows with a null key can never match and are skipped.
func (n *joinNode) load(in *record.Batch) error {
	for _, row := range in.Rows {
		if hasNull(row, n.rightIdx) {
			continue
		}
		if n.cfg.MaxRows > 0 && n.rows >= n.cfg.MaxRows {
			return fmt.Errorf("join: the lookup table has more than max_rows (%d) rows; raise max_rows or filter the lookup input", n.cfg.MaxRows)
		}
		seq := n.rows
		n.rows++
		for i, j := range n.addIdx {
			n.proj[i] = row[j]
		}
		n.kbuf = appendKey(n.kbuf[:0], row, n.rightIdx)
		if n.sorted != nil {
			n.ebuf = sortKey(n.ebuf[:0], n.kbuf, seq)
			n.vbuf = appendRow(n.vbuf[:0], n.proj)
			if err := n.sorted.add(n.ebuf, n.vbuf); err != nil {
				return fmt.Errorf("join: %w", err)
			}
			continue
		}
		rows, ok := n.table[string(n.kbuf)]
		if !ok {
			n.mem += 2*int64(len(n.kbuf)) + 48
		}
		n.table[string(n.kbuf)] = append(rows, n.arena.clone(n.proj))
		n.mem += joinRowMem + rowMem(n.proj)
		if n.mem > n.spill.budget()/2 {
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

// startSpill moves the table into a sorter; each key's rows keep their order.
func (n *joinNode) startSpill() error {
	if n.spill == nil || n.spill.Dir == "" {
		return fmt.Errorf("join: more than %d lookup rows held in memory and no spill directory", n.rows)
	}
	n.sorted = newSorter(n.spill, n.spill.budget()/2)
	var seq int64
	for k, rows := range n.table {
		for _, r := range rows {
			n.ebuf = sortKey(n.ebuf[:0], []byte(k), seq)
			seq++
			n.vbuf = appendRow(n.vbuf[:0], r)
			if err := n.sorted.add(n.ebuf, n.vbuf); err != nil {
				return fmt.Errorf("join: %w", err)
			}
		}
	}
	n.table, n.mem = nil, 0
	n.arena = rowArena{width: len(n.addIdx)}
	n.sorted.budget = n.spill.budget()
	return nil
}

// lookup returns the rows of the table under key (valid until the next call).
func (n *joinNode) lookup(key []byte) ([]record.Row, error) {
	if n.sorted != nil { // the lookup input has ended: write the table file
		f, err := writeLookupFile(n.spill, n.sorted, len(n.addIdx))
		n.sorted.close()
		n.sorted = nil
		if err != nil {
			return nil, err
		}
		n.disk = f
		n.spill.setState(f.memBytes())
	}
	if n.disk == nil {
		return n.table[string(key)], nil
	}
	var err error
	n.ebuf = append(binary.AppendUvarint(n.ebuf[:0], uint64(len(key))), key...)
	n.matches, err = n.disk.get(n.ebuf, n.matches[:0])
	return n.matches, err
}

func (n *joinNode) probe(in *record.Batch, out Output) error {
	bld := record.NewBuilder(n.schema, len(in.Rows))
	next := func(pos int64) (record.Row, error) {
		if bld.Full() {
			if err := emitBuilt(out, bld, 0); err != nil {
				return nil, err
			}
		}
		return bld.Row(pos), nil
	}
	var unmatched int64
	for i, row := range in.Rows {
		var matches []record.Row
		if !hasNull(row, n.leftIdx) {
			n.kbuf = appendKey(n.kbuf[:0], row, n.leftIdx)
			var err error
			if matches, err = n.lookup(n.kbuf); err != nil {
				return fmt.Errorf("join: %w", err)
			}
		}
		if len(matches) == 0 {
			if n.cfg.Type == "inner" {
				unmatched++
				continue
			}
			r, err := next(in.PosOf(i))
			if err != nil {
				return err
			}
			copy(r, row)
			continue
		}
		for _, m := range matches {
			r, err := next(in.PosOf(i))
			if err != nil {
				return err
			}
			copy(r, row)
			copy(r[n.leftWidth:], m)
		}
	}
	if unmatched > 0 {
		out.Count(Filtered, unmatched)
	}
	return emitBuilt(out, bld, in.Bytes)
}

func (n *joinNode) Flush(context.Context, Output) error {
	n.CloseSpill()
	n.table = nil
	n.spill.setState(0)
	return nil
}
