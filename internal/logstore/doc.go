// Package logstore keeps the server's own structured log records in the metadata store, for the
// System logs page (docs/system-logs.md).
//
// NewHandler wraps the process's slog.Handler: every record still goes to the process log, and is
// also handed to a Writer, which stores records in batches from one goroutine. A request or a run
// never waits on the store: Enqueue does not block, and when the bounded buffer is full the record
// is dropped and counted (Stats). Secrets are kept out: LogValuer values are resolved (types that
// redact themselves stay redacted) and secret-named attributes are replaced. Records are removed by
// the retention clean-up after the server_logs period (internal/retention).
package logstore
