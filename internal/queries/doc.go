// Package queries runs analytics queries: one read-only SQL statement over a saved database
// connector (postgres, mysql, sqlserver), with a statement timeout the database enforces and a row
// cap, and keeps saved queries with their chart settings. The database refuses writes (the
// connector's connector.Querier runs the statement read-only); nothing here inspects the SQL. A
// result streams from the database: Run stops reading at the row cap and says truncated; Stream
// hands batches to an export writer up to the export cap. Safe for concurrent use.
package queries
