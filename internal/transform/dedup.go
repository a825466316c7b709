package transform

import (
	"context"
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

// defaultMaxKeysLast bounds the rows keep: last holds until the end of the run.
const defaultMaxKeysLast = 1_000_000

var dedupSpec = configspec.Describe(func(c *dedupConfig, b *configspec.Builder) {
	b.Strings(&c.Key, "key").Required().Min(1).
		Doc("The fields that identify a row; rows with equal keys are duplicates (null equals null here).").
		Example([]any{"id"})
	b.String(&c.Keep, "keep").Default("first").Enum("first", "last").
		Doc("first: pass the first row of each key as it arrives (holds an 8-byte hash per key); last: hold the latest row of each key and emit them all when the input ends.")
	b.Int64(&c.MaxKeys, "max_keys").Min(0).
		Doc("Fail the run when more distinct keys than this are seen (0: no limit for keep first, 1000000 for keep last).")
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
	if c.Keep == "last" {
		if c.MaxKeys == 0 {
			c.MaxKeys = defaultMaxKeysLast
		}
		if c.MaxKeys > math.MaxInt32 {
			return nil, configspec.Errors{{Path: "max_keys", Message: fmt.Sprintf("must be at most %d with keep: last", math.MaxInt32)}}
		}
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
	// keep last
	byKey map[string]int32
	rows  []record.Row
	pos   []int64
	arena rowArena
	kbuf  []byte
}

// Stateful: the output depends on every earlier row of the run.
func (n *dedupNode) Stateful() bool { return true }

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
	return fmt.Errorf("dedup: more than max_keys (%d) distinct keys of %v; raise max_keys or use keep: first, which holds only a hash per key", n.cfg.MaxKeys, n.cfg.Key)
}

func (n *dedupNode) Process(_ context.Context, _ int, in *record.Batch, out Output) error {
	if n.byKey != nil {
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
	if dups > 0 {
		out.Count(Deduplicated, dups)
		compact(in, keep)
	}
	return emitInPlace(out, in, n.schema)
}

func (n *dedupNode) processLast(in *record.Batch, out Output) error {
	var dups int64
	for i, row := range in.Rows {
		n.kbuf = appendKey(n.kbuf[:0], row, n.idx)
		if j, ok := n.byKey[string(n.kbuf)]; ok {
			for f, v := range row {
				n.rows[j][f] = cloneValue(v)
			}
			n.pos[j] = in.PosOf(i)
			dups++
			continue
		}
		if int64(len(n.rows)) >= n.cfg.MaxKeys {
			return n.tooMany()
		}
		n.byKey[string(n.kbuf)] = int32(len(n.rows))
		n.rows = append(n.rows, n.arena.clone(row))
		n.pos = append(n.pos, in.PosOf(i))
	}
	if dups > 0 {
		out.Count(Deduplicated, dups)
	}
	return nil
}

// Flush emits the held rows of keep: last, in the order their keys first appeared.
func (n *dedupNode) Flush(_ context.Context, out Output) error {
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
	n.rows, n.pos, n.byKey = nil, nil, nil
	return nil
}
