package sqlkit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
)

// DatabaseSpec is the Spec of a database connector: a source (full or incremental reads) and a
// destination with every write mode.
func DatabaseSpec(name, title, description string, config configspec.Spec) connector.Spec {
	return connector.Spec{
		Name:        name,
		Title:       title,
		Description: description,
		Category:    "database",
		Source:      true,
		Destination: true,
		Config:      config,
		WriteModes:  []connector.WriteMode{connector.Append, connector.Overwrite, connector.Upsert},
		Incremental: true,
	}
}

// Logger is env's logger, or one that discards.
func Logger(env connector.Env) *slog.Logger {
	if env.Logger != nil {
		return env.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// ServerParams are the host, port, user and password parameters, with the database's defaults.
func ServerParams(port int, user, userDescription string) []configspec.Param {
	return []configspec.Param{
		{Name: "host", Type: configspec.String, Default: "127.0.0.1", Description: "Server host name or IP address."},
		{Name: "port", Type: configspec.Integer, Default: port, Min: configspec.Ptr(1), Max: configspec.Ptr(65535), Description: "Server port."},
		{Name: "user", Type: configspec.String, Default: user, Description: userDescription},
		{Name: "password", Type: configspec.String, Secret: true, Description: "Password."},
	}
}

// TableParams are the parameters naming what to read or write and how (table, query, key,
// batch_size, max_connections, connect_timeout); keyDefault says what key defaults to.
func TableParams(keyDefault string) []configspec.Param {
	return []configspec.Param{
		{Name: "table", Type: configspec.String, Description: "Table or view to read, or table to write (default: the pipeline's stream name)."},
		{Name: "query", Type: configspec.String, Description: "A custom SELECT to read instead of a table (source only)."},
		{Name: "key", Type: configspec.Array, Items: &configspec.Param{Type: configspec.String}, Description: "Columns that identify a row, for keyset chunking and as the incremental tie-breaker (default: " + keyDefault + ")."},
		{Name: "batch_size", Type: configspec.Integer, Default: 10000, Min: configspec.Ptr(1), Max: configspec.Ptr(1000000), Description: "Rows per read chunk."},
		{Name: "max_connections", Type: configspec.Integer, Default: 4, Min: configspec.Ptr(1), Max: configspec.Ptr(100), Description: "Connection pool limit per reader or writer."},
		{Name: "connect_timeout", Type: configspec.Integer, Default: 10, Min: configspec.Ptr(1), Description: "Seconds to wait for a connection."},
	}
}

// NullCursorParam is the null_cursor parameter of incremental reads.
var NullCursorParam = configspec.Param{Name: "null_cursor", Type: configspec.String, Default: "skip", Enum: []string{"skip", "fail"}, Description: "Incremental reads: rows whose cursor is NULL are skipped with a warning (skip) or fail the read (fail)."}

// Params joins parameter lists into one spec.
func Params(lists ...[]configspec.Param) configspec.Spec {
	var s configspec.Spec
	for _, l := range lists {
		s.Params = append(s.Params, l...)
	}
	return s
}

// TableQuery is a config that names a table or a query to read.
type TableQuery interface {
	TableAndQuery() (table, query string)
}

// DecodeConfig decodes raw into a C by the spec and refuses a table and a query together.
func DecodeConfig[C TableQuery](spec connector.Spec, raw map[string]any) (C, error) {
	var c C
	if err := connector.DecodeConfig(spec, raw, &c); err != nil {
		return c, err
	}
	if table, query := c.TableAndQuery(); table != "" && query != "" {
		return c, connector.ConfigError(errors.New("table, query: set one of them, not both"))
	}
	return c, nil
}

// FindTable looks a table up in schema; a missing one is ErrNotFound naming the table and the
// container ("database" for MySQL, "schema" elsewhere).
func FindTable(ctx context.Context, d Dialect, db Queryer, schema, name, container string) (*Table, error) {
	ts, err := d.Tables(ctx, db, schema, name)
	if err != nil {
		return nil, fmt.Errorf("read catalog for %s.%s: %w", schema, name, err)
	}
	for _, t := range ts {
		if t.Name == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("table %q not found in %s %q: %w", name, container, schema, connector.ErrNotFound)
}

// Discover lists the tables and views of schema as streams with their primary keys and cursor
// candidates. Errors start with the dialect's name.
func Discover(ctx context.Context, d Dialect, db Queryer, schema string) (*connector.Catalog, error) {
	ts, err := d.Tables(ctx, db, schema, "")
	if err != nil {
		return nil, fmt.Errorf("%s: discover: %w", d.Name(), err)
	}
	cat := &connector.Catalog{Streams: []connector.Stream{}}
	for _, t := range ts {
		s, err := t.SchemaOf()
		if err != nil {
			return nil, fmt.Errorf("%s: discover %s: %w", d.Name(), t.Name, err)
		}
		st := connector.Stream{Name: t.Name, Namespace: t.Schema, Kind: t.Kind, Schema: s, PrimaryKey: t.PK, RowEstimate: t.Rows}
		for _, col := range t.Cols {
			if d.CursorCandidate(col) {
				st.CursorCandidates = append(st.CursorCandidates, col.Name)
			}
		}
		cat.Streams = append(cat.Streams, st)
	}
	return cat, nil
}

// NewTableReader starts the read of a custom query (when query is set) or of a table: table, or the
// request's stream when table is empty, looked up in the schema schemaOf names (container as in
// FindTable). o's columns, display name, relation and (when unset) key come from what it finds.
func NewTableReader(ctx context.Context, db *sql.DB, d Dialect, o ReadOptions, query, table, container string, schemaOf func(context.Context) (string, error)) (*Reader, error) {
	if query != "" {
		query = strings.TrimRight(strings.TrimSpace(query), ";")
		cols, err := d.DescribeQuery(ctx, db, query)
		if err != nil {
			return nil, fmt.Errorf("%s source: %w", d.Name(), err)
		}
		o.Cols, o.Display, o.From = cols, "query", "("+query+")"
		return NewReader(ctx, db, d, o)
	}
	name := table
	if name == "" {
		name = o.Req.Stream
	}
	if name == "" {
		return nil, connector.ConfigError(errors.New("table: required (or query, or a stream name)"))
	}
	schema, err := schemaOf(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s source: %w", d.Name(), err)
	}
	t, err := FindTable(ctx, d, db, schema, name, container)
	if err != nil {
		return nil, fmt.Errorf("%s source: %w", d.Name(), err)
	}
	o.Cols, o.Display, o.From = t.Cols, t.Schema+"."+t.Name, Qualified(d.Quote, t.Schema, t.Name)
	if len(o.Key) == 0 {
		o.Key = t.PK
	}
	return NewReader(ctx, db, d, o)
}

// CheckReadable checks that a custom query (when set) can be described, or that a table (when set)
// exists in the schema schemaOf names (container as in FindTable). Errors start with
// "<dialect>: check query" or "<dialect>: check table".
func CheckReadable(ctx context.Context, d Dialect, db Queryer, query, table, container string, schemaOf func(context.Context) (string, error)) error {
	switch {
	case query != "":
		if _, err := d.DescribeQuery(ctx, db, query); err != nil {
			return fmt.Errorf("%s: check query: %w", d.Name(), err)
		}
	case table != "":
		schema, err := schemaOf(ctx)
		if err != nil {
			return fmt.Errorf("%s: check table: %w", d.Name(), err)
		}
		if _, err := FindTable(ctx, d, db, schema, table, container); err != nil {
			return fmt.Errorf("%s: check table: %w", d.Name(), err)
		}
	}
	return nil
}

// ServerConfig is the decoded form of ServerParams, embedded in a connector's Config.
type ServerConfig struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	User     string `json:"user"`
	Password string `json:"password"`
}

// TableConfig is the decoded form of TableParams and NullCursorParam, embedded in a connector's
// Config.
type TableConfig struct {
	Table          string   `json:"table"`
	Query          string   `json:"query"`
	Key            []string `json:"key"`
	BatchSize      int      `json:"batch_size"`
	MaxConnections int      `json:"max_connections"`
	ConnectTimeout int      `json:"connect_timeout"`
	NullCursor     string   `json:"null_cursor"`
}

// TableAndQuery is what the config names to read.
func (c TableConfig) TableAndQuery() (table, query string) { return c.Table, c.Query }
