package auth

import (
	"context"
	"sync"
	"time"
)

// LoginLimiter throttles failed logins per key (an account or an IP). The
// service uses two: one keyed by login name, one by client IP. An
// implementation shared across API nodes (Redis) satisfies the same contract.
// Methods are safe for concurrent use.
type LoginLimiter interface {
	// Check returns how long key stays locked (0: not locked).
	Check(ctx context.Context, key string) (retryAfter time.Duration, err error)
	// Fail records a failed attempt and returns the lock duration when this
	// failure locked key (0 otherwise).
	Fail(ctx context.Context, key string) (retryAfter time.Duration, err error)
	// Reset forgets key's failures (after a successful login).
	Reset(ctx context.Context, key string) error
}

// LimiterPolicy: MaxFailures failures within Window lock the key for Lockout.
type LimiterPolicy struct {
	MaxFailures int
	Window      time.Duration
	Lockout     time.Duration
}

// DefaultAccountPolicy locks an account after 5 failures in 15 minutes, for 15 minutes.
func DefaultAccountPolicy() LimiterPolicy {
	return LimiterPolicy{MaxFailures: 5, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
}

// DefaultIPPolicy locks a client IP after 20 failures in 15 minutes, for 15 minutes.
func DefaultIPPolicy() LimiterPolicy {
	return LimiterPolicy{MaxFailures: 20, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
}

// DefaultWebhookPolicy locks a client IP out of one pipeline's webhook after 10 wrong tokens in
// 10 minutes, for 10 minutes.
func DefaultWebhookPolicy() LimiterPolicy {
	return LimiterPolicy{MaxFailures: 10, Window: 10 * time.Minute, Lockout: 10 * time.Minute}
}

// MemoryLimiter is an in-process sliding-window LoginLimiter.
type MemoryLimiter struct {
	policy LimiterPolicy
	now    func() time.Time

	mu    sync.Mutex
	keys  map[string]*limiterEntry
	calls int
}

type limiterEntry struct {
	failures    []time.Time // within the window, oldest first, at most MaxFailures
	lockedUntil time.Time
}

// NewMemoryLimiter returns a limiter with policy and clock now (nil: time.Now).
func NewMemoryLimiter(policy LimiterPolicy, now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	if policy.MaxFailures < 1 {
		policy.MaxFailures = 1
	}
	return &MemoryLimiter{policy: policy, now: now, keys: map[string]*limiterEntry{}}
}

var _ LoginLimiter = (*MemoryLimiter)(nil)

// Check implements LoginLimiter.
func (l *MemoryLimiter) Check(_ context.Context, key string) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if e, ok := l.keys[key]; ok && now.Before(e.lockedUntil) {
		return e.lockedUntil.Sub(now), nil
	}
	return 0, nil
}

// Fail implements LoginLimiter.
func (l *MemoryLimiter) Fail(_ context.Context, key string) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.gc(now)
	e, ok := l.keys[key]
	if !ok {
		e = &limiterEntry{}
		l.keys[key] = e
	}
	if now.Before(e.lockedUntil) {
		return e.lockedUntil.Sub(now), nil
	}
	cut := now.Add(-l.policy.Window)
	kept := e.failures[:0]
	for _, t := range e.failures {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	e.failures = append(kept, now)
	if len(e.failures) >= l.policy.MaxFailures {
		e.failures = e.failures[:0]
		e.lockedUntil = now.Add(l.policy.Lockout)
		return l.policy.Lockout, nil
	}
	return 0, nil
}

// Reset implements LoginLimiter.
func (l *MemoryLimiter) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
	return nil
}

// gc drops idle keys every 1024 calls so memory stays bounded by the number
// of keys active within one window plus lockout.
func (l *MemoryLimiter) gc(now time.Time) {
	l.calls++
	if l.calls%1024 != 0 {
		return
	}
	for k, e := range l.keys {
		idle := len(e.failures) == 0 || now.Sub(e.failures[len(e.failures)-1]) > l.policy.Window
		if idle && !now.Before(e.lockedUntil) {
			delete(l.keys, k)
		}
	}
}

// Len reports how many keys are tracked (for tests and metrics).
func (l *MemoryLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
