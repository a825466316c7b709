package transform

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/registry"
)

// Spec describes a transformation type.
type Spec struct {
	Name        string          `json:"name"` // the type name used in pipeline specs: map, filter, ...
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Config      configspec.Spec `json:"-"`
	// MinInputs and MaxInputs bound the number of inputs (MaxInputs 0: no upper bound).
	MinInputs int `json:"min_inputs"`
	MaxInputs int `json:"max_inputs"`
}

// Definition is a transformation type: its spec and how to build a node from a config.
type Definition struct {
	Spec Spec
	// New validates and compiles config (expressions are compiled here, once per run) and returns a
	// fresh node. Config problems come back as configspec.Errors with paths relative to the config.
	New func(config map[string]any) (Node, error)
}

// Node is one transformation in a running pipeline. The engine calls Init once with the schemas of
// its inputs (in the order of the spec's inputs), then Process for each batch from input i, then
// Flush once when every input has ended. A node is used by one goroutine at a time. Process may
// keep no reference to in after it returns (the engine may reuse it) unless it emits it.
type Node interface {
	Init(inputs []*record.Schema) (*record.Schema, error)
	Process(ctx context.Context, input int, in *record.Batch, out Output) error
	Flush(ctx context.Context, out Output) error
}

// Output receives what a node produces. Emit passes a batch (of the schema Init returned) downstream.
// Reject sends a row to the error policy (dead letter, drop, or fail); when Reject returns an error
// the node must return it. Count adds to a per-node counter.
type Output interface {
	Emit(b *record.Batch) error
	Reject(r record.Reject) error
	Count(c Counter, n int64)
}

// Counter names a per-node counter besides records in and out.
type Counter string

// Counters.
const (
	Deduplicated Counter = "deduplicated"
	Filtered     Counter = "filtered"
	Dropped      Counter = "dropped" // rows a validate rule dropped without dead-lettering
)

// Stateful is implemented by nodes whose output depends on rows seen earlier in the run (dedup,
// aggregate, unique checks). The engine cannot resume such a pipeline mid-stream from a checkpoint;
// it restarts the run from the beginning instead, and says so in the run log.
type Stateful interface {
	Stateful() bool
}

// Checkpointed is implemented by stateful nodes that can put their state in a run's checkpoint
// (window, stream_dedup). The engine asks for State at every checkpoint, between two batches, so it
// matches the source positions saved beside it, and calls Restore after Init on a run that resumes
// from that checkpoint. A pipeline whose stateful nodes are all Checkpointed therefore commits its
// source positions as it goes and resumes mid-stream instead of restarting. When a stream run is
// stopped (not at the end of its input), the engine does not Flush these nodes: their state goes into
// the final checkpoint and the next run of the same spec goes on from it.
type Checkpointed interface {
	Stateful
	State() (json.RawMessage, error)
	Restore(state json.RawMessage) error
}

// Ticker is implemented by nodes that act on the passing of time as well as on rows (window's
// idle_timeout). The engine calls Tick between batches, on the goroutine that runs the nodes, about
// every commit or progress interval while it reads the sources, with its clock's time; what Tick
// emits goes downstream as from Process. Nodes that implement it run sequentially.
type Ticker interface {
	Tick(ctx context.Context, now time.Time, out Output) error
}

// LookupInputs is implemented by nodes (join) some of whose inputs must be read to the end before
// the others are fed: the engine drains those inputs first.
type LookupInputs interface {
	LookupInputs() []int
}

// Registry maps transformation type names to definitions. Build it in the composition root.
type Registry struct {
	r *registry.Registry[Definition]
}

// NewRegistry builds a registry; it fails on a duplicate, empty or incomplete definition.
func NewRegistry(defs ...Definition) (*Registry, error) {
	for _, d := range defs {
		if d.Spec.Name != "" && d.New == nil {
			return nil, fmt.Errorf("transformation %q has no constructor", d.Spec.Name)
		}
	}
	r, err := registry.New("transformation", func(d Definition) string { return d.Spec.Name }, defs...)
	if err != nil {
		return nil, err
	}
	return &Registry{r: r}, nil
}

// Get returns the named definition or an error listing the known ones.
func (r *Registry) Get(name string) (Definition, error) { return r.r.Get(name) }

// Names lists the registered type names, sorted.
func (r *Registry) Names() []string { return r.r.Names() }

// Specs lists every definition's spec, sorted by name.
func (r *Registry) Specs() []Spec {
	all := r.r.All()
	out := make([]Spec, len(all))
	for i, d := range all {
		out[i] = d.Spec
	}
	return out
}
