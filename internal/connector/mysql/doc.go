// Package mysql is the MySQL and MariaDB connector (go-sql-driver/mysql), a source and a destination.
//
// Source: a table, a view or a custom SQL query; full refresh or incremental by a cursor column with
// the primary key (or the configured key) as tie-breaker; keyset chunks when there is a key.
// Discover reads information_schema.
//
// Destination: creates the table (utf8mb4, binary collation; see docs/connectors/mysql.md for the
// type mapping), adds new source columns, refuses incompatible ones; loads append and overwrite rows
// with LOAD DATA LOCAL INFILE streamed from memory as the rows arrive, rolled back and redone with INSERT when the server raises
// any warning (with LOCAL, data errors are only warnings), and upserts with batched multi-row INSERT
// sized by max_allowed_packet and the placeholder limit; append, overwrite (staging table and
// an atomic RENAME TABLE) and upsert (INSERT ... ON DUPLICATE KEY UPDATE). Sessions run in strict
// SQL mode and UTC, so a bad value fails its row instead of being silently truncated.
//
// The reader and writer are sqlkit's database/sql Reader and Writer driven by this package's Dialect.
package mysql
