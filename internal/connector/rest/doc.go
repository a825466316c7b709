// Package rest is the generic REST connector (type "rest"): a source that pages through a JSON API
// and a destination that sends records to one, configured only by data (URL with {placeholders},
// method, headers, params, auth, records_path, pagination, incremental cursor). The HTTP parts
// (auth, retries, rate, timeouts, size cap, pagination, records extraction) are httpkit's.
//
// Source: Open reads the first page to infer the schema (nested objects become json fields, or
// are flattened with flatten: true); each batch is the rest of one page. The checkpoint is the URL
// of the page being read, how many of its records were emitted and, for incremental reads, the
// cursor this run started from and the highest cursor seen; a resumed run fetches that page again
// and skips what it emitted. An incremental read sends the saved cursor as incremental.param (or
// in a {cursor} placeholder) and keeps only records whose cursor is above it.
//
// Destination: records are buffered until Commit, then go out one by one or in batches (a JSON
// array or NDJSON body); each request carries an idempotency key derived from the run, the node,
// the position of its first record in the run and its body. A resumed run (ResumableWriter) sends
// the records after the checkpoint from the same positions, so one-record requests carry the same
// keys again; a batch does when the resumed run commits at the same rows.
package rest
