// Package postgrescdc is the PostgreSQL change-capture source (type postgres_cdc): it reads the
// changes of the listed tables from a logical replication slot with the pgoutput plugin
// (github.com/jackc/pglogrepl), after an optional initial snapshot.
//
// Each record carries the table's columns (the row after the change; for a delete, the old row's
// values the server sends: the key, or every column under REPLICA IDENTITY FULL) and the fields
// _op (insert, update or delete), _table (schema.name), _before (the old row as a JSON object, or
// null when the server sends none), _lsn (the commit's LSN, as 0/16B3748) and _commit_ts. An update
// that changes the primary key arrives as a delete of the old key followed by the update.
//
// The initial snapshot is read in a REPEATABLE READ transaction on the snapshot the slot exported
// when it was created, and the stream starts at the slot's consistent point, so nothing is missed or
// read twice. A run cut short during the snapshot starts it again (the slot is recreated).
//
// The reader's State is the end LSN of the last transaction it returned completely, and how many
// changes of a transaction it returned in part. Its Ack (connector.Acker), called only after every
// destination committed, confirms that LSN to the server (the slot's confirmed_flush_lsn); the slot
// never advances any other way, except past WAL of other tables while every change returned is
// acknowledged. Standby status updates go out every status_interval so the walsender does not time
// out. A slot that is gone while the checkpoint says the stream was running stops the run with an
// error that says to re-snapshot.
package postgrescdc
