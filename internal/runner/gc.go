package runner

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// GC percentages TuneGC moves between, and the heap it aims at.
const (
	MaxGCPercent = 400
	MinGCPercent = 200
	// HeapBudget is the heap a run's collector lets grow at MaxGCPercent: a pipeline's live heap is
	// mostly batches in flight (10-15 MB), and GOGC 400 over that alone would take the heap to
	// 50-75 MB, on top of the 40 MB of the binary's own pages.
	HeapBudget = 40 << 20
)

// GCPercent is the GOGC that lets a heap of live bytes grow to about budget: MaxGCPercent while that
// stays within it (live at most a fifth of it), MinGCPercent once the live heap is a third of it
// or more, in between otherwise. Batches are short-lived garbage, so a high GOGC saves CPU; the
// budget keeps that from costing more memory than it saves time.
func GCPercent(live, budget uint64) int {
	switch {
	case live == 0 || live*(1+MaxGCPercent/100) <= budget:
		return MaxGCPercent
	case live*(1+MinGCPercent/100) >= budget:
		return MinGCPercent
	}
	return int((budget - live) * 100 / live)
}

// TuneGC sets the collector's GOGC after every collection to GCPercent of the live heap and
// budget, until stop is called. after, when not nil, is called with each percentage set (tests).
// It is for a process that runs one pipeline (`aggregator run`); the caller leaves GOGC alone when
// the environment sets it.
func TuneGC(budget uint64, after func(percent int)) (stop func()) {
	var stopped atomic.Bool
	debug.SetGCPercent(MaxGCPercent)
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	current := MaxGCPercent
	var hook func(*gcSentinel)
	hook = func(s *gcSentinel) {
		if stopped.Load() {
			return
		}
		metrics.Read(samples)
		var live uint64
		if samples[0].Value.Kind() == metrics.KindUint64 {
			live = samples[0].Value.Uint64()
		}
		if p := GCPercent(live, budget); p != current {
			debug.SetGCPercent(p)
			current = p
		}
		if after != nil {
			after(current)
		}
		runtime.SetFinalizer(s, hook) // once more, at the end of the next collection
	}
	runtime.SetFinalizer(&gcSentinel{}, hook)
	return func() { stopped.Store(true) }
}

// gcSentinel is an object nothing refers to: its finalizer runs after each collection that finds
// it, and sets itself again. The pointer keeps it out of the tiny allocator, whose blocks may
// never be freed.
type gcSentinel struct {
	_ *byte
	_ [8]byte
}
