package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"
)

const policyBase = `version: 1
name: p
sources: [{id: s, type: csv, config: {path: a.csv}}]
destinations: [{id: d, type: csv, inputs: [s], config: {path: b.csv}}]
`

func TestPolicyIsValidatedAtSave(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, policy, want string
	}{
		{"concurrency range", `{max_concurrent_runs: 0}`, "policy.max_concurrent_runs: must be a whole number from 1 to 100"},
		{"retries range", `{retries: 21}`, "policy.retries: must be a whole number from 0 to 20"},
		{"on_busy", `{on_busy: drop}`, `policy.on_busy: must be "queue" or "refuse", got "drop"`},
		{"timeout syntax", `{timeout: soon}`, `policy.timeout: must be a duration such as 90s, 30m or 2h, got "soon"`},
		{"timeout range", `{timeout: 10ms}`, "policy.timeout: must be between 1s and 168h0m0s"},
		{"backoff without retries", `{retry_backoff: 5s}`, "policy.retry_backoff: is set but policy.retries is 0"},
		{"unknown key", `{retry: 3}`, `unknown field "retry"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := Parse([]byte(policyBase + "policy: " + tt.policy + "\n"))
			if err == nil {
				_, err = Validate(context.Background(), spec, testEnv(t))
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPolicyDefaultsAndBackoff(t *testing.T) {
	t.Parallel()
	d := (*Policy)(nil).Effective()
	if d.MaxConcurrentRuns != 1 || d.Refuse || d.Timeout != 0 || d.Retries != 0 || d.RetryBackoff != 30*time.Second {
		t.Fatalf("defaults = %+v", d)
	}
	spec, err := Parse([]byte(policyBase + "policy: {max_concurrent_runs: 3, on_busy: refuse, timeout: 2h, retries: 4, retry_backoff: 40m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Validate(context.Background(), spec, testEnv(t)); err != nil {
		t.Fatal(err)
	}
	p := spec.Policy.Effective()
	if p.MaxConcurrentRuns != 3 || !p.Refuse || p.Timeout != 2*time.Hour || p.Retries != 4 {
		t.Fatalf("effective = %+v", p)
	}
	for n, want := range map[int]time.Duration{1: 40 * time.Minute, 2: time.Hour, 5: time.Hour} {
		if got := p.Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %s, want %s (doubling, capped at 1h)", n, got, want)
		}
	}
}
