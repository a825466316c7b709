package postgrescdc

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
)

// Snapshot modes.
const (
	SnapshotInitial = "initial" // read the tables as they are, then stream the changes after
	SnapshotNever   = "never"   // stream the changes only
)

// The fields every record carries besides the table's columns. OpField's values are the
// operations; the SQL destinations apply OpDelete by key in upsert mode (sqlkit.OpField).
const (
	OpField       = "_op"
	TableField    = "_table"
	BeforeField   = "_before"
	LSNField      = "_lsn"
	CommitTSField = "_commit_ts"

	OpInsert = "insert"
	OpUpdate = "update"
	OpDelete = "delete"
)

// Config is the decoded configuration.
type Config struct {
	postgres.Connection
	Slot           string
	Publication    string
	Tables         []string
	Snapshot       string
	ConnectTimeout int
	StatusInterval int
	MaxWaitMS      int
}

var slotName = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

var configSpec = configspec.Describe(func(c *Config, b *configspec.Builder) {
	c.Connection.Bind(b)
	b.String(&c.Slot, "slot").Required().
		Doc("Name of the logical replication slot (lower-case letters, digits and _). It is created (pgoutput) when missing; it keeps WAL on the server until the pipeline has consumed it, so drop it when you delete the pipeline.").
		Example("aggregator_orders")
	b.String(&c.Publication, "publication").
		Doc("Publication the slot streams (default: the slot name). Created for the tables when missing; tables it lacks are added.")
	b.Strings(&c.Tables, "tables").Required().
		Doc("Tables to capture, as name or schema.name (default schema public). Records of several tables share one schema (the union of their columns) and say which table in _table.")
	b.String(&c.Snapshot, "snapshot").Default(SnapshotInitial).Enum(SnapshotInitial, SnapshotNever).
		Doc("initial: read the tables as they are first, then stream the changes after, without a gap or a duplicate. never: only the changes from the slot's position on.")
	b.Int(&c.ConnectTimeout, "connect_timeout").Default(10).Min(1).Doc("Seconds to wait for a connection.")
	b.Int(&c.StatusInterval, "status_interval").Default(10).Min(1).Max(3600).
		Doc("Seconds between standby status updates to the server (keep it below the server's wal_sender_timeout).")
	b.Int(&c.MaxWaitMS, "max_wait_ms").Default(100).Min(1).Max(60000).
		Doc("Milliseconds a batch waits for more changes once it has one.")
	c.BindApplicationName(b)
})

// Connector is the postgres_cdc connector type. It is stateless.
type Connector struct{}

// New returns the connector.
func New() *Connector { return &Connector{} }

var (
	_ connector.Source  = (*Connector)(nil)
	_ connector.Checker = (*Connector)(nil)
)

// Spec describes the connector.
func (c *Connector) Spec() connector.Spec {
	return connector.Spec{
		Name:        "postgres_cdc",
		Title:       "PostgreSQL change capture",
		Description: "Streams the inserts, updates and deletes of PostgreSQL tables from a logical replication slot (pgoutput), after an initial snapshot; the slot advances only after the destinations commit.",
		Category:    "stream",
		Source:      true,
		Unbounded:   true,
		Config:      configSpec,
	}
}

// tableRef is a table named in the config.
type tableRef struct{ schema, name string }

func (t tableRef) String() string { return t.schema + "." + t.name }

func decode(spec connector.Spec, raw map[string]any) (Config, []tableRef, error) {
	var c Config
	if err := connector.DecodeConfig(spec, raw, &c); err != nil {
		return c, nil, err
	}
	var errs []error
	if !slotName.MatchString(c.Slot) {
		errs = append(errs, fmt.Errorf("slot: %q: use 1 to 63 lower-case letters, digits and _", c.Slot))
	}
	if c.Publication == "" {
		c.Publication = c.Slot
	}
	var refs []tableRef
	seen := map[tableRef]bool{}
	for i, t := range c.Tables {
		schema, name, ok := strings.Cut(t, ".")
		if !ok {
			schema, name = "public", t
		}
		r := tableRef{schema: schema, name: name}
		switch {
		case schema == "" || name == "" || strings.Contains(name, "."):
			errs = append(errs, fmt.Errorf("tables[%d]: %q: give name or schema.name", i, t))
		case seen[r]:
			errs = append(errs, fmt.Errorf("tables[%d]: %s is listed twice", i, r))
		default:
			seen[r] = true
			refs = append(refs, r)
		}
	}
	if len(errs) > 0 {
		return c, nil, connector.ConfigError(errors.Join(errs...))
	}
	return c, refs, nil
}

func (c Config) timeout() time.Duration { return time.Duration(c.ConnectTimeout) * time.Second }

// Check connects and checks what change capture needs: wal_level = logical, a user with the
// REPLICATION attribute (or a superuser), and the tables.
func (c *Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	cfg, refs, err := decode(c.Spec(), raw)
	if err != nil {
		return err
	}
	pool, err := cfg.Connect(ctx, env.Dialer(), cfg.timeout(), 1)
	if err != nil {
		return err
	}
	defer pool.Close()
	var level string
	var repl bool
	if err := pool.QueryRow(ctx, "SELECT current_setting('wal_level'), (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user)").Scan(&level, &repl); err != nil {
		return postgres.Wrap("postgres_cdc: check", err)
	}
	var errs []error
	if level != "logical" {
		errs = append(errs, fmt.Errorf("the server runs with wal_level = %s; change capture needs logical (ALTER SYSTEM SET wal_level = logical, then restart the server)", level))
	}
	if !repl {
		errs = append(errs, fmt.Errorf("user %q lacks the REPLICATION attribute (ALTER ROLE %s REPLICATION)", cfg.User, cfg.User))
	}
	for i, ref := range refs {
		if _, err := postgres.FindTable(ctx, pool, ref.schema, ref.name); err != nil {
			errs = append(errs, fmt.Errorf("tables[%d]: %w", i, err))
		}
	}
	if len(errs) > 0 {
		return connector.ConfigError(fmt.Errorf("postgres_cdc: %w", errors.Join(errs...)))
	}
	return nil
}
