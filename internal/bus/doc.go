// Package bus carries run events (runs.Bus) between the processes of one deployment: API nodes,
// `serve` processes with workers and `aggregator worker` processes on one PostgreSQL store.
//
//   - Postgres: LISTEN/NOTIFY on the store's database (one channel per schema). The run's
//     numbering lives in the table run_event_seqs, so every process numbers a run's events from
//     one counter. A NOTIFY payload stays under PostgreSQL's 8,000-byte limit: a larger event is
//     trimmed (a log line's details dropped and its message cut with a marker, a progress event
//     sent without its per-node counters, a status error cut).
//   - Redis: pub/sub on one channel under the key prefix; numbering with INCR on a key per run,
//     in the same script as the PUBLISH. No size limit.
//
// Both publish from one goroutine over one connection, in batches, through a bounded outbox:
// Publish never blocks, and an event that finds the outbox full, or is lost with a batch when the
// connection drops, is counted (Lost) and never retried. Both receive on one connection and hand
// every event to a local runs.Broker (subscribers, filters, Latest), their own included. A
// dropped connection is logged and reopened with backoff; events published meanwhile are lost,
// which subscribers see as a gap in the per-run numbers (live clients then re-read the run).
//
// New* connect first and return an error that names what failed; Close flushes the outbox (a
// short while) and stops the goroutines. Everything is safe for concurrent use.
package bus
