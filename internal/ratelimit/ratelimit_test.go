package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a manually advanced clock for the in-process backend.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// backend builds a limiter for one subtest; advance moves its clock past the
// current window (for Redis it waits for the real expiry).
type backend struct {
	name    string
	newLim  func(t *testing.T, rule Rule) Limiter
	advance func(t *testing.T, lim Limiter, key string, window time.Duration)
}

// runSuite is the one behaviour suite every backend passes.
func runSuite(t *testing.T, b backend) {
	ctx := context.Background()

	t.Run("allows up to the limit then refuses", func(t *testing.T) {
		lim := b.newLim(t, Rule{Limit: 3, Window: time.Minute})
		for i := 1; i <= 3; i++ {
			d, err := lim.Allow(ctx, "k")
			if err != nil {
				t.Fatal(err)
			}
			if !d.Allowed || d.Remaining != 3-i || d.Limit != 3 {
				t.Fatalf("hit %d: got %+v, want allowed with remaining %d", i, d, 3-i)
			}
		}
		d, err := lim.Allow(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed || d.Remaining != 0 {
			t.Fatalf("4th hit: got %+v, want refused", d)
		}
		if d.Reset <= 0 || d.Reset > time.Minute {
			t.Fatalf("4th hit: reset %s, want within (0, 1m]", d.Reset)
		}
	})

	t.Run("keys are independent", func(t *testing.T) {
		lim := b.newLim(t, Rule{Limit: 1, Window: time.Minute})
		for _, k := range []string{"a", "b", "c"} {
			d, err := lim.Allow(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Allowed {
				t.Fatalf("first hit for %q refused", k)
			}
		}
		if d, _ := lim.Allow(ctx, "a"); d.Allowed {
			t.Fatal("second hit for a allowed")
		}
	})

	t.Run("window reopens after it closes", func(t *testing.T) {
		window := 200 * time.Millisecond
		lim := b.newLim(t, Rule{Limit: 1, Window: window})
		if d, _ := lim.Allow(ctx, "w"); !d.Allowed {
			t.Fatal("first hit refused")
		}
		if d, _ := lim.Allow(ctx, "w"); d.Allowed {
			t.Fatal("second hit allowed within the window")
		}
		b.advance(t, lim, "w", window)
		d, err := lim.Allow(ctx, "w")
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed || d.Remaining != 0 {
			t.Fatalf("after the window: got %+v, want allowed", d)
		}
	})

	t.Run("concurrent hits never exceed the limit", func(t *testing.T) {
		const limit, workers = 25, 100
		lim := b.newLim(t, Rule{Limit: limit, Window: time.Minute})
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				d, err := lim.Allow(ctx, "c")
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if got := allowed.Load(); got != limit {
			t.Fatalf("allowed %d of %d concurrent hits, want exactly %d", got, workers, limit)
		}
	})
}

func TestMemory(t *testing.T) {
	t.Parallel()
	clocks := map[Limiter]*fakeClock{}
	var mu sync.Mutex
	runSuite(t, backend{
		name: "memory",
		newLim: func(t *testing.T, rule Rule) Limiter {
			c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			lim, err := NewMemory(rule, c.Now)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			clocks[lim] = c
			mu.Unlock()
			return lim
		},
		advance: func(t *testing.T, lim Limiter, _ string, window time.Duration) {
			mu.Lock()
			c := clocks[lim]
			mu.Unlock()
			c.Advance(window)
		},
	})
}

func TestMemorySweepsClosedWindows(t *testing.T) {
	t.Parallel()
	c := &fakeClock{t: time.Unix(0, 0)}
	lim, err := NewMemory(Rule{Limit: 5, Window: time.Second}, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if _, err := lim.Allow(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
	if lim.Len() != 3 {
		t.Fatalf("tracking %d keys, want 3", lim.Len())
	}
	c.Advance(2 * time.Second)
	if _, err := lim.Allow(context.Background(), "d"); err != nil {
		t.Fatal(err)
	}
	if lim.Len() != 1 {
		t.Fatalf("after the windows closed tracking %d keys, want 1", lim.Len())
	}
}

func TestRuleValidate(t *testing.T) {
	t.Parallel()
	for _, r := range []Rule{{Limit: 0, Window: time.Second}, {Limit: -1, Window: time.Second}, {Limit: 1, Window: 0}, {Limit: 1, Window: time.Microsecond}} {
		if _, err := NewMemory(r, nil); err == nil {
			t.Errorf("NewMemory(%+v) accepted an invalid rule", r)
		}
	}
}
