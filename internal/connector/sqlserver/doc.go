// Package sqlserver is the Microsoft SQL Server connector (go-mssqldb), a source and a destination.
//
// It follows the same contract as the postgres and mysql connectors, on sqlkit's database/sql
// Reader and Writer: tables, views or queries, full refresh or incremental by a cursor column with a
// key tie-breaker, keyset chunks (SELECT TOP (n) ... ORDER BY key); the destination creates and
// evolves tables, loads with the TDS bulk copy (mssql.CopyIn), upserts with a temp table and MERGE,
// and overwrites through a staging table swapped in by DROP + sp_rename in one transaction.
//
// No SQL Server runs where this was built: its SQL generation and type mapping are unit-tested, the
// rest has not been run against a server (see docs/connectors/sqlserver.md).
package sqlserver
