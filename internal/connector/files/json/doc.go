// Package json is the JSON file connector: records are the objects of an array, at the top level or
// at a path such as data.items. It is a source and a destination.
//
// The reader streams with encoding/json's token decoder: it walks to the array, then decodes one
// element at a time (each capped by max_record_bytes through a read window), so a file is never
// loaded whole. The schema is inferred from the first infer_rows objects. An element that is not an
// object, or a value that does not convert to its field's type, becomes a record.Reject naming the
// file, record number and field. A file that is not well-formed JSON, has no array where one is
// expected, or holds a record above the cap fails with an error naming the file, the byte offset and
// the record. The checkpoint is the number of elements consumed.
//
// The writer writes the array (inside its records_path objects) through filekit.Sink; the closing
// brackets are written at every Commit, so the committed file is always valid JSON, and append
// continues an existing array.
package json
