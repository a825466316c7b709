package connector

import (
	"fmt"

	"github.com/dataaggregator/aggregator/internal/registry"
)

// Registry maps connector type names to connectors. Build one in the composition root with the
// connectors the application offers; tests build one with what they need.
type Registry struct {
	r *registry.Registry[Connector]
}

// NewRegistry builds a registry; it fails on a duplicate or empty name.
func NewRegistry(cs ...Connector) (*Registry, error) {
	r, err := registry.New("connector", func(c Connector) string { return c.Spec().Name }, cs...)
	if err != nil {
		return nil, err
	}
	return &Registry{r: r}, nil
}

// Add registers a connector.
func (r *Registry) Add(c Connector) error { return r.r.Add(c) }

// Get returns the named connector or an error listing the known ones.
func (r *Registry) Get(name string) (Connector, error) { return r.r.Get(name) }

// Source returns the named connector as a Source.
func (r *Registry) Source(name string) (Source, Spec, error) {
	c, err := r.Get(name)
	if err != nil {
		return nil, Spec{}, err
	}
	s, ok := c.(Source)
	if !ok || !c.Spec().Source {
		return nil, Spec{}, fmt.Errorf("connector type %q cannot be a source", name)
	}
	return s, c.Spec(), nil
}

// Destination returns the named connector as a Destination.
func (r *Registry) Destination(name string) (Destination, Spec, error) {
	c, err := r.Get(name)
	if err != nil {
		return nil, Spec{}, err
	}
	d, ok := c.(Destination)
	if !ok || !c.Spec().Destination {
		return nil, Spec{}, fmt.Errorf("connector type %q cannot be a destination", name)
	}
	return d, c.Spec(), nil
}

// Names lists the registered type names, sorted.
func (r *Registry) Names() []string { return r.r.Names() }

// Specs lists every connector's spec, sorted by name.
func (r *Registry) Specs() []Spec {
	all := r.r.All()
	out := make([]Spec, len(all))
	for i, c := range all {
		out[i] = c.Spec()
	}
	return out
}
