package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

var q = sqlkit.QuotePostgres

// maxIdent is PostgreSQL's identifier length limit (NAMEDATALEN-1).
const maxIdent = 63

// column is a table or query column with what the reader needs to decode it.
type column struct {
	name     string
	typname  string // pg_type.typname
	category string // pg_type.typcategory
	format   string // format_type(): "numeric(38,10)", "integer[]"
	typmod   int32
	notNull  bool
	hasDef   bool // a default, an identity or a generated column: the server fills it when a row leaves it out
}

// kindOf maps a PostgreSQL type to a record kind. See docs/connectors/postgres.md.
func kindOf(typname, category string) record.Kind {
	if category == "A" {
		return record.KindJSON
	}
	switch typname {
	case "bool":
		return record.KindBool
	case "int2", "int4", "int8", "oid":
		return record.KindInt
	case "float4", "float8":
		return record.KindFloat
	case "numeric", "money":
		return record.KindDecimal
	case "bytea":
		return record.KindBytes
	case "date":
		return record.KindDate
	case "timestamp", "timestamptz":
		return record.KindTimestamp
	case "json", "jsonb":
		return record.KindJSON
	}
	return record.KindString
}

func (c column) kind() record.Kind { return kindOf(c.typname, c.category) }

func (c column) field() record.Field {
	f := record.Field{Name: c.name, Kind: c.kind(), Nullable: !c.notNull, Native: c.format}
	if c.typname == "numeric" && c.typmod >= 4 {
		f.Precision = int((c.typmod - 4) >> 16 & 0xffff)
		f.Scale = int((c.typmod - 4) & 0xffff)
	}
	return f
}

// isArray reports whether the column is a PostgreSQL array.
func (c column) isArray() bool { return c.category == "A" }

// selectExpr is how the reader selects the column so that it arrives as a type the decoder reads
// directly (binary) or as exact text.
func (c column) selectExpr(alias string) string {
	ref := alias + "." + q(c.name)
	if c.isArray() {
		return "to_json(" + ref + ")::text"
	}
	switch c.typname {
	case "bool", "int2", "int4", "int8", "oid", "float4", "float8", "text", "varchar", "bytea", "date", "timestamp", "timestamptz":
		return ref
	case "money":
		return ref + "::numeric::text"
	}
	return ref + "::text"
}

// ddlType is the column type the destination creates for a field. See docs/connectors/postgres.md.
func ddlType(f record.Field) string {
	switch f.Kind {
	case record.KindBool:
		return "boolean"
	case record.KindInt:
		return "bigint"
	case record.KindFloat:
		return "double precision"
	case record.KindDecimal:
		if f.Precision > 0 && f.Precision <= 1000 && f.Scale >= 0 && f.Scale <= f.Precision {
			return fmt.Sprintf("numeric(%d,%d)", f.Precision, f.Scale)
		}
		return "numeric"
	case record.KindBytes:
		return "bytea"
	case record.KindDate:
		return "date"
	case record.KindTimestamp:
		return "timestamptz"
	case record.KindJSON:
		return "json"
	}
	return "text"
}

// table is a relation found in the catalog.
type table struct {
	schema, name string
	kind         string // table, view, materialized view, foreign table
	cols         []column
	pk           []string
	rows         int64
}

func (t *table) qualified() string { return sqlkit.Qualified(q, t.schema, t.name) }

func (t *table) display() string { return t.schema + "." + t.name }

func (t *table) schemaOf() *record.Schema {
	fs := make([]record.Field, len(t.cols))
	for i, c := range t.cols {
		fs[i] = c.field()
	}
	s, _ := record.NewSchema(fs...)
	return s
}

const catalogSQL = `
SELECT n.nspname, c.relname, c.relkind::text, a.attname, t.typname, t.typcategory::text,
       format_type(a.atttypid, a.atttypmod), a.atttypmod, a.attnotnull,
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', greatest(c.reltuples, 0)::bigint,
       coalesce((SELECT array_agg(pa.attname::text ORDER BY array_position(i.indkey::int2[], pa.attnum))
                 FROM pg_index i JOIN pg_attribute pa ON pa.attrelid = i.indrelid AND pa.attnum = ANY(i.indkey)
                 WHERE i.indrelid = c.oid AND i.indisprimary), '{}')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
  AND ($1::text IS NULL OR n.nspname = $1) AND ($2::text IS NULL OR c.relname = $2)
ORDER BY n.nspname, c.relname, a.attnum`

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// loadTables reads relations from the catalog; an empty schema or name means any.
func loadTables(ctx context.Context, db querier, schema, name string) ([]*table, error) {
	var sArg, nArg any
	if schema != "" {
		sArg = schema
	}
	if name != "" {
		nArg = name
	}
	rows, err := db.Query(ctx, catalogSQL, sArg, nArg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*table
	var cur *table
	for rows.Next() {
		var sch, rel, relkind string
		var col column
		var nrows int64
		var pk []string
		if err := rows.Scan(&sch, &rel, &relkind, &col.name, &col.typname, &col.category, &col.format, &col.typmod, &col.notNull, &col.hasDef, &nrows, &pk); err != nil {
			return nil, err
		}
		if cur == nil || cur.schema != sch || cur.name != rel {
			cur = &table{schema: sch, name: rel, kind: relkindName(relkind), pk: pk, rows: nrows}
			out = append(out, cur)
		}
		cur.cols = append(cur.cols, col)
	}
	return out, rows.Err()
}

func relkindName(k string) string {
	switch k {
	case "v":
		return "view"
	case "m":
		return "materialized view"
	case "f":
		return "foreign table"
	}
	return "table"
}

// currentSchema returns the first existing schema of the search_path.
func currentSchema(ctx context.Context, db querier) (string, error) {
	var s *string
	if err := db.QueryRow(ctx, "SELECT current_schema()").Scan(&s); err != nil {
		return "", err
	}
	if s == nil {
		return "", errors.New("no schema: the search_path names no existing schema; set schema")
	}
	return *s, nil
}

// findTable looks one table up; a missing one is ErrNotFound with a clear message.
func findTable(ctx context.Context, db querier, schema, name string) (*table, error) {
	if schema == "" {
		s, err := currentSchema(ctx, db)
		if err != nil {
			return nil, err
		}
		schema = s
	}
	ts, err := loadTables(ctx, db, schema, name)
	if err != nil {
		return nil, fmt.Errorf("read catalog for %s.%s: %w", schema, name, err)
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("table %q not found in schema %q: %w", name, schema, connector.ErrNotFound)
	}
	return ts[0], nil
}

// discover lists every relation visible in the schema (all user schemas when empty).
func discover(ctx context.Context, pool *pgxpool.Pool, schema string) (*connector.Catalog, error) {
	ts, err := loadTables(ctx, pool, schema, "")
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	cat := &connector.Catalog{Streams: []connector.Stream{}}
	for _, t := range ts {
		st := connector.Stream{Name: t.name, Namespace: t.schema, Kind: t.kind, Schema: t.schemaOf(), PrimaryKey: t.pk, RowEstimate: t.rows}
		for _, c := range t.cols {
			switch c.typname {
			case "int2", "int4", "int8", "timestamp", "timestamptz", "date", "numeric":
				st.CursorCandidates = append(st.CursorCandidates, c.name)
			}
		}
		cat.Streams = append(cat.Streams, st)
	}
	return cat, nil
}

// describeQuery finds the columns a custom query returns, without running it.
func describeQuery(ctx context.Context, pool *pgxpool.Pool, query string) ([]column, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	sd, err := conn.Conn().PgConn().Prepare(ctx, "", query, nil)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	if len(sd.ParamOIDs) > 0 {
		return nil, connector.ConfigError(fmt.Errorf("query: has %d parameter(s) ($1...); a source query takes none", len(sd.ParamOIDs)))
	}
	cols := make([]column, len(sd.Fields))
	for i, f := range sd.Fields {
		cols[i] = column{name: f.Name, typmod: f.TypeModifier}
		if err := conn.QueryRow(ctx, "SELECT t.typname, t.typcategory::text, format_type($1::oid, $2::int) FROM pg_type t WHERE t.oid = $1::oid", f.DataTypeOID, f.TypeModifier).
			Scan(&cols[i].typname, &cols[i].category, &cols[i].format); err != nil {
			return nil, fmt.Errorf("query: type of column %q: %w", f.Name, err)
		}
	}
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c.name] {
			return nil, connector.ConfigError(fmt.Errorf("query: column name %q appears twice; give each column a unique alias", c.name))
		}
		seen[c.name] = true
	}
	return cols, nil
}

// isUndefinedTable reports a missing relation (dropped mid-run).
func isUndefinedTable(err error) bool {
	return pgCode(err) == "42P01"
}

func joinNames(ns []string) string { return strings.Join(ns, ", ") }
