package connector

import (
	"fmt"
	"sort"
	"strings"
)

// Registry maps connector type names to connectors. Build one in the composition root with the
// connectors the application offers; tests build one with what they need.
type Registry struct {
	byName map[string]Connector
}

// NewRegistry builds a registry; it fails on a duplicate or empty name.
func NewRegistry(cs ...Connector) (*Registry, error) {
	r := &Registry{byName: make(map[string]Connector, len(cs))}
	for _, c := range cs {
		if err := r.Add(c); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add registers a connector.
func (r *Registry) Add(c Connector) error {
	name := c.Spec().Name
	if name == "" {
		return fmt.Errorf("connector %T has an empty name", c)
	}
	if _, dup := r.byName[name]; dup {
		return fmt.Errorf("connector %q registered twice", name)
	}
	r.byName[name] = c
	return nil
}

// Get returns the named connector or an error listing the known ones.
func (r *Registry) Get(name string) (Connector, error) {
	if c, ok := r.byName[name]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("unknown connector type %q (known: %s)", name, strings.Join(r.Names(), ", "))
}

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
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.byName))
	for n := range r.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Specs lists every connector's spec, sorted by name.
func (r *Registry) Specs() []Spec {
	out := make([]Spec, 0, len(r.byName))
	for _, n := range r.Names() {
		out = append(out, r.byName[n].Spec())
	}
	return out
}
