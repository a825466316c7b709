// Package configspec is the one declarative description of a component's configuration. A connector or
// a transformation declares its parameters once, as a Spec; from it come the JSON Schema the API serves
// and the UI draws forms from, validation that reports every problem with its path, strict decoding
// into the component's typed config struct (unknown keys are errors), defaults, docs, and redaction of
// secret fields. Nothing else in the code base re-describes a component's configuration.
package configspec
