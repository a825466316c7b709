package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is the in-process Limiter.
type Memory struct {
	rule Rule
	now  func() time.Time

	mu        sync.Mutex
	windows   map[string]*window
	nextSweep time.Time
}

type window struct {
	end   time.Time
	count int
}

// NewMemory returns an in-process limiter. now is the clock (time.Now when nil).
func NewMemory(rule Rule, now func() time.Time) (*Memory, error) {
	if err := rule.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Memory{rule: rule, now: now, windows: make(map[string]*window)}, nil
}

// Allow implements Limiter. It never returns an error.
func (m *Memory) Allow(_ context.Context, key string) (Decision, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	w, ok := m.windows[key]
	if !ok || !now.Before(w.end) {
		w = &window{end: now.Add(m.rule.Window)}
		m.windows[key] = w
	}
	w.count++
	return decide(m.rule, w.count, w.end.Sub(now)), nil
}

// sweep drops closed windows at most once per window length, so memory stays
// bounded by the number of keys active in the last two windows.
func (m *Memory) sweep(now time.Time) {
	if now.Before(m.nextSweep) {
		return
	}
	for k, w := range m.windows {
		if !now.Before(w.end) {
			delete(m.windows, k)
		}
	}
	m.nextSweep = now.Add(m.rule.Window)
}

// Len is the number of keys currently tracked (for tests and metrics).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.windows)
}
