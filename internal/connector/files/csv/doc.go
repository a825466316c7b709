// Package csv is the CSV/TSV file connector, a source and a destination.
//
// The reader streams: it holds one record at a time (capped by max_record_bytes), infers column types
// from the first infer_rows records (overridden per column by types and by the engine), converts
// fields straight to typed values, and allocates per batch, not per field. A row it cannot read
// (unbalanced quote, wrong field count, invalid UTF-8, a value that does not parse as its column's
// type, an over-long record) becomes a record.Reject naming the file, line and field; reading goes
// on. A file-level problem (missing, empty without a header, unreadable) is an error naming the file.
// The checkpoint is the byte offset and line after the last row returned.
//
// The writer writes through filekit.Sink: overwrite is atomic (temp file renamed on Close), append
// appends (checking the existing header), Commit fsyncs and records the committed offset, and a
// resumed run continues from its last commit. NULL is written as the first null value (empty by
// default) and an empty string as "", so both read back as they were; bytes are written as base64.
package csv
