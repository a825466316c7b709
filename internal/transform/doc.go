// Package transform holds the transformation nodes (map, expression, filter, validate, cleanse, dedup,
// union, join, aggregate, window, stream_dedup) and Preview, which runs one node on sample rows. The expression language
// the nodes share (compilation, function library, fast path) is the subpackage expr.
//
// node.go is the contract the engine drives: a Definition's New validates and compiles a config once
// per run; Init checks field references against the input schemas and returns the output schema;
// Process turns batches into output batches and rejects; Flush emits what stateful nodes held back.
// Builtins returns every definition as a value for the registry that internal/app builds. A node is
// used by one goroutine at a time. Rows a node cannot handle go to Output.Reject naming the field and
// the reason; a batch's own Rejects were already handled by the engine and are not passed on.
// Stateful nodes say so (Stateful); those that can save their state in a checkpoint implement
// Checkpointed (window.go, streamdedup.go, with state.go's exact encoding of values and accumulators).
package transform
