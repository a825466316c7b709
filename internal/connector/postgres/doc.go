// Package postgres is the PostgreSQL connector (pgx/v5), a source and a destination.
//
// Source: a table, a view or a custom SQL query; full refresh or incremental by a cursor column, with
// the primary key (or the configured key) as tie-breaker. Tables with a key are read in keyset chunks
// (ORDER BY key LIMIT n, WHERE key > last), each emitted in batches of 1,024 rows (or the engine's
// size) as it arrives, so memory stays flat and a run resumes after its last checkpoint. Discover reads the catalog.
//
// Destination: creates the table from the record schema (see docs/connectors/postgres.md for the type
// mapping), adds new source columns, refuses incompatible ones; loads with COPY; append, overwrite
// (staging table swapped in one transaction) and upsert (staging table + INSERT ... ON CONFLICT).
// Write encodes its rows into a buffer; when it holds copy_buffer_rows (8,192) rows or 1 MiB, one COPY
// loads it in the background (under the Write's context) while the next Writes fill a second buffer.
// Commit waits for that load, loads the rest and commits the transaction; Abort waits for it and
// rolls back. Rows the table refuses come back as *connector.RowError while every other row is
// written: rows Write itself cannot convert from that Write with their index, rows the server
// refuses from a later Write or from Commit (after committing the rest) with Index -1, the source
// position and a message naming table, key or source row, and column. copy_buffer_rows 0 loads each Write with its own COPY before it returns, so every
// refused row comes back from its Write with its index.
//
// Identifiers are always quoted; values only travel as parameters or COPY data. The password never
// appears in errors or logs.
package postgres
