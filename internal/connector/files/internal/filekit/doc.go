// Package filekit holds what every file connector shares, so that each connector package holds only
// its format: the common config (Source and the path, upload, infer_rows, types, max_record_bytes
// params), Connector, the generic connector (Check, Discover, Open, OpenWriter) made of a small
// per-format Format interface, confinement of local paths to the configured roots (several roots
// searched in order, symlinks resolved, ".." escapes refused), upload resolution, input opening with
// gzip detection and resumable seeking, a read window that caps one record's size, the batch loop and
// reject building readers share (Batches, Reject, TextSchema), and Sink, the atomic, resumable
// destination file (temp file + fsync + rename, commit records in a sidecar) with SinkWriter giving a
// writer its commit methods.
package filekit
