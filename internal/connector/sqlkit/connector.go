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
		Name:          name,
		Title:         title,
		Description:   description,
		Category:      "database",
		Source:        true,
		Destination:   true,
		Config:        config,
		WriteModes:    []connector.WriteMode{connector.Append, connector.Overwrite, connector.Upsert},
		Incremental:   true,
		Partitionable: true,
	}
}

// Logger is env's logger, or one that discards.
func Logger(env connector.Env) *slog.Logger {
	if env.Logger != nil {
		return env.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// BindServer declares host, port, user and password on b, bound to s, with the database's defaults.
func (s *ServerConfig) BindServer(b *configspec.Builder, port int, user, userDescription string) {
	s.BindAddress(b, port)
	s.BindLogin(b, user, userDescription)
}

// BindAddress declares host and port (for a connector that puts a parameter between them and the login).
func (s *ServerConfig) BindAddress(b *configspec.Builder, port int) {
	b.String(&s.Host, "host").Default("127.0.0.1").Doc("Server host name or IP address.")
	b.Int(&s.Port, "port").Default(port).Min(1).Max(65535).Doc("Server port.")
}

// BindLogin declares user and password.
func (s *ServerConfig) BindLogin(b *configspec.Builder, user, userDescription string) {
	b.String(&s.User, "user").Default(user).Doc(userDescription)
	b.String(&s.Password, "password").Secret().Doc("Password.")
}

// BindTable declares the parameters naming what to read or write and how (table, query, key,
// batch_size, max_connections, connect_timeout); keyDefault says what key defaults to.
func (t *TableConfig) BindTable(b *configspec.Builder, keyDefault string) {
	b.String(&t.Table, "table").PerPipeline().Doc("Table or view to read, or table to write (default: the pipeline's stream name).")
	b.String(&t.Query, "query").PerPipeline().Doc("A custom SELECT to read instead of a table (source only).")
	b.Strings(&t.Key, "key").PerPipeline().Doc("Columns that identify a row, for keyset chunking and as the incremental tie-breaker (default: " + keyDefault + ").")
	b.Int(&t.BatchSize, "batch_size").PerPipeline().Default(10000).Min(1).Max(1000000).Doc("Rows per read chunk.")
	b.Int(&t.MaxConnections, "max_connections").Default(4).Min(1).Max(100).Doc("Connection pool limit per reader or writer.")
	b.Int(&t.ConnectTimeout, "connect_timeout").Default(10).Min(1).Doc("Seconds to wait for a connection.")
	t.BindPartition(b)
}

// BindNullCursor declares null_cursor, the NULL-cursor policy of incremental reads.
func (t *TableConfig) BindNullCursor(b *configspec.Builder) {
	b.String(&t.NullCursor, "null_cursor").PerPipeline().Default("skip").Enum("skip", "fail").
		Doc("Incremental reads: rows whose cursor is NULL are skipped with a warning (skip) or fail the read (fail).")
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

// ServerConfig is where a database server is and how to log in, embedded in a connector's Config;
// BindServer (or BindAddress and BindLogin) declares its parameters.
type ServerConfig struct {
	Host     string
	Port     int
	User     string
	Password string
}

// TableConfig is what to read or write and how, embedded in a connector's Config; BindTable and
// BindNullCursor declare its parameters.
type TableConfig struct {
	Table          string
	Query          string
	Key            []string
	BatchSize      int
	MaxConnections int
	ConnectTimeout int
	NullCursor     string
	Partition      *PartitionConfig
}

// TableAndQuery is what the config names to read.
func (c TableConfig) TableAndQuery() (table, query string) { return c.Table, c.Query }
