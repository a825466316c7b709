package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Condition types.
const (
	RunFailed       = "run_failed"
	RunDurationOver = "run_duration_over"
	RejectRatioOver = "reject_ratio_over"
	FreshnessOver   = "freshness_over"
	WorkerDown      = "worker_down"
	QueueDepthOver  = "queue_depth_over"
	StreamLagOver   = "stream_lag_over"
	// RunAwaitingApproval: a run is paused awaiting approval of schema changes
	// (schema_changes: review); it resolves when the run is approved, rejected or cancelled.
	RunAwaitingApproval = "run_awaiting_approval"
)

// ConditionTypes are every condition type, in the order the API documents them.
var ConditionTypes = []string{RunFailed, RunDurationOver, RejectRatioOver, FreshnessOver, WorkerDown, QueueDepthOver, StreamLagOver, RunAwaitingApproval}

// runConditions are evaluated on run events; the others periodically.
var runConditions = []string{RunFailed, RunDurationOver, RejectRatioOver}

// periodicConditions are evaluated by Evaluate.
// run_awaiting_approval is both: Watch evaluates it as soon as a run pauses or leaves the pause,
// Evaluate reconciles it.
var periodicConditions = []string{FreshnessOver, WorkerDown, QueueDepthOver, StreamLagOver, RunAwaitingApproval}

// Condition says when a rule fires. Which fields apply depends on Type:
//
//	run_failed         pipeline_id (optional: every pipeline)            a run failed; its next success resolves
//	run_duration_over  pipeline_id (optional), seconds                   a finished run took longer than seconds
//	reject_ratio_over  pipeline_id (optional), ratio (0 < ratio <= 1)    a finished run rejected more than ratio of the rows it read
//	freshness_over     pipeline_id (optional), minutes                   the last successful run is older than minutes
//	worker_down        (nothing)                                         a registered worker stopped sending heartbeats
//	queue_depth_over   queue (optional: every queue), depth              more than depth jobs wait in the queue
//	stream_lag_over    pipeline_id (optional), seconds                   a running run's last checkpoint is older than seconds
//	run_awaiting_approval pipeline_id (optional)                         a run is paused awaiting approval of schema changes (one alert per run)
type Condition struct {
	Type       string  `json:"type"`
	PipelineID string  `json:"pipeline_id,omitempty"`
	Seconds    float64 `json:"seconds,omitempty"`
	Ratio      float64 `json:"ratio,omitempty"`
	Minutes    float64 `json:"minutes,omitempty"`
	Depth      int     `json:"depth,omitempty"`
	Queue      string  `json:"queue,omitempty"`
}

// Problem is one thing wrong with an input, at a path ("condition.seconds").
type Problem struct {
	Path    string
	Message string
}

// InvalidError lists every problem of an input. errors.Is(err, ErrInvalid) holds.
type InvalidError struct{ Problems []Problem }

// ErrInvalid matches every *InvalidError.
var ErrInvalid = errors.New("invalid")

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Path + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

type problems []Problem

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &InvalidError{Problems: ps}
}

// ParseCondition decodes and checks a condition strictly: unknown fields, a missing threshold or
// one that does not apply to the type are problems at their path under "condition".
func ParseCondition(raw json.RawMessage) (Condition, error) {
	var c Condition
	var ps problems
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		ps.add("condition", "required: an object with a type (%s)", strings.Join(ConditionTypes, ", "))
		return c, ps.err()
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		ps.add("condition", "%s", strings.TrimPrefix(err.Error(), "json: "))
		return c, ps.err()
	}
	c.PipelineID = strings.TrimSpace(c.PipelineID)
	c.Queue = strings.TrimSpace(c.Queue)
	positive := func(field string, v float64, unit string) {
		if v <= 0 {
			ps.add("condition."+field, "required for %s: a number of %s greater than 0", c.Type, unit)
		}
	}
	notFor := func(field string, set bool) {
		if set {
			ps.add("condition."+field, "does not apply to %s", c.Type)
		}
	}
	switch c.Type {
	case RunFailed, RunAwaitingApproval:
		notFor("seconds", c.Seconds != 0)
		notFor("ratio", c.Ratio != 0)
		notFor("minutes", c.Minutes != 0)
		notFor("depth", c.Depth != 0)
		notFor("queue", c.Queue != "")
	case RunDurationOver, StreamLagOver:
		positive("seconds", c.Seconds, "seconds")
		notFor("ratio", c.Ratio != 0)
		notFor("minutes", c.Minutes != 0)
		notFor("depth", c.Depth != 0)
		notFor("queue", c.Queue != "")
	case RejectRatioOver:
		if c.Ratio <= 0 || c.Ratio > 1 {
			ps.add("condition.ratio", "required for %s: a fraction of the rows read, greater than 0 and at most 1 (0.05 is 5%%)", c.Type)
		}
		notFor("seconds", c.Seconds != 0)
		notFor("minutes", c.Minutes != 0)
		notFor("depth", c.Depth != 0)
		notFor("queue", c.Queue != "")
	case FreshnessOver:
		positive("minutes", c.Minutes, "minutes")
		notFor("seconds", c.Seconds != 0)
		notFor("ratio", c.Ratio != 0)
		notFor("depth", c.Depth != 0)
		notFor("queue", c.Queue != "")
	case WorkerDown:
		notFor("pipeline_id", c.PipelineID != "")
		notFor("seconds", c.Seconds != 0)
		notFor("ratio", c.Ratio != 0)
		notFor("minutes", c.Minutes != 0)
		notFor("depth", c.Depth != 0)
		notFor("queue", c.Queue != "")
	case QueueDepthOver:
		if c.Depth <= 0 {
			ps.add("condition.depth", "required for %s: a number of waiting jobs greater than 0", c.Type)
		}
		notFor("pipeline_id", c.PipelineID != "")
		notFor("seconds", c.Seconds != 0)
		notFor("ratio", c.Ratio != 0)
		notFor("minutes", c.Minutes != 0)
	case "":
		ps.add("condition.type", "required: one of %s", strings.Join(ConditionTypes, ", "))
	default:
		ps.add("condition.type", "unknown condition type %q: use one of %s", c.Type, strings.Join(ConditionTypes, ", "))
	}
	return c, ps.err()
}

// Describe says what the condition watches, in words.
func (c Condition) Describe() string {
	switch c.Type {
	case RunFailed:
		return "a run failed"
	case RunDurationOver:
		return fmt.Sprintf("a run took longer than %gs", c.Seconds)
	case RejectRatioOver:
		return fmt.Sprintf("a run rejected more than %g%% of its rows", c.Ratio*100)
	case FreshnessOver:
		return fmt.Sprintf("no successful run for more than %g minutes", c.Minutes)
	case WorkerDown:
		return "a worker stopped sending heartbeats"
	case QueueDepthOver:
		return fmt.Sprintf("more than %d jobs waiting", c.Depth)
	case StreamLagOver:
		return fmt.Sprintf("a running run's last checkpoint is older than %gs", c.Seconds)
	case RunAwaitingApproval:
		return "a run awaits approval of schema changes"
	}
	return c.Type
}
