// Package jsonrec turns JSON objects into typed rows and back, for the JSON, NDJSON and REST connectors:
// a walker over one validated object's fields (no map, no reflection), type inference over sample
// objects, conversion of a field's JSON text to a value of its column's kind, and encoding of rows.
package jsonrec
