// Package runner holds what running a pipeline needs besides the engine, shared by the CLI
// (`aggregator run`) and the server's run executor (internal/runs), so that both behave the same:
//
//   - DeadLetter is the one format of a rejected row (node, source, line, field, reason, raw,
//     values) in the CLI's dead-letter file and in the API's dead-letter download, as NDJSON or CSV
//     (DeadLetterCSVHeader, DeadLetter.CSV).
//   - FileSink is the CLI's dead-letter sink: an NDJSON or CSV file, rewound on resume.
//   - FileCheckpointer keeps checkpoints in a JSON state file, replaced atomically.
//   - RateMeter turns progress snapshots into rows per second; Reporter shows progress on a
//     terminal (a bar) or in plain lines.
//
// The server's store-backed checkpointer and dead-letter sink live in internal/runs; they write the
// same DeadLetter values.
package runner
