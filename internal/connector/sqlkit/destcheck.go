package sqlkit

import (
	"context"
	"fmt"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
)

// Inspector is what a destination check reads from a database. It never writes.
type Inspector interface {
	// Name is the database's name in messages ("postgres", "mysql").
	Name() string
	// Container is what the database calls a schema in messages ("schema", or "database" for MySQL).
	Container() string
	// MaxIdent is the identifier length limit in bytes.
	MaxIdent() int
	// Fold is how the database compares column names (Fold for case-insensitive ones, or the name).
	Fold(name string) string
	// SchemaExists reports whether the schema exists.
	SchemaExists(ctx context.Context, schema string) (bool, error)
	// Table looks a table up; nil when there is none. Its columns carry Default.
	Table(ctx context.Context, schema, name string) (*Table, error)
	// HasUniqueKey reports whether t has a primary key or unique index on exactly key.
	HasUniqueKey(ctx context.Context, t *Table, key []string) (bool, error)
	// CanCreate reports whether the login may create tables in schema, and CanInsert whether it may
	// insert into t (true when the database cannot tell beforehand).
	CanCreate(ctx context.Context, schema string) (bool, error)
	CanInsert(ctx context.Context, t *Table) (bool, error)
}

// DestinationError is every problem a destination check found for one table.
type DestinationError struct {
	DB       string // the database's name ("postgres")
	Table    string // schema.table as the messages show it
	Problems []string
}

func (e *DestinationError) Error() string {
	return fmt.Sprintf("%s destination %s: %s", e.DB, e.Table, strings.Join(e.Problems, "; "))
}

// Is makes a destination problem a configuration problem: retrying cannot help.
func (e *DestinationError) Is(target error) bool { return target == connector.ErrConfig }

// CheckTarget checks, without writing, that rows of req could be written to table in schema by a
// destination configured with cfg (CheckWrite): the schema exists; the table exists (and is a table) or the login may create it; its columns can hold
// the input's fields and every NOT NULL column without a default is fed (when req.Schema is known);
// an upsert key has a primary key or unique index on exactly those columns; the login may insert,
// and may create the staging table an overwrite needs and the commit marker table (MarkTable) when
// it is missing. Every problem is reported, in one *DestinationError; other errors (the catalog
// cannot be read) are returned as they come.
func CheckTarget(ctx context.Context, ins Inspector, schema, table string, cfg TableConfig, req connector.WriteRequest) error {
	var ops Ops
	req.Schema = ops.Schema(req.Schema, req.Mode) // OpField is never a column
	display := schema + "." + table
	var ps []string
	add := func(format string, args ...any) { ps = append(ps, fmt.Sprintf(format, args...)) }
	done := func() error {
		if len(ps) == 0 {
			return nil
		}
		return &DestinationError{DB: ins.Name(), Table: display, Problems: ps}
	}
	if table == "" {
		display = schema + ".?"
		add("table: required (set table in the config, or give the destination a stream)")
	} else if err := CheckIdent("table", table, ins.MaxIdent()); err != nil {
		add("table: %v", err)
		table = ""
	}
	switch err := CheckWrite(cfg, req); {
	case err != nil:
		add("%v", err)
	case req.Mode == connector.Upsert && req.Schema != nil:
		for _, k := range req.Key {
			if req.Schema.Index(k) < 0 {
				add("write.key: field %q is not in the input (fields: %s)", k, strings.Join(req.Schema.Names(), ", "))
			}
		}
	}
	exists, err := ins.SchemaExists(ctx, schema)
	if err != nil {
		return fmt.Errorf("%s destination %s: read %s: %w", ins.Name(), display, ins.Container(), err)
	}
	if !exists {
		add("%s %q does not exist", ins.Container(), schema)
		return done()
	}
	if table == "" {
		return done()
	}
	t, err := ins.Table(ctx, schema, table)
	if err != nil {
		return fmt.Errorf("%s destination %s: read table: %w", ins.Name(), display, err)
	}
	marker, err := ins.Table(ctx, schema, MarkTable)
	if err != nil {
		return fmt.Errorf("%s destination %s: read table %s: %w", ins.Name(), display, MarkTable, err)
	}
	var creates []string
	if t == nil {
		creates = append(creates, "the table")
	}
	if req.Mode == connector.Overwrite {
		creates = append(creates, "the staging table of overwrite")
	}
	if marker == nil {
		creates = append(creates, "the commit marker table "+MarkTable)
	}
	if len(creates) > 0 {
		ok, err := ins.CanCreate(ctx, schema)
		if err != nil {
			return fmt.Errorf("%s destination %s: read privileges: %w", ins.Name(), display, err)
		}
		if !ok {
			add("the login may not create tables in %s %q (needed for %s)", ins.Container(), schema, strings.Join(creates, ", "))
		}
	}
	if t == nil {
		return done()
	}
	if t.Kind != "table" {
		add("%s is a %s; a destination writes a table", display, t.Kind)
		return done()
	}
	if ok, err := ins.CanInsert(ctx, t); err != nil {
		return fmt.Errorf("%s destination %s: read privileges: %w", ins.Name(), display, err)
	} else if !ok {
		add("the login may not insert into %s", display)
	}
	if req.Schema != nil {
		cols := make([]Column, len(t.Cols))
		for i, c := range t.Cols {
			cols[i] = Column{Name: c.Name, Native: c.Native, Kind: c.Kind, Nullable: c.Nullable}
		}
		fold := ins.Fold
		if _, err := Evolve(display, req.Schema, cols, fold); err != nil {
			add("%s", strings.TrimPrefix(err.Error(), "table "+display+": "))
		}
		fed := map[string]bool{}
		for _, f := range req.Schema.Fields {
			fed[fold(f.Name)] = true
		}
		var unfed []string
		for _, c := range t.Cols {
			if !c.Nullable && !c.Default && !fed[fold(c.Name)] {
				unfed = append(unfed, c.Name)
			}
		}
		if len(unfed) > 0 {
			add("column(s) %s are NOT NULL without a default and no input field feeds them: every row would be refused (map a field to each, or give them a default)", strings.Join(unfed, ", "))
		}
	}
	if req.Mode == connector.Upsert && len(req.Key) > 0 {
		ok, err := ins.HasUniqueKey(ctx, t, req.Key)
		if err != nil {
			return fmt.Errorf("%s destination %s: read indexes: %w", ins.Name(), display, err)
		}
		if !ok {
			pk := "it has no primary key"
			if len(t.PK) > 0 {
				pk = "its primary key is (" + strings.Join(t.PK, ", ") + ")"
			}
			add("upsert by (%s) needs a primary key or unique index on exactly those columns; %s (create one, or choose write.key to match)", strings.Join(req.Key, ", "), pk)
		}
	}
	return done()
}

// DialectInspector inspects a database through a Dialect and a connection (names compare folded).
// Privileges are checked when the dialect is a Privileger; otherwise they are taken as granted (the
// write reports them).
func DialectInspector(d Dialect, db Queryer, container string) Inspector {
	return &dialectInspector{d: d, db: db, container: container}
}

// Privileger is an optional capability of a Dialect: it tells beforehand whether the login may
// create tables in a schema and insert into a table.
type Privileger interface {
	CanCreate(ctx context.Context, db Queryer, schema string) (bool, error)
	CanInsert(ctx context.Context, db Queryer, t *Table) (bool, error)
}

type dialectInspector struct {
	d         Dialect
	db        Queryer
	container string
}

func (i *dialectInspector) Name() string         { return i.d.Name() }
func (i *dialectInspector) Container() string    { return i.container }
func (i *dialectInspector) MaxIdent() int        { return i.d.MaxIdent() }
func (i *dialectInspector) Fold(s string) string { return Fold(s) }

func (i *dialectInspector) SchemaExists(ctx context.Context, schema string) (bool, error) {
	return i.d.SchemaExists(ctx, i.db, schema)
}

func (i *dialectInspector) Table(ctx context.Context, schema, name string) (*Table, error) {
	ts, err := i.d.Tables(ctx, i.db, schema, name)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.Name == name {
			return t, nil
		}
	}
	return nil, nil
}

func (i *dialectInspector) HasUniqueKey(ctx context.Context, t *Table, key []string) (bool, error) {
	return i.d.HasUniqueKey(ctx, i.db, t, key)
}

func (i *dialectInspector) CanCreate(ctx context.Context, schema string) (bool, error) {
	if p, ok := i.d.(Privileger); ok {
		return p.CanCreate(ctx, i.db, schema)
	}
	return true, nil
}

func (i *dialectInspector) CanInsert(ctx context.Context, t *Table) (bool, error) {
	if p, ok := i.d.(Privileger); ok {
		return p.CanInsert(ctx, i.db, t)
	}
	return true, nil
}
