// Package sqlkit is the connector kit for SQL databases: what the postgres, mysql and sqlserver
// connectors share. It holds identifier quoting per dialect, the checkpoint state of keyset-chunked
// and incremental reads, keyset predicates, the kind compatibility rules used for schema evolution,
// isolation of bad rows after a failed bulk load, secret scrubbing for errors, a database/sql
// based reader and writer driven by a Dialect, the commit markers that make a resumed write exactly
// once (Marks, in table _aggregator_commits), and Kit: the decode-connect-work-close-scrub steps every
// connector operation repeats, written once (Use, Hand, ForWriter).
//
// Identifiers are always quoted by the dialect's Quote; values only ever travel as parameters or bulk
// load data. Nothing here holds package-level mutable state.
package sqlkit
