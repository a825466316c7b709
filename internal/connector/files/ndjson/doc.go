// Package ndjson is the newline-delimited JSON file connector (one object per line), a source and a
// destination.
//
// The reader streams line by line (each line capped by max_record_bytes), infers the schema from the
// first infer_rows objects (field order of first appearance; overrides by types and by the engine),
// and converts each field straight to a typed value. A line that is not a JSON object, or a value
// that does not convert to its field's type, becomes a record.Reject naming the file, line and field;
// keys not in the schema are ignored. The checkpoint is the byte offset and line after the last row.
// An empty file is an empty stream. The writer writes one object per line through filekit.Sink
// (atomic overwrite, append, durable Commit, resume from the last commit).
package ndjson
