package engine

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// DefaultMemoryBudget is a run's memory budget for the state of its stateful transforms when
// neither Options.MemoryBudget nor the spec's resources.memory_mb sets one.
const DefaultMemoryBudget = 256 << 20

// MemoryLimitBase is what ProcessMemoryLimit allows beside the state: the Go runtime, the batches
// in flight between nodes, the connectors' buffers, the spill's merge buffers.
const MemoryLimitBase = 128 << 20

// ProcessMemoryLimit is the Go soft memory limit of a process that runs one pipeline whose
// stateful transforms share budget bytes: twice the budget, so that the collector has room to work
// without running all the time, plus MemoryLimitBase.
func ProcessMemoryLimit(budget int64) int64 { return 2*budget + MemoryLimitBase }

// memoryBudget is the run's budget: the spec's, else the options', else the default.
func (r *runner) memoryBudget() int64 {
	if res := r.plan.Spec.Resources; res != nil && res.MemoryMB > 0 {
		return res.MemoryMB << 20
	}
	if r.opts.MemoryBudget > 0 {
		return r.opts.MemoryBudget
	}
	return DefaultMemoryBudget
}

// setupSpill gives each transform.Spiller node an equal part of the run's memory budget and the
// run's spill directory (made when a node first spills). The returned cleanup removes every spill
// file; Run calls it however the run ends.
func (r *runner) setupSpill() func() {
	var spillers []*rnode
	for _, rn := range r.nodes {
		if _, ok := rn.node.(transform.Spiller); ok && rn.p.Kind == pipeline.KindTransform {
			spillers = append(spillers, rn)
		}
	}
	if len(spillers) == 0 {
		return func() {}
	}
	root := r.opts.SpillDir
	if root == "" {
		root = filepath.Join(os.TempDir(), "aggregator-spill")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	dir := filepath.Join(root, "run-"+r.runID+"-"+hex.EncodeToString(b[:]))
	r.budget = r.memoryBudget()
	share := r.budget / int64(len(spillers))
	for i, rn := range spillers {
		rn.area = &transform.SpillArea{Budget: share, Dir: dir, DiskLimit: r.opts.SpillLimit, Prefix: fmt.Sprintf("n%d-", i)}
		rn.node.(transform.Spiller).SetSpill(rn.area)
	}
	r.log.Debug("stateful transforms share the run's memory budget", "budget_mb", r.budget>>20, "nodes", len(spillers), "spill_dir", dir)
	restore := func() {}
	if r.opts.LimitMemory && os.Getenv("GOMEMLIMIT") == "" {
		// Without a limit the collector lets the heap grow to twice what is live (GOGC) and the
		// process keeps pages it freed: the budget would not bound the resident memory.
		limit := ProcessMemoryLimit(r.budget)
		old := debug.SetMemoryLimit(limit)
		restore = func() { debug.SetMemoryLimit(old) }
		r.log.Debug("Go soft memory limit set from the run's memory budget", "limit_mb", limit>>20)
	}
	return func() {
		defer restore()
		for _, rn := range spillers {
			if c, ok := rn.node.(interface{ CloseSpill() }); ok {
				c.CloseSpill()
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			r.log.Warn("spill directory not removed", "dir", dir, "err", err)
		}
	}
}

// buffers reports the queues after each source and before each destination.
func (r *runner) buffers() []BufferStats {
	var out []BufferStats
	for _, rn := range r.nodes {
		for _, e := range rn.outs {
			switch {
			case rn.p.Kind == pipeline.KindSource:
				out = append(out, BufferStats{From: rn.p.ID, To: e.to.p.ID, Len: min(int(rn.queued.Load()), sourceQueue), Cap: sourceQueue})
			case e.to.p.Kind == pipeline.KindDestination && e.to.dest != nil:
				out = append(out, BufferStats{From: rn.p.ID, To: e.to.p.ID, Len: len(e.to.dest.ch), Cap: cap(e.to.dest.ch)})
			}
		}
	}
	return out
}
