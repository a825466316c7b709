package runner

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercent(t *testing.T) {
	t.Parallel()
	const mb = 1 << 20
	for _, c := range []struct {
		live, budget uint64
		want         int
	}{
		{0, 40 * mb, 400},       // nothing known yet
		{5 * mb, 40 * mb, 400},  // 5 MB x 5 = 25 MB: within the budget
		{8 * mb, 40 * mb, 400},  // exactly the budget
		{10 * mb, 40 * mb, 300}, // grows to 40 MB
		{12 * mb, 40 * mb, 233},
		{14 * mb, 40 * mb, 200}, // 14 x 3 = 42 MB: past it, the floor
		{200 * mb, 40 * mb, 200},
	} {
		if got := GCPercent(c.live, c.budget); got != c.want {
			t.Errorf("GCPercent(%d MB, %d MB) = %d, want %d", c.live/mb, c.budget/mb, got, c.want)
		}
		if got := GCPercent(c.live, c.budget); c.live > 0 && got > MinGCPercent && got < MaxGCPercent {
			if goal := c.live * uint64(100+got) / 100; goal > c.budget || goal < c.budget-c.budget/50 {
				t.Errorf("GCPercent(%d MB) = %d: heap goal %d MB, want about the budget", c.live/mb, got, goal/mb)
			}
		}
	}
}

// After each collection the tuner sets GOGC from the live heap: a budget far below this test
// process's live heap gives the floor, and stop ends the adjustments.
func TestTuneGCSetsGOGCAfterEachCollection(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	set := make(chan int, 16)
	stop := TuneGC(1, func(p int) { set <- p }) // 1 byte: any live heap is past it
	if got := debug.SetGCPercent(MaxGCPercent); got != MaxGCPercent {
		t.Fatalf("GOGC after TuneGC = %d, want %d until the first collection", got, MaxGCPercent)
	}
	runtime.GC()
	select {
	case p := <-set:
		if p != MinGCPercent {
			t.Fatalf("the tuner set %d, want %d", p, MinGCPercent)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no adjustment after a collection")
	}
	if got := debug.SetGCPercent(MinGCPercent); got != MinGCPercent {
		t.Fatalf("GOGC = %d, want %d", got, MinGCPercent)
	}
	stop()
	runtime.GC()
	runtime.GC()
	// a collection that ran on its own between the first report and stop may have reported once more
	if n := len(set); n > 1 {
		t.Fatalf("%d adjustments after stop", n)
	}
}
