// Package record is the data that flows through a pipeline: typed values, schemas and batches.
//
// A Value is a small immutable tagged union (null, bool, int64, float64, decimal, string, bytes, date,
// timestamp, json). Records travel in a Batch whose rows share one Schema; a batch owns one backing
// array of values, so the hot path allocates per batch, not per field. Rows that a node could not
// process travel beside the good ones as Rejects, each naming where it came from and why.
//
// Values, schemas and batches are not safe for concurrent mutation; a batch handed to the next node
// belongs to it.
package record
