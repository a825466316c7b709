package pipeline

import (
	"fmt"
	"strings"
	"time"
)

// Policy says how the run queue treats the pipeline's runs (the spec's `policy:`).
type Policy struct {
	// MaxConcurrentRuns is how many runs of the pipeline may run at once (default 1).
	MaxConcurrentRuns int `json:"max_concurrent_runs,omitempty"`
	// OnBusy is what a trigger does while MaxConcurrentRuns runs are queued or running: queue
	// (default: the run waits its turn) or refuse (the trigger is refused with 409).
	OnBusy string `json:"on_busy,omitempty"`
	// Timeout stops a run that has run this long (a Go duration such as 90s, 30m, 2h); it fails
	// and is not retried. Empty: no limit.
	Timeout string `json:"timeout,omitempty"`
	// Retries is how many times a run that failed with a retryable error (connection lost,
	// a 5xx answer, a deadlock or serialization failure) is tried again (default 0). Validation and
	// configuration errors are never retried.
	Retries int `json:"retries,omitempty"`
	// RetryBackoff is the wait before the first retry (default 30s); each further retry waits twice
	// as long (at most 1h), with ±20% jitter.
	RetryBackoff string `json:"retry_backoff,omitempty"`
}

// On-busy choices.
const (
	OnBusyQueue  = "queue"
	OnBusyRefuse = "refuse"
)

// Policy limits.
const (
	MaxConcurrentRunsLimit = 100
	MaxRetries             = 20
	// MaxRetryBackoff caps the wait between two attempts.
	MaxRetryBackoff = time.Hour
)

// RunPolicy is a Policy with its defaults filled in and durations parsed.
type RunPolicy struct {
	MaxConcurrentRuns int
	Refuse            bool          // on_busy: refuse
	Timeout           time.Duration // 0: none
	Retries           int
	RetryBackoff      time.Duration
}

// Effective fills in the defaults of p (nil: all defaults). A value that does not parse counts as
// its default (Validate refuses it at save time).
func (p *Policy) Effective() RunPolicy {
	r := RunPolicy{MaxConcurrentRuns: 1, RetryBackoff: 30 * time.Second}
	if p == nil {
		return r
	}
	if p.MaxConcurrentRuns > 0 {
		r.MaxConcurrentRuns = p.MaxConcurrentRuns
	}
	r.Refuse = p.OnBusy == OnBusyRefuse
	if d, err := time.ParseDuration(p.Timeout); err == nil && d > 0 {
		r.Timeout = d
	}
	r.Retries = max(0, p.Retries)
	if d, err := time.ParseDuration(p.RetryBackoff); err == nil && d > 0 {
		r.RetryBackoff = d
	}
	return r
}

// Backoff is the wait before retry n (1: the first): RetryBackoff doubled n-1 times, at most
// MaxRetryBackoff, before jitter.
func (r RunPolicy) Backoff(n int) time.Duration {
	d := r.RetryBackoff
	for i := 1; i < n && d < MaxRetryBackoff; i++ {
		d *= 2
	}
	return min(d, MaxRetryBackoff)
}

func (d *decoder) policy(m map[string]any, s *Spec) {
	pv, has := m["policy"]
	if !has || pv == nil {
		return
	}
	pm, ok := d.object(pv, "policy", "max_concurrent_runs", "on_busy", "timeout", "retries", "retry_backoff")
	if !ok {
		return
	}
	p := &Policy{OnBusy: d.str(pm, "on_busy", "policy"), Timeout: d.str(pm, "timeout", "policy"),
		RetryBackoff: d.str(pm, "retry_backoff", "policy")}
	p.MaxConcurrentRuns = d.policyInt(pm, "max_concurrent_runs", 1, MaxConcurrentRunsLimit)
	p.Retries = d.policyInt(pm, "retries", 0, MaxRetries)
	s.Policy = p
}

func (d *decoder) policyInt(m map[string]any, key string, lo, hi int) int {
	v, has := m[key]
	if !has || v == nil {
		return 0
	}
	n, ok := wholeNumber(v)
	if !ok || n < int64(lo) || n > int64(hi) {
		d.c.add("policy."+key, "must be a whole number from %d to %d, got %s", lo, hi, describe(v))
		return 0
	}
	return int(n)
}

func (v *validator) policy() {
	p := v.plan.Spec.Policy
	if p == nil {
		return
	}
	switch p.OnBusy {
	case "", OnBusyQueue, OnBusyRefuse:
	default:
		v.c.add("policy.on_busy", "must be %q or %q, got %q", OnBusyQueue, OnBusyRefuse, p.OnBusy)
	}
	duration := func(key, val string, lo, hi time.Duration) {
		if strings.TrimSpace(val) == "" {
			return
		}
		d, err := time.ParseDuration(val)
		if err != nil {
			v.c.add("policy."+key, "must be a duration such as 90s, 30m or 2h, got %q", val)
			return
		}
		if d < lo || d > hi {
			v.c.add("policy."+key, "must be between %s and %s, got %s", lo, hi, val)
		}
	}
	duration("timeout", p.Timeout, time.Second, 7*24*time.Hour)
	duration("retry_backoff", p.RetryBackoff, 100*time.Millisecond, MaxRetryBackoff)
	if p.RetryBackoff != "" && p.Retries == 0 {
		v.c.add("policy.retry_backoff", "is set but policy.retries is 0: no run is retried")
	}
}

// String describes the policy in a few words (for run logs).
func (r RunPolicy) String() string {
	s := fmt.Sprintf("max %d concurrent", r.MaxConcurrentRuns)
	if r.Timeout > 0 {
		s += ", timeout " + r.Timeout.String()
	}
	if r.Retries > 0 {
		s += fmt.Sprintf(", %d retries from %s", r.Retries, r.RetryBackoff)
	}
	return s
}
