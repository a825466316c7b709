package pipeline

import (
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/schemachange"
)

// Version is the spec version this package reads.
const Version = 1

// Spec is a pipeline as written by a person: sources, transforms and destinations wired by ids.
type Spec struct {
	Version      int           `json:"version"`
	Name         string        `json:"name"`
	Description  string        `json:"description,omitempty"`
	Sources      []Source      `json:"sources"`
	Transforms   []Transform   `json:"transforms,omitempty"`
	Destinations []Destination `json:"destinations"`
	Schedule     *Schedule     `json:"schedule,omitempty"`
	ErrorPolicy  ErrorPolicy   `json:"error_policy"`
	// Policy says how the run queue treats the pipeline's runs (concurrency, timeout, retries).
	Policy *Policy `json:"policy,omitempty"`
	// Triggers says what else starts the pipeline's runs (runs after other pipelines succeed).
	Triggers *Triggers `json:"triggers,omitempty"`
	// Parallelism, for a streaming pipeline, is the number of consumer instances of one consumer
	// group its run deploys across the workers (1..MaxParallelism; 0: not a deployment).
	Parallelism int `json:"parallelism,omitempty"`
	// Resources bound what a run of the pipeline may use (nil: the server's defaults).
	Resources *Resources `json:"resources,omitempty"`

	// pos maps a path (sources[0].config.path) to where it was written; nil for specs built in code.
	pos map[string]Position
}

// Source reads records: a connector type with its config, or a saved connector by name.
type Source struct {
	ID        string         `json:"id"`
	Type      string         `json:"type,omitempty"`
	Connector string         `json:"connector,omitempty"`
	Config    map[string]any `json:"config,omitempty"`
	// Stream names the stream (table, sheet) for connectors that have several; empty: the config's own.
	Stream string `json:"stream,omitempty"`
	Sync   Sync   `json:"sync"`
	// Types overrides inferred field types by name, for untyped inputs (CSV, XML, Excel).
	Types map[string]string `json:"types,omitempty"`
}

// Sync says how a source reads.
type Sync struct {
	Mode        connector.SyncMode `json:"mode"`
	CursorField string             `json:"cursor_field,omitempty"`
}

// Transform is a transformation node: a type with its config, or a saved transformation by name.
type Transform struct {
	ID             string         `json:"id"`
	Type           string         `json:"type,omitempty"`
	Transformation string         `json:"transformation,omitempty"`
	Inputs         []string       `json:"inputs"`
	Config         map[string]any `json:"config,omitempty"`
}

// Destination writes records: a connector type with its config, or a saved connector by name.
type Destination struct {
	ID        string         `json:"id"`
	Type      string         `json:"type,omitempty"`
	Connector string         `json:"connector,omitempty"`
	Inputs    []string       `json:"inputs"`
	Config    map[string]any `json:"config,omitempty"`
	Stream    string         `json:"stream,omitempty"`
	Write     Write          `json:"write"`
}

// Write says how a destination treats existing data.
type Write struct {
	Mode connector.WriteMode `json:"mode"`
	Key  []string            `json:"key,omitempty"`
	// SchemaChanges is what a run does when the schema it reads differs from the last successful
	// run's or from the destination table (see internal/schemachange; "" is evolve).
	SchemaChanges schemachange.Policy `json:"schema_changes,omitempty"`
}

// Schedule runs the pipeline on a cron schedule (five fields, or @hourly, @daily, ...).
type Schedule struct {
	Cron     string `json:"cron"`
	Timezone string `json:"timezone,omitempty"`
	// Misfire says what happens to ticks missed while no server ran (default skip).
	Misfire Misfire `json:"misfire,omitempty"`
}

// Misfire is the policy for schedule ticks that were not handled on time (the server was down).
type Misfire string

// Misfire policies.
const (
	// MisfireSkip drops missed ticks: the next run is at the next tick.
	MisfireSkip Misfire = "skip"
	// MisfireRunOnce starts one catch-up run for all the ticks missed, then goes on with the next.
	MisfireRunOnce Misfire = "run_once"
)

// OrDefault is m, or MisfireSkip when m is empty.
func (m Misfire) OrDefault() Misfire {
	if m == "" {
		return MisfireSkip
	}
	return m
}

// OnReject says what happens to a rejected row.
type OnReject string

// Reject policies.
const (
	DeadLetter OnReject = "dead_letter" // kept in the dead-letter sink with file, line, field and reason
	Drop       OnReject = "drop"        // counted and discarded
	Fail       OnReject = "fail"        // the first rejected row fails the run
)

// Resources bound what one run of a pipeline may use.
type Resources struct {
	// MemoryMB is the memory, in MiB, the run's stateful transforms (dedup keep last, aggregate,
	// join's lookup side) share for their state; beyond it they spill to disk (0: the server default).
	MemoryMB int64 `json:"memory_mb,omitempty"`
}

// The bounds of resources.memory_mb.
const (
	MinMemoryMB = 1
	MaxMemoryMB = 1 << 20
)

// ErrorPolicy says what happens to rows that cannot be read, transformed or written.
type ErrorPolicy struct {
	OnReject OnReject `json:"on_reject"`
	// MaxRejectRatio fails the run when rejected rows exceed this share of the rows read (0..1).
	// Nil: no limit.
	MaxRejectRatio *float64 `json:"max_reject_ratio,omitempty"`
}

// Position is a line and column (1-based) in a spec document.
type Position struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// PositionOf returns where the value at path was written in the parsed document, falling back to
// its closest parent that was written; ok is false for specs not read by Parse.
func (s *Spec) PositionOf(path string) (Position, bool) {
	if s == nil {
		return Position{}, false
	}
	return positionOf(s.pos, path)
}

func positionOf(m map[string]Position, path string) (Position, bool) {
	if m == nil {
		return Position{}, false
	}
	for p := path; ; {
		if pos, ok := m[p]; ok {
			return pos, true
		}
		parent := parentPath(p)
		if parent == p {
			return Position{}, false
		}
		p = parent
	}
}

// parentPath drops the last segment of a path: a.b[2] -> a.b, a.b -> a, a -> "".
func parentPath(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case '.':
			return p[:i]
		case '[':
			return p[:i]
		}
	}
	return ""
}

// NodeIDs returns every node id in spec order: sources, transforms, destinations.
func (s *Spec) NodeIDs() []string {
	var out []string
	for _, n := range s.Sources {
		out = append(out, n.ID)
	}
	for _, n := range s.Transforms {
		out = append(out, n.ID)
	}
	for _, n := range s.Destinations {
		out = append(out, n.ID)
	}
	return out
}
