// Package configspec is the one declarative description of a component's configuration. A connector or
// a transformation declares its parameters once, as a Spec; from it come the JSON Schema the API serves
// and the UI draws forms from, validation that reports every problem with its path, strict decoding
// into the component's typed config struct (unknown keys are errors), defaults, docs, and redaction of
// secret fields. Nothing else in the code base re-describes a component's configuration.
//
// Describe builds a Spec from a binding function that declares each parameter on a Builder, tied to
// a field of the component's config type (as the flag package binds flags to variables): the struct
// carries no tags, and Decode fills it from the same declarations, defaults included at every level
// of nesting. A Spec is immutable once built and safe for concurrent use.
package configspec
