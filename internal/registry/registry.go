package registry

import (
	"fmt"
	"slices"
	"strings"
)

// Registry maps names to components of one kind (connectors, transformations).
type Registry[T any] struct {
	kind   string
	nameOf func(T) string
	byName map[string]T
	names  []string // sorted
}

// New builds a registry of components of kind (used in messages: "connector", "transformation")
// whose names nameOf gives. It fails on an empty or duplicate name.
func New[T any](kind string, nameOf func(T) string, items ...T) (*Registry[T], error) {
	r := &Registry[T]{kind: kind, nameOf: nameOf, byName: make(map[string]T, len(items))}
	for _, it := range items {
		if err := r.Add(it); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add registers a component; it fails on an empty or duplicate name.
func (r *Registry[T]) Add(item T) error {
	name := r.nameOf(item)
	if name == "" {
		return fmt.Errorf("%s %T has an empty name", r.kind, item)
	}
	if _, dup := r.byName[name]; dup {
		return fmt.Errorf("%s %q registered twice", r.kind, name)
	}
	r.byName[name] = item
	i, _ := slices.BinarySearch(r.names, name)
	r.names = slices.Insert(r.names, i, name)
	return nil
}

// Get returns the named component or an error listing the known names.
func (r *Registry[T]) Get(name string) (T, error) {
	if it, ok := r.byName[name]; ok {
		return it, nil
	}
	var zero T
	return zero, fmt.Errorf("unknown %s type %q (known: %s)", r.kind, name, strings.Join(r.names, ", "))
}

// Names lists the registered names, sorted. The caller may keep and modify the slice.
func (r *Registry[T]) Names() []string {
	return slices.Clone(r.names)
}

// All lists the registered components, sorted by name.
func (r *Registry[T]) All() []T {
	out := make([]T, len(r.names))
	for i, n := range r.names {
		out[i] = r.byName[n]
	}
	return out
}
