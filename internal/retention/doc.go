// Package retention keeps the metadata store and DATA_DIR from growing without end: it holds the
// retention settings (how long finished runs, dead letters, server log lines, unreferenced uploads,
// staged outputs of abandoned runs and the metrics history's 1-minute, 1-hour and 1-day points are
// kept; stored under the "retention" settings key, with defaults) and the clean-up that deletes
// what is older.
//
// Clean deletes in bounded batches (each statement removes at most BatchSize rows, so no clean-up
// holds a long transaction), works the same on SQLite and PostgreSQL, never touches a queued or
// running run or what such a run still needs, and returns what it removed. It is safe to run
// concurrently with itself and with runs. Every clean-up is audited (action "retention.cleanup"):
// RunScheduled writes the entry of a periodic one; the API writes the entry of POST
// /api/v1/admin/cleanup. What counts as orphaned or abandoned is defined in docs/runs.md.
package retention
