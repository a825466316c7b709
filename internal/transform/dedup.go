package transform

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
)

type dedupConfig struct {
	Key     []string
	Keep    string
	MaxKeys int64
}

var dedupSpec = configspec.Describe(func(c *dedupConfig, b *configspec.Builder) {
	b.Strings(&c.Key, "key").Required().Min(1).
		Doc("The fields that identify a row; rows with equal keys are duplicates (null equals null here).").
		Example([]any{"id"})
	b.String(&c.Keep, "keep").Default("first").Enum("first", "last").
		Doc("first: pass the first row of each key as it arrives (holds an 8-byte hash per key); last: hold the latest row of each key and emit them all when the input ends, in the order the keys first appeared (held within the run's memory budget, spilled to disk beyond it).")
	b.Int64(&c.MaxKeys, "max_keys").Min(0).
		Doc("Fail the run when more distinct keys than this are seen (0: no limit). With keep: last and a spilled state, the count is checked when the input ends.")
})

func dedupDefinition() Definition {
	return Definition{
		Spec: Spec{Name: "dedup", Title: "Remove duplicates",
			Description: "Drop rows whose key was already seen in this run, keeping the first or the last of each key.",
			Config:      dedupSpec, MinInputs: 1, MaxInputs: 1},
		New: newDedupNode,
	}
}

func newDedupNode(raw map[string]any) (Node, error) {
	var c dedupConfig
	if err := decodeConfig(dedupSpec, raw, &c); err != nil {
		return nil, err
	}
	return &dedupNode{cfg: c}, nil
}

type dedupNode struct {
	cfg    dedupConfig
	schema *record.Schema
	idx    []int
	// keep first
	hasher *keyHasher
	seen   hashSet
	keep   []bool
	// keep last, in memory: the latest row of each key, its position, and the sequence number of
	// the key's first row; mem estimates their size.
	byKey map[string]int32
	rows  []record.Row
	pos   []int64
	first []int64
	arena rowArena
	kbuf  []byte
	mem   int64
	seq   int64
	// keep last, spilled: every row from then on goes into sorted by (key, seq).
	spill  *SpillArea
	sorted *sorter
	ebuf   []byte
	vbuf   []byte
}

// Stateful: the output depends on every earlier row of the run.
func (n *dedupNode) Stateful() bool { return true }

// SetSpill gives keep: last its memory budget.
func (n *dedupNode) SetSpill(a *SpillArea) { n.spill = a }

// CloseSpill removes the spill files of a run that ended without Flush.
func (n *dedupNode) CloseSpill() {
	if n.sorted != nil {
		n.sorted.close()
		n.sorted = nil
	}
}

func (n *dedupNode) Init(inputs []*record.Schema) (*record.Schema, error) {
	if err := singleInput("dedup", inputs); err != nil {
		return nil, err
	}
	idx, bad := indexes(inputs[0], n.cfg.Key)
	if bad != "" {
		return nil, configspec.Errors{{Path: "key", Message: unknownField(bad, inputs[0])}}
	}
	n.schema, n.idx = inputs[0], idx
	if n.cfg.Keep == "last" {
		n.byKey = map[string]int32{}
		n.arena = rowArena{width: len(inputs[0].Fields)}
	} else {
		n.hasher = newKeyHasher(idx)
	}
	return inputs[0], nil
}

func (n *dedupNode) tooMany() error {
	if n.cfg.Keep == "last" {
		return fmt.Errorf("dedup: more than max_keys (%d) distinct keys of %v; raise max_keys or set it to 0 (no limit)", n.cfg.MaxKeys, n.cfg.Key)
	}
	return fmt.Errorf("dedup: more than max_keys (%d) distinct keys of %v; raise max_keys or set it to 0 (no limit: keep first holds 8 to 15 bytes per key)", n.cfg.MaxKeys, n.cfg.Key)
}

func (n *dedupNode) Process(_ context.Context, _ int, in *record.Batch, out Output) error {
	if n.byKey != nil || n.sorted != nil {
		return n.processLast(in, out)
	}
	if cap(n.keep) < len(in.Rows) {
		n.keep = make([]bool, len(in.Rows))
	}
	keep := n.keep[:len(in.Rows)]
	var dups int64
	for i, row := range in.Rows {
		h := n.hasher.sum(row)
		if n.seen.Has(h) {
			keep[i] = false
			dups++
			continue
		}
		if n.cfg.MaxKeys > 0 && n.seen.Len() >= n.cfg.MaxKeys {
			return n.tooMany()
		}
		n.seen.Add(h)
		keep[i] = true
	}
	n.spill.setState(n.seen.Bytes())
	if dups > 0 {
		out.Count(Deduplicated, dups)
		compact(in, keep)
	}
	return emitInPlace(out, in, n.schema)
}

// dedupKeyMem is what a held key costs beside its row and key bytes (its map entry, the slices
// and the growth of both): the estimate stays above the live heap measured with 100,000 to 260,000
// keys of bench/spillgen's rows (about 270 bytes a key, 5% more than 96 gave).
const dedupKeyMem = 112

func (n *dedupNode) processLast(in *record.Batch, out Output) error {
	var dups int64
	for i, row := range in.Rows {
		seq := n.seq
		n.seq++
		n.kbuf = appendKey(n.kbuf[:0], row, n.idx)
		if n.sorted != nil {
			n.ebuf = sortKey(n.ebuf[:0], n.kbuf, seq)
			n.vbuf = appendRow(binary.AppendVarint(n.vbuf[:0], in.PosOf(i)), row)
			if err := n.sorted.add(n.ebuf, n.vbuf); err != nil {
				return fmt.Errorf("dedup: %w", err)
			}
			continue
		}
		if j, ok := n.byKey[string(n.kbuf)]; ok {
			n.mem -= rowMem(n.rows[j])
			for f, v := range row {
				n.rows[j][f] = cloneValue(v)
			}
			n.mem += rowMem(n.rows[j])
			n.pos[j] = in.PosOf(i)
			dups++
			continue
		}
		if n.cfg.MaxKeys > 0 && int64(len(n.rows)) >= n.cfg.MaxKeys {
			return n.tooMany()
		}
		n.byKey[string(n.kbuf)] = int32(len(n.rows))
		n.rows = append(n.rows, n.arena.clone(row))
		n.pos = append(n.pos, in.PosOf(i))
		n.first = append(n.first, seq)
		n.mem += dedupKeyMem + 2*int64(len(n.kbuf)) + rowMem(row)
		if n.mem > n.spill.budget()/2 || len(n.rows) == math.MaxInt32 {
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
	if dups > 0 {
		out.Count(Deduplicated, dups)
	}
	return nil
}

// startSpill moves the held rows into a sorter, each under its key and the sequence number of the
// key's first row, so that merging later finds it before the key's later rows.
func (n *dedupNode) startSpill() error {
	if n.spill == nil || n.spill.Dir == "" {
		return fmt.Errorf("dedup: more than %d keys held in memory and no spill directory", len(n.rows))
	}
	n.sorted = newSorter(n.spill, n.spill.budget()/2)
	for k, j := range n.byKey {
		n.ebuf = sortKey(n.ebuf[:0], []byte(k), n.first[j])
		n.vbuf = appendRow(binary.AppendVarint(n.vbuf[:0], n.pos[j]), n.rows[j])
		if err := n.sorted.add(n.ebuf, n.vbuf); err != nil {
			return fmt.Errorf("dedup: %w", err)
		}
	}
	n.byKey, n.rows, n.pos, n.first, n.mem = nil, nil, nil, nil, 0
	n.arena = rowArena{width: len(n.schema.Fields)}
	n.sorted.budget = n.spill.budget()
	return nil
}

// Flush emits the held rows of keep: last, in the order their keys first appeared.
func (n *dedupNode) Flush(_ context.Context, out Output) error {
	if n.sorted != nil {
		defer n.CloseSpill()
		if err := n.flushSpilled(out); err != nil {
			return fmt.Errorf("dedup: %w", err)
		}
		return nil
	}
	if n.byKey == nil {
		return nil
	}
	const size = 1024
	for start := 0; start < len(n.rows); start += size {
		end := min(start+size, len(n.rows))
		b := &record.Batch{Schema: n.schema, Rows: n.rows[start:end:end], Pos: n.pos[start:end:end]}
		if err := out.Emit(b); err != nil {
			return err
		}
	}
	n.rows, n.pos, n.first, n.byKey = nil, nil, nil, nil
	n.spill.setState(0)
	return nil
}

// flushSpilled merges the sorted rows key by key, keeps each key's last row under the sequence
// number of its first, and emits them in that order.
func (n *dedupNode) flushSpilled(out Output) error {
	it, err := n.sorted.finish(true)
	if err != nil {
		return err
	}
	order := newSorter(n.spill, n.spill.budget())
	defer order.close()
	var cur, last []byte
	var first, entries, keys int64
	have := false
	put := func() error {
		keys++
		if n.cfg.MaxKeys > 0 && keys > n.cfg.MaxKeys {
			return n.tooMany()
		}
		n.ebuf = seqKey(n.ebuf[:0], first)
		return order.add(n.ebuf, last)
	}
	for {
		k, v, ok, err := it.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		entries++
		gk, seq := splitSortKey(k)
		if !have || !bytes.Equal(gk, cur) {
			if have {
				if err := put(); err != nil {
					return err
				}
			}
			cur, first, have = append(cur[:0], gk...), seq, true
		}
		last = append(last[:0], v...)
	}
	if have {
		if err := put(); err != nil {
			return err
		}
	}
	if d := entries - keys; d > 0 {
		out.Count(Deduplicated, d)
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
