// Package metrics is the metrics history (docs/metrics.md): the Recorder turns the run events a
// process publishes into per-pipeline and per-node figures (rows in, out and rejected, bytes, runs
// started and finished, durations, dead letters, stream lag) and writes them in batches to the
// metadata store, which keeps them in 1-minute, 1-hour and 1-day buckets; the Service answers the
// analytics queries (time series, pipeline figures, the summary) over them.
//
// The Recorder sees the events of the runs this process executes (it is the runs service's
// Options.Metrics) and keeps everything in memory until its next flush (every FlushInterval, and
// at Close): a run costs a map update per event and the store one transaction per flush, never a
// write per record or per event. A run's counts come from its progress events (deltas of the
// cumulative counters) and, when it finishes, from its final counters as stored with the run, so
// a run's totals are exact even when progress events were skipped. A flush that fails keeps its
// figures for the next one (bounded by MaxPending keys; beyond that the oldest are dropped and
// logged).
//
// The Service validates every query and reports a bad one as a *FieldError naming the parameter.
// Both are safe for concurrent use and know nothing of HTTP.
package metrics
