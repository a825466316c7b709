// Package engine runs a planned pipeline (pipeline.Plan): it opens the sources, initialises the
// transformation nodes with their input schemas, opens the destination writers, and streams batches
// from sources through the DAG to destinations in constant memory. It knows nothing of HTTP or the
// metadata store; what it needs from its caller are small interfaces it defines:
//
//   - Checkpointer loads and saves checkpoints. A checkpoint (per-source reader state, per-destination
//     commit tokens, the dead-letter sink's token and the counters) is saved only after every
//     destination has committed every row that came before it. A run given an unfinished checkpoint
//     resumes from it; a pipeline with a stateful node (dedup, aggregate, join lookups) restarts from
//     the beginning instead and rewinds its destinations to where the run began. Stateful nodes that
//     are transform.Checkpointed (window, stream_dedup) save their state in each checkpoint instead, restored on
//     resume; a stopped stream run does not flush them but carries their state to its next run.
//     Nodes that are transform.Ticker (window's idle_timeout) get the time between batches.
//   - DeadLetterSink receives rejected rows when the error policy is dead_letter.
//   - Options.Progress receives progress snapshots (per-node counters) for a progress bar or a
//     WebSocket.
//
// Concurrency: each source is read in its own goroutine and each destination writes in its own, so
// parsing, transforming and encoding overlap; transformation nodes run on the goroutine that called
// Run, one batch at a time. Cancelling the context stops a run promptly and aborts every writer (an
// overwrite leaves the old data intact). Preview runs the first rows through every node and writes
// nothing.
package engine
