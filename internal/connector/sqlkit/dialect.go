package sqlkit

import (
	"context"
	"database/sql"
	"strings"

	"github.com/dataaggregator/aggregator/internal/record"
)

// Col is a column of a table or a query result, as a dialect describes it.
type Col struct {
	Name     string
	Type     string // the base type name, lower case: "int", "varchar", "decimal", "datetime2"
	Native   string // the full type as the database writes it: "decimal(38,10)", "varchar(20)"
	Kind     record.Kind
	Nullable bool
	// Default: the database fills the column when a row leaves it out (a default, an identity or
	// auto-increment, a generated column).
	Default   bool
	Precision int
	Scale     int
}

// Field is the record field of the column.
func (c Col) Field() record.Field {
	f := record.Field{Name: c.Name, Kind: c.Kind, Nullable: c.Nullable, Native: c.Native}
	if c.Kind == record.KindDecimal {
		f.Precision, f.Scale = c.Precision, c.Scale
	}
	return f
}

// Table is a table or view found in the catalog.
type Table struct {
	Schema, Name string
	Kind         string // table, view
	Cols         []Col
	PK           []string
	Rows         int64
}

// SchemaOf is the record schema of the table's columns.
func (t *Table) SchemaOf() (*record.Schema, error) {
	fs := make([]record.Field, len(t.Cols))
	for i, c := range t.Cols {
		fs[i] = c.Field()
	}
	return record.NewSchema(fs...)
}

// Queryer is what catalog queries need: a *sql.DB, *sql.Conn or *sql.Tx.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Stmt is one statement with its arguments.
type Stmt struct {
	SQL  string
	Args []any
}

// Dialect is what the database/sql Reader and Writer need from one database. Implementations quote
// every identifier with Quote and pass every value as an argument.
type Dialect interface {
	// Name is the database's name in messages ("mysql", "sqlserver").
	Name() string
	Quote(name string) string
	// MaxIdent is the identifier length limit in bytes.
	MaxIdent() int
	// Placeholder is the n-th (1-based) parameter marker.
	Placeholder(n int) string

	// CurrentSchema is the schema (database) unqualified names resolve to.
	CurrentSchema(ctx context.Context, db Queryer) (string, error)
	// SchemaExists reports whether a schema (database) exists.
	SchemaExists(ctx context.Context, db Queryer, schema string) (bool, error)
	// Tables reads tables and views of a schema; name "" means all.
	Tables(ctx context.Context, db Queryer, schema, name string) ([]*Table, error)
	// DescribeQuery returns the columns a custom query yields.
	DescribeQuery(ctx context.Context, db Queryer, query string) ([]Col, error)
	// CursorCandidate reports whether a column can order an incremental read.
	CursorCandidate(c Col) bool

	// Select builds a read: list FROM from AS q [WHERE where] [ORDER BY order], at most limit rows (0: all).
	Select(list, from, where, order string, limit int) string
	// SelectExpr is how the reader selects column c of alias q so that Decode can read it.
	SelectExpr(c Col, alias string) string
	// Decode reads a scanned value of column c.
	Decode(src any, c Col) (record.Value, error)
	// Arg turns a value (already of the column's kind) into a driver argument for column c.
	Arg(v record.Value, c Col) (any, error)

	// CreateTable creates a table for the schema, with a primary key when key is set.
	CreateTable(table string, s *record.Schema, key []string) string
	// AddColumn adds a nullable column for the field.
	AddColumn(table string, f record.Field) string
	// DDLType is the column type created for a field.
	DDLType(f record.Field, key bool) string
	// CreateLike creates stage with the columns (and what else the database copies) of target.
	CreateLike(stage, target string) []Stmt
	// Swap replaces target by stage atomically; target may not exist (exists false).
	Swap(schema, stage, target string, exists bool) []Stmt
	// HasUniqueKey reports whether the table has a primary key or unique index on exactly key.
	HasUniqueKey(ctx context.Context, db Queryer, t *Table, key []string) (bool, error)
	// Upsert prepares an upsert into target: the table rows are loaded into, whether rows carry an
	// ordinal, and the statements that merge them into target after each batch (none when Load
	// upserts directly).
	Upsert(ctx context.Context, db Queryer, target string, s *record.Schema, key []string) (load string, ord bool, setup, merge []Stmt, err error)
	// Load bulk-loads rows (driver arguments in column order) into table; upsertKey is set when the
	// load itself must upsert (Upsert returned no merge statements).
	Load(ctx context.Context, tx *sql.Tx, table string, cols []Col, rows [][]any, upsertKey []string) error
	// Savepoint, RollbackTo and Release are the savepoint statements ("" when a failed load needs none).
	Savepoint() string
	RollbackTo() string
	Release() string

	// IsData reports an error caused by the rows (a value or a constraint the table refuses).
	IsData(err error) bool
	// IsTransient reports a failure worth retrying (connection lost, deadlock, server going away).
	IsTransient(err error) bool
	// IsUndefinedTable reports a missing table.
	IsUndefinedTable(err error) bool
	// RowHint returns the failing row (0-based) of a multi-row load from the error, or -1.
	RowHint(err error, n int) int
	// Problem returns the column and a reason for a data error.
	Problem(err error) (field, reason string)
}

// Fold returns s as a map key for case-insensitive names.
func Fold(s string) string { return strings.ToLower(s) }

// ColumnList is the inside of a CREATE TABLE for s: each field quoted with its ddlType, NOT NULL
// for key fields and NULL for the others, then the PRIMARY KEY when key is set.
func ColumnList(s *record.Schema, key []string, quote func(string) string, ddlType func(f record.Field, key bool) string) string {
	isKey := map[string]bool{}
	for _, k := range key {
		isKey[k] = true
	}
	var b strings.Builder
	for i, f := range s.Fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(f.Name) + " " + ddlType(f, isKey[f.Name]))
		if isKey[f.Name] {
			b.WriteString(" NOT NULL")
		} else {
			b.WriteString(" NULL")
		}
	}
	if len(key) > 0 {
		b.WriteString(", PRIMARY KEY (" + QuoteAll(quote, key) + ")")
	}
	return b.String()
}
