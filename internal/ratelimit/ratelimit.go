package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// Rule is a limit: at most Limit hits per Window for one key.
type Rule struct {
	Limit  int
	Window time.Duration
}

// Validate reports a rule that cannot limit anything.
func (r Rule) Validate() error {
	if r.Limit <= 0 {
		return fmt.Errorf("rate limit: limit must be > 0, got %d", r.Limit)
	}
	if r.Window < time.Millisecond {
		return fmt.Errorf("rate limit: window must be at least 1ms, got %s", r.Window)
	}
	return nil
}

// Decision is the answer for one hit.
type Decision struct {
	// Allowed is false when the hit exceeds the limit.
	Allowed bool
	// Limit is the rule's limit, for the RateLimit-Limit header.
	Limit int
	// Remaining hits in the current window (never negative).
	Remaining int
	// Reset is the time left until the current window closes; when a hit is
	// refused it is how long the caller should wait (Retry-After).
	Reset time.Duration
}

// Limiter counts a hit for key and decides. An error means the backend could
// not be reached; the caller decides whether to fail open or closed.
type Limiter interface {
	Allow(ctx context.Context, key string) (Decision, error)
}

func decide(rule Rule, count int, reset time.Duration) Decision {
	remaining := rule.Limit - count
	if remaining < 0 {
		remaining = 0
	}
	if reset < 0 {
		reset = 0
	}
	return Decision{Allowed: count <= rule.Limit, Limit: rule.Limit, Remaining: remaining, Reset: reset}
}
