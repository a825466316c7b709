// Package excel is the Excel (.xlsx) file connector, a source and a destination.
//
// The reader streams a sheet with excelize's row iterator (large worksheets are spilled to a temp file
// by excelize, not held in memory). Before excelize opens a workbook, every part is checked against the
// limits in guard.go (total and in-memory inflated sizes, one cell, one row, the shared strings): a zip
// bomb fails with an error wrapping ErrLimit that names the file, the part and the limit. The check and
// the reader stop when their context is cancelled; excelize's temp files live in a directory of the
// workbook's own, removed on Close and on every error. Cells are typed: numbers come back exactly as stored, booleans as
// bool, cells formatted as dates as dates or timestamps; the column types are inferred from the first
// infer_rows rows after the header row (overrides by types and by the engine). A cell that does not
// parse as its column's declared type becomes a record.Reject naming the file, sheet row and column.
// A corrupt or password-protected workbook (without the right password), or a missing sheet, fails
// with an error naming the file. The checkpoint is the number of sheet rows consumed.
//
// The writer supports overwrite: rows are appended to a durable spool beside the target (through
// filekit.Sink, so Commit is an fsync and a resumed run continues from its last commit); Close turns
// the spool into the workbook with excelize's StreamWriter (dates and timestamps as date cells,
// integers beyond 2^53 and inexact decimals as text so that nothing is rounded), fsyncs it and renames
// it over the old file. Abort removes the spool and leaves the old file intact.
package excel
