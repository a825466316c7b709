package runs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Policy is a pipeline's run policy (the spec's `policy:`) with its defaults.
type Policy struct {
	pipeline.RunPolicy
}

// backoff is the wait before retry n with ±20% jitter.
func (p Policy) backoff(n int) time.Duration { return jitter(p.Backoff(n)) }

// pipelineGoneError: the run's pipeline was deleted while the run was queued.
type pipelineGoneError struct{ id string }

func (e *pipelineGoneError) Error() string {
	return fmt.Sprintf("pipeline %s was deleted while this run was queued; the run did not start", e.id)
}

// policyOf reads the policy of the pipeline version a run records. A version whose spec no longer
// parses has the default policy (its run fails when it is planned).
func (s *Service) policyOf(ctx context.Context, run store.Run) (Policy, error) {
	if _, err := s.st.GetPipeline(ctx, run.PipelineID); errors.Is(err, store.ErrNotFound) {
		return Policy{}, &pipelineGoneError{id: run.PipelineID}
	} else if err != nil {
		return Policy{}, fmt.Errorf("load pipeline %s: %w", run.PipelineID, err)
	}
	v, err := s.st.GetPipelineVersion(ctx, run.PipelineID, run.PipelineVersion)
	if errors.Is(err, store.ErrNotFound) {
		return Policy{}, &pipelineGoneError{id: run.PipelineID}
	}
	if err != nil {
		return Policy{}, fmt.Errorf("load pipeline version %d: %w", run.PipelineVersion, err)
	}
	spec, err := pipeline.Parse([]byte(v.Spec))
	if err != nil {
		return Policy{RunPolicy: (*pipeline.Policy)(nil).Effective()}, nil
	}
	return Policy{RunPolicy: spec.Policy.Effective()}, nil
}

// BusyError refuses a trigger of a pipeline whose policy says on_busy: refuse while it has its
// maximum of queued and running runs. errors.Is(err, store.ErrConflict) holds (HTTP 409).
type BusyError struct {
	Pipeline         string
	Queued, Running  int
	MaxConcurrentRun int
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("pipeline %s already has %d running and %d queued runs (policy.max_concurrent_runs %d, on_busy: refuse)",
		e.Pipeline, e.Running, e.Queued, e.MaxConcurrentRun)
}

// Is makes errors.Is(err, store.ErrConflict) true.
func (e *BusyError) Is(target error) bool { return target == store.ErrConflict }

// Retryable reports whether a run that failed with err may succeed if tried again: a connection that
// was lost or refused, a timeout of the network, a 5xx answer, a deadlock or a serialization
// failure, or anything a connector marked connector.ErrTransient. Configuration and validation
// errors never are.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, connector.ErrConfig) || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, connector.ErrTransient) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "40001", pe.Code == "40P01": // serialization failure, deadlock
			return true
		case len(pe.Code) == 2+3 && pe.Code[:2] == "08", pe.Code[:2] == "57" && pe.Code != "57014": // connection exceptions, operator intervention (restarts)
			return true
		}
		return false
	}
	return retryableText.MatchString(err.Error())
}

// retryableText catches what arrives only as text (drivers that do not wrap, HTTP statuses).
var retryableText = regexp.MustCompile(`(?i)connection (reset|refused|lost)|broken pipe|deadlock|serialization failure|` +
	`could not serialize|server closed the connection|\b(HTTP|status)[ :]*5\d\d\b|\b5\d\d (Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)`)

// parseCron reads a periodic task's cron expression (UTC).
func parseCron(s string) (*pipeline.Cron, error) { return pipeline.ParseCron(s) }
