package testutil

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// LiveHeap is the heap the last garbage collection found live.
func LiveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// PeakLiveHeap runs fn while it samples the live heap (as of the last collection) every
// millisecond, then collects once more, and returns the largest value seen above base (LiveHeap
// before fn). Memory tests assert a bound on it: a state that grows with its input shows up here
// whatever the collector's pacing, unlike RSS.
func PeakLiveHeap(base uint64, fn func()) uint64 {
	done := make(chan struct{})
	var peak uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := LiveHeap(); h > peak {
				peak = h
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	fn()
	runtime.GC() // the collection that sees the end of fn's state
	close(done)
	wg.Wait()
	if peak < base {
		return 0
	}
	return peak - base
}
