// Package parquet is the Parquet file connector (type "parquet"), a source and a destination, and the
// Parquet encoder the export package shares. Types map without loss (see docs/connectors/parquet.md):
// the writer stores the record schema in the file's key-value metadata ("aggregator.schema") so that
// what has no exact Parquet type (a decimal of unknown scale, an all-null field) reads back as it was
// written. The reader goes row group by row group and refuses, naming the file, a row group or page
// larger than its caps before it allocates for it, and a truncated or non-Parquet file.
package parquet
