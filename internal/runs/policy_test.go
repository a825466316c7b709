package runs_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"transient", fmt.Errorf("read: %w", connector.ErrTransient), true},
		{"connection reset", fmt.Errorf("write: %w", syscall.ECONNRESET), true},
		{"connection refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"deadlock", &pgconn.PgError{Code: "40P01"}, true},
		{"serialization", &pgconn.PgError{Code: "40001"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"query cancelled", &pgconn.PgError{Code: "57014"}, false},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"http 503 text", errors.New("GET https://api.example.com/x: status 503 Service Unavailable"), true},
		{"http 404 text", errors.New("GET https://api.example.com/x: status 404 Not Found"), false},
		{"config", connector.ConfigError(errors.New("url: connection reset is not a URL")), false},
		{"validation", errors.New("transforms[0].config.expression: unknown field \"x\""), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runs.Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

const refuseSpec = cleanSpec + "policy: {max_concurrent_runs: 1, on_busy: refuse}\n"

// TestOnBusyRefuse: with on_busy: refuse, a trigger while the pipeline has its maximum of queued
// or running runs is refused with a BusyError (409); with the default, it queues.
func TestOnBusyRefuse(t *testing.T) {
	e := setup(t, backend{dialect: store.SQLite, dsn: t.TempDir() + "/aggregator.db"}, setupOptions{noDispatcher: true})
	p := e.createPipeline("refuse", refuseSpec)
	if _, err := e.svc.Start(bg, p.ID, 0, "api", runs.Actor{}); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Start(bg, p.ID, 0, "api", runs.Actor{})
	var be *runs.BusyError
	if !errors.As(err, &be) || !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "1 queued") {
		t.Fatalf("second trigger: %v, want a BusyError naming 1 queued run", err)
	}
	q := e.createPipeline("queue", cleanSpec)
	for range 2 {
		if _, err := e.svc.Start(bg, q.ID, 0, "api", runs.Actor{}); err != nil {
			t.Fatalf("on_busy queue (default) refused a trigger: %v", err)
		}
	}
}

// TestPolicyTimeoutFailsTheRun: a run that runs longer than policy.timeout fails with the reason
// and is not retried.
func TestPolicyTimeoutFailsTheRun(t *testing.T) {
	e := setup(t, backend{dialect: store.SQLite, dsn: t.TempDir() + "/aggregator.db"}, setupOptions{block: 50})
	writeCSV(t, e.dir, "in.csv", 500)
	spec := strings.Replace(cleanSpec, "type: csv\n    config: {path: in.csv}", "type: slowcsv\n    config: {path: in.csv}", 1) +
		"policy: {timeout: 1s, retries: 3, retry_backoff: 100ms}\n"
	p := e.createPipeline("slow", spec)
	events, stop := e.svc.Broker().Subscribe(forPipeline(p.ID), 1024)
	defer stop()
	run, err := e.svc.Start(bg, p.ID, 0, "manual", runs.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	ev := await(t, events, "terminal", terminal)
	if ev.Status != store.RunFailed || !strings.Contains(ev.Error, "timed out after 1s (policy.timeout)") {
		t.Fatalf("run ended %s: %q", ev.Status, ev.Error)
	}
	atts, err := e.st.ListAttempts(bg, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 1 || atts[0].Outcome != "failed" {
		t.Fatalf("attempts = %+v, want one failed attempt (a timeout is not retried)", atts)
	}
}
