package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// This file is what the change-capture connector (postgres_cdc) uses of this one: the connection
// (dialled through the outbound guard, with the same messages), the catalog and the text decoding of
// values, so that a table read by either connector arrives with the same fields and values.

// Secrets returns what must never appear in errors or logs (the password, also as the URL holds it).
func (c Connection) Secrets() []string { return c.secrets() }

func (c Connection) config(timeout time.Duration, conns int) Config {
	return Config{Connection: c, TableConfig: sqlkit.TableConfig{MaxConnections: conns, ConnectTimeout: int(max(timeout/time.Second, 1))}}
}

// Connect opens a pool of at most conns connections through dial and checks that it can connect.
func (c Connection) Connect(ctx context.Context, dial connector.DialFunc, timeout time.Duration, conns int) (*pgxpool.Pool, error) {
	return c.config(timeout, conns).connect(ctx, dial)
}

// ConnectReplication opens a logical replication connection (replication=database) through dial.
func (c Connection) ConnectReplication(ctx context.Context, dial connector.DialFunc, timeout time.Duration) (*pgconn.PgConn, error) {
	pc, t, err := c.config(timeout, 1).poolConfig()
	if err != nil {
		return nil, err
	}
	cc := pc.ConnConfig.Config.Copy()
	cc.RuntimeParams["replication"] = "database"
	cc.RuntimeParams["TimeZone"] = "UTC" // timestamps arrive in text form; UTC reads them exactly
	cc.LookupFunc = func(_ context.Context, host string) ([]string, error) { return []string{host}, nil }
	cc.DialFunc = pgconn.DialFunc(dial)
	conn, err := pgconn.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, connError(err, t, c.secrets())
	}
	return conn, nil
}

// TableInfo describes a table for change capture: its fields (as this connector reads them), the
// PostgreSQL type name of each, and its primary key.
type TableInfo struct {
	Schema, Name string
	Fields       []record.Field
	Types        []string // pg_type.typname of each field; arrays are "_elem"
	Key          []string
}

// Qualified is the quoted schema.name.
func (t *TableInfo) Qualified() string { return sqlkit.Qualified(q, t.Schema, t.Name) }

// FindTable looks a table up in the catalog (schema "" is the first of the search_path); a missing
// table is connector.ErrNotFound.
func FindTable(ctx context.Context, pool *pgxpool.Pool, schema, name string) (*TableInfo, error) {
	t, err := findTable(ctx, pool, schema, name)
	if err != nil {
		return nil, err
	}
	out := &TableInfo{Schema: t.schema, Name: t.name, Key: t.pk}
	for _, c := range t.cols {
		f := c.field()
		if c.isArray() {
			f.Kind = record.KindString // arrays arrive in PostgreSQL's text form ({1,2,3})
		}
		out.Fields = append(out.Fields, f)
		out.Types = append(out.Types, c.typname)
	}
	return out, nil
}

// TypeField is the field a column of type oid with modifier typmod (as a logical replication
// relation message describes it) is read as, as FindTable gives it: arrays as text.
func TypeField(ctx context.Context, pool *pgxpool.Pool, name string, oid uint32, typmod int32) (record.Field, error) {
	c := column{name: name, typmod: typmod}
	if err := pool.QueryRow(ctx, "SELECT t.typname, t.typcategory::text, format_type($1::oid, $2::int) FROM pg_type t WHERE t.oid = $1::oid",
		oid, typmod).Scan(&c.typname, &c.category, &c.format); err != nil {
		return record.Field{}, Wrap(fmt.Sprintf("read type %d", oid), err)
	}
	f := c.field()
	if c.isArray() {
		f.Kind = record.KindString
	}
	return f, nil
}

// DecodeText reads a value in PostgreSQL's text output form (as logical replication and ::text
// send it) as kind k.
func DecodeText(s string, k record.Kind) (record.Value, error) {
	return decodeText(s, 0, k)
}

// Wrap adds context to a PostgreSQL error and marks transient failures (connector.ErrTransient)
// and missing tables (connector.ErrNotFound).
func Wrap(what string, err error) error { return wrap(what, err) }

// Quote quotes an identifier.
func Quote(s string) string { return q(s) }

// ErrorCode is the SQLSTATE of a server error, or "".
func ErrorCode(err error) string { return pgCode(err) }
