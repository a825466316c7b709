// Package connector is the connector SDK: the contract every source and destination implements, the
// registry the application builds, and (in package connector/conformance) the suite every connector passes.
//
// A connector is a value with a Spec. It may implement Checker, Discoverer, Source and Destination;
// these are small optional interfaces, checked with type assertions. Configuration arrives as raw
// JSON-like maps, is validated against Spec.Config (a configspec.Spec) and decoded strictly by the
// connector itself.
//
// Contexts: the ctx given to Open/Check/Discover bounds that call and, for a Reader or Writer, its
// whole life (cancelling it stops the read or write promptly). Readers and Writers are used by one
// goroutine at a time.
//
// Checkpoints: a Reader's State after a batch resumes reading after that batch. The engine saves a
// state only after every destination has committed (Writer.Commit) all rows that came before it, so a
// resumed run loses nothing; with upsert it duplicates nothing.
package connector
