// Package conformance is the one test suite every connector passes. A connector's test calls
//
//	conformance.Run(t, conformance.Harness{Connector: csv.New(), NewTarget: ..., Kinds: ...})
//
// and the suite checks the connector contract end to end: the spec is well formed; every record kind and
// NULL round-trips exactly as the harness declares (no kind may go undeclared, so nothing is skipped
// silently); an empty stream; a stream far larger than one batch arrives complete, in order and in
// bounded batches; cancelling the context stops a read promptly; a read resumes from a checkpoint with
// exactly the remaining rows; each declared write mode behaves (append adds, overwrite replaces
// atomically and Abort keeps the old data, upsert updates by key) and undeclared modes are refused
// with connector.ErrUnsupported; a writer resumes from its last commit; Check accepts a good config
// and refuses bad ones clearly; Discover returns the stream with its fields.
//
// Round trips need both halves of a connector: a source-only connector supplies Harness.Seed to put
// rows in place, a destination-only one Harness.Fetch to read them back.
package conformance
