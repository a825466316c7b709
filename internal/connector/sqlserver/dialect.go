package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Dialect is SQL Server for sqlkit's Reader and Writer.
type Dialect struct {
	// RunID names the upsert temp table.
	RunID string
}

var (
	_ sqlkit.Dialect    = (*Dialect)(nil)
	_ sqlkit.Privileger = (*Dialect)(nil)
)

var q = sqlkit.QuoteSQLServer

func (d *Dialect) Name() string             { return "sqlserver" }
func (d *Dialect) Quote(name string) string { return q(name) }
func (d *Dialect) MaxIdent() int            { return 128 }
func (d *Dialect) Placeholder(n int) string { return "@p" + strconv.Itoa(n) }

func (d *Dialect) CurrentSchema(ctx context.Context, db sqlkit.Queryer) (string, error) {
	var s sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT SCHEMA_NAME()").Scan(&s); err != nil {
		return "", err
	}
	if !s.Valid {
		return "dbo", nil
	}
	return s.String, nil
}

// kindOf maps a SQL Server type to a record kind. See docs/connectors/sqlserver.md.
func kindOf(dataType string) record.Kind {
	switch strings.ToLower(dataType) {
	case "bit":
		return record.KindBool
	case "tinyint", "smallint", "int", "bigint":
		return record.KindInt
	case "real", "float":
		return record.KindFloat
	case "decimal", "numeric", "money", "smallmoney":
		return record.KindDecimal
	case "binary", "varbinary", "image", "timestamp", "rowversion":
		return record.KindBytes
	case "date":
		return record.KindDate
	case "datetime", "datetime2", "smalldatetime", "datetimeoffset":
		return record.KindTimestamp
	case "json":
		return record.KindJSON
	}
	return record.KindString
}

// native writes a type with its length or precision, as SQL Server shows it.
func native(dataType string, length, prec, scale int) string {
	switch strings.ToLower(dataType) {
	case "char", "varchar", "nchar", "nvarchar", "binary", "varbinary":
		if length == -1 {
			return dataType + "(max)"
		}
		return fmt.Sprintf("%s(%d)", dataType, length)
	case "decimal", "numeric":
		return fmt.Sprintf("%s(%d,%d)", dataType, prec, scale)
	}
	return dataType
}

const tablesSQL = `
SELECT c.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME, c.DATA_TYPE, ISNULL(c.CHARACTER_MAXIMUM_LENGTH, 0),
       ISNULL(CAST(c.NUMERIC_PRECISION AS int), 0), ISNULL(c.NUMERIC_SCALE, 0), c.IS_NULLABLE,
       CASE WHEN c.COLUMN_DEFAULT IS NOT NULL
              OR COLUMNPROPERTY(OBJECT_ID(QUOTENAME(c.TABLE_SCHEMA) + '.' + QUOTENAME(c.TABLE_NAME)), c.COLUMN_NAME, 'IsIdentity') = 1
              OR COLUMNPROPERTY(OBJECT_ID(QUOTENAME(c.TABLE_SCHEMA) + '.' + QUOTENAME(c.TABLE_NAME)), c.COLUMN_NAME, 'IsComputed') = 1
              OR c.DATA_TYPE IN ('timestamp', 'rowversion') THEN 1 ELSE 0 END
FROM INFORMATION_SCHEMA.COLUMNS c
JOIN INFORMATION_SCHEMA.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = @p1 AND (@p2 = N'' OR c.TABLE_NAME = @p2)
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`

const pkSQL = `
SELECT k.TABLE_NAME, k.COLUMN_NAME
FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS tc
JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE k ON k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND k.TABLE_SCHEMA = tc.TABLE_SCHEMA
WHERE tc.CONSTRAINT_TYPE = 'PRIMARY KEY' AND tc.TABLE_SCHEMA = @p1
ORDER BY k.TABLE_NAME, k.ORDINAL_POSITION`

func (d *Dialect) SchemaExists(ctx context.Context, db sqlkit.Queryer, schema string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sys.schemas WHERE name = @p1", schema).Scan(&n)
	return n > 0, err
}

// CanCreate: CREATE TABLE in the database and ALTER on the schema (what SQL Server requires).
func (d *Dialect) CanCreate(ctx context.Context, db sqlkit.Queryer, schema string) (bool, error) {
	var ok int
	err := db.QueryRowContext(ctx, "SELECT CASE WHEN HAS_PERMS_BY_NAME(NULL, NULL, 'CREATE TABLE') = 1 AND HAS_PERMS_BY_NAME(QUOTENAME(@p1), 'SCHEMA', 'ALTER') = 1 THEN 1 ELSE 0 END", schema).Scan(&ok)
	return ok == 1, err
}

// CanInsert: INSERT on the table.
func (d *Dialect) CanInsert(ctx context.Context, db sqlkit.Queryer, t *sqlkit.Table) (bool, error) {
	var ok sql.NullInt64
	err := db.QueryRowContext(ctx, "SELECT HAS_PERMS_BY_NAME(@p1, 'OBJECT', 'INSERT')", sqlkit.Qualified(q, t.Schema, t.Name)).Scan(&ok)
	return ok.Valid && ok.Int64 == 1, err
}

func (d *Dialect) Tables(ctx context.Context, db sqlkit.Queryer, schema, name string) ([]*sqlkit.Table, error) {
	rows, err := db.QueryContext(ctx, tablesSQL, schema, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*sqlkit.Table
	byName := map[string]*sqlkit.Table{}
	for rows.Next() {
		var tname, ttype, cname, dtype, nullable string
		var length, prec, scale, def int
		if err := rows.Scan(&tname, &ttype, &cname, &dtype, &length, &prec, &scale, &nullable, &def); err != nil {
			return nil, err
		}
		if name != "" && tname != name {
			continue
		}
		t := byName[tname]
		if t == nil {
			kind := "table"
			if ttype == "VIEW" {
				kind = "view"
			}
			t = &sqlkit.Table{Schema: schema, Name: tname, Kind: kind}
			byName[tname] = t
			out = append(out, t)
		}
		c := sqlkit.Col{Name: cname, Type: strings.ToLower(dtype), Native: native(dtype, length, prec, scale), Kind: kindOf(dtype), Nullable: nullable == "YES", Default: def == 1}
		if c.Kind == record.KindDecimal {
			c.Precision, c.Scale = prec, scale
		}
		t.Cols = append(t.Cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	pk, err := db.QueryContext(ctx, pkSQL, schema)
	if err != nil {
		return nil, err
	}
	defer pk.Close()
	for pk.Next() {
		var t, c string
		if err := pk.Scan(&t, &c); err != nil {
			return nil, err
		}
		if tb := byName[t]; tb != nil {
			tb.PK = append(tb.PK, c)
		}
	}
	return out, pk.Err()
}

func (d *Dialect) DescribeQuery(ctx context.Context, db sqlkit.Queryer, query string) ([]sqlkit.Col, error) {
	rows, err := db.QueryContext(ctx, "SELECT TOP (0) * FROM ("+query+") AS q")
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return d.ResultCols(cts), nil
}

// ResultCols describes the columns of a result by the types the server reports.
func (d *Dialect) ResultCols(cts []*sql.ColumnType) []sqlkit.Col {
	out := make([]sqlkit.Col, len(cts))
	for i, ct := range cts {
		dt := strings.ToLower(ct.DatabaseTypeName())
		c := sqlkit.Col{Name: ct.Name(), Type: dt, Native: dt, Kind: kindOf(dt)}
		c.Nullable, _ = ct.Nullable()
		if p, s, ok := ct.DecimalSize(); ok && c.Kind == record.KindDecimal {
			c.Precision, c.Scale = int(p), int(s)
		}
		out[i] = c
	}
	return out
}

func (d *Dialect) CursorCandidate(c sqlkit.Col) bool {
	return sqlkit.Orderable(c.Kind) || c.Type == "rowversion" || c.Type == "timestamp"
}

func (d *Dialect) Select(list, from, where, order string, limit int) string {
	top := ""
	if limit > 0 {
		top = "TOP (" + strconv.Itoa(limit) + ")"
	}
	return sqlkit.SelectSQL(top, list, from, where, order, "")
}

func (d *Dialect) SelectExpr(c sqlkit.Col, alias string) string {
	ref := alias + "." + q(c.Name)
	switch c.Type {
	case "decimal", "numeric", "money", "smallmoney":
		return "CONVERT(varchar(50), " + ref + ")"
	case "uniqueidentifier", "time", "xml", "sql_variant", "hierarchyid":
		return "CONVERT(nvarchar(max), " + ref + ")"
	case "datetimeoffset":
		return "CONVERT(datetime2(7), SWITCHOFFSET(" + ref + ", '+00:00'))"
	}
	return ref
}

// Decode reads a go-mssqldb value.
func (d *Dialect) Decode(src any, c sqlkit.Col) (record.Value, error) {
	switch s := src.(type) {
	case nil:
		return record.Null, nil
	case time.Time:
		if c.Kind == record.KindDate {
			return record.Date(s), nil
		}
		// datetime and datetime2 carry no zone: the wall clock is read as UTC
		return record.Timestamp(time.Date(s.Year(), s.Month(), s.Day(), s.Hour(), s.Minute(), s.Second(), s.Nanosecond(), time.UTC)), nil
	case []byte:
		if c.Kind == record.KindBytes {
			return record.Bytes(s), nil
		}
		return textValue(string(s), c.Kind)
	case string:
		return textValue(s, c.Kind)
	}
	return sqlkit.FromDriver(src, c.Kind)
}

func textValue(s string, k record.Kind) (record.Value, error) {
	switch k {
	case record.KindString:
		return record.String(s), nil
	case record.KindJSON:
		return record.ParseJSON([]byte(s))
	case record.KindDecimal:
		return record.Decimal(s)
	}
	return record.Parse(s, k)
}

// Arg turns a value into a driver argument for column c (what mssql.CopyIn and parameters take).
func (d *Dialect) Arg(v record.Value, c sqlkit.Col) (any, error) {
	switch v.Kind() {
	case record.KindNull:
		return nil, nil
	case record.KindBool:
		return v.AsBool(), nil
	case record.KindInt:
		return v.AsInt(), nil
	case record.KindFloat:
		f := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("SQL Server cannot store %v in a %s column", f, c.Native)
		}
		return f, nil
	case record.KindBytes:
		return v.AsBytes(), nil
	case record.KindDate:
		return v.AsTime(), nil
	case record.KindTimestamp:
		return v.AsTime(), nil
	}
	return v.Str(), nil
}

// DDLType is the column type created for a field. See docs/connectors/sqlserver.md.
func (d *Dialect) DDLType(f record.Field, key bool) string {
	switch f.Kind {
	case record.KindBool:
		return "bit"
	case record.KindInt:
		return "bigint"
	case record.KindFloat:
		return "float"
	case record.KindDecimal:
		if f.Precision > 0 && f.Precision <= 38 && f.Scale >= 0 && f.Scale <= f.Precision {
			return fmt.Sprintf("decimal(%d,%d)", f.Precision, f.Scale)
		}
		return "decimal(38,10)"
	case record.KindBytes:
		if key {
			return "varbinary(900)"
		}
		return "varbinary(max)"
	case record.KindDate:
		return "date"
	case record.KindTimestamp:
		return "datetime2(6)"
	case record.KindJSON:
		return "nvarchar(max)"
	}
	if key {
		return "nvarchar(450)"
	}
	return "nvarchar(max)"
}

func (d *Dialect) CreateTable(table string, s *record.Schema, key []string) string {
	return "IF OBJECT_ID(N'" + strings.ReplaceAll(table, "'", "''") + "', N'U') IS NULL CREATE TABLE " + table + " (" + sqlkit.ColumnList(s, key, q, d.DDLType) + ")"
}

func (d *Dialect) AddColumn(table string, f record.Field) string {
	return "ALTER TABLE " + table + " ADD " + q(f.Name) + " " + d.DDLType(f, false) + " NULL"
}

// CreateLike copies the target's columns (not its keys or constraints) into an empty stage.
func (d *Dialect) CreateLike(stage, target string) []sqlkit.Stmt {
	return []sqlkit.Stmt{{SQL: "SELECT * INTO " + stage + " FROM " + target + " WHERE 1 = 0"}}
}

// Swap drops the target and renames the stage in its place; the Writer runs both in one transaction
// (SQL Server DDL is transactional), so a failure leaves the old table.
func (d *Dialect) Swap(schema, stage, target string, exists bool) []sqlkit.Stmt {
	var out []sqlkit.Stmt
	if exists {
		out = append(out, sqlkit.Stmt{SQL: "DROP TABLE " + sqlkit.Qualified(q, schema, target)})
	}
	return append(out, sqlkit.Stmt{SQL: "EXEC sp_rename @p1, @p2, 'OBJECT'", Args: []any{sqlkit.Qualified(q, schema, stage), target}})
}

func (d *Dialect) HasUniqueKey(ctx context.Context, db sqlkit.Queryer, t *sqlkit.Table, key []string) (bool, error) {
	rows, err := db.QueryContext(ctx, `
SELECT i.name, c.name FROM sys.indexes i
JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id AND ic.is_included_column = 0
JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
WHERE i.object_id = OBJECT_ID(@p1) AND i.is_unique = 1 AND i.has_filter = 0`, sqlkit.Qualified(q, t.Schema, t.Name))
	if err != nil {
		return false, err
	}
	defer rows.Close()
	idx := map[string][]string{}
	for rows.Next() {
		var n, c string
		if err := rows.Scan(&n, &c); err != nil {
			return false, err
		}
		idx[n] = append(idx[n], c)
	}
	return sqlkit.MatchesKey(idx, key), rows.Err()
}

// tempName is the upsert temp table (session-scoped #table).
func (d *Dialect) tempName() string {
	return "#" + sqlkit.StagingName("agg_upsert_", "", d.RunID, 100)
}

// Upsert bulk-loads into a temp table with an ordinal, then MERGEs the last row of each key.
func (d *Dialect) Upsert(_ context.Context, _ sqlkit.Queryer, target string, s *record.Schema, key []string) (string, bool, []sqlkit.Stmt, []sqlkit.Stmt, error) {
	tmp := d.tempName()
	names := s.Names()
	setup := []sqlkit.Stmt{
		{SQL: "IF OBJECT_ID(N'tempdb.." + tmp + "') IS NOT NULL DROP TABLE " + tmp},
		{SQL: "SELECT TOP (0) " + sqlkit.QuoteAll(q, names) + " INTO " + tmp + " FROM " + target},
		{SQL: "ALTER TABLE " + tmp + " ADD " + q(sqlkit.OrdColumn) + " bigint NULL"},
	}
	return tmp, true, setup, []sqlkit.Stmt{{SQL: mergeSQL(target, tmp, names, key)}, {SQL: "TRUNCATE TABLE " + tmp}}, nil
}

// mergeSQL merges the last row per key of tmp into target.
func mergeSQL(target, tmp string, names, key []string) string {
	isKey := map[string]bool{}
	var on []string
	for _, k := range key {
		isKey[k] = true
		on = append(on, "t."+q(k)+" = s."+q(k))
	}
	var sets, vals []string
	for _, n := range names {
		vals = append(vals, "s."+q(n))
		if !isKey[n] {
			sets = append(sets, "t."+q(n)+" = s."+q(n))
		}
	}
	cols := sqlkit.QuoteAll(q, names)
	var b strings.Builder
	b.WriteString("MERGE INTO " + target + " WITH (HOLDLOCK) AS t USING (SELECT " + cols + " FROM (SELECT " + cols +
		", ROW_NUMBER() OVER (PARTITION BY " + sqlkit.QuoteAll(q, key) + " ORDER BY " + q(sqlkit.OrdColumn) + " DESC) AS " + q("__aggregator_rn") +
		" FROM " + tmp + ") AS x WHERE " + q("__aggregator_rn") + " = 1) AS s ON " + strings.Join(on, " AND "))
	if len(sets) > 0 {
		b.WriteString(" WHEN MATCHED THEN UPDATE SET " + strings.Join(sets, ", "))
	}
	b.WriteString(" WHEN NOT MATCHED THEN INSERT (" + cols + ") VALUES (" + strings.Join(vals, ", ") + ");")
	return b.String()
}

// Load bulk-copies rows with the TDS bulk load (mssql.CopyIn), checking constraints and keeping NULLs.
func (d *Dialect) Load(ctx context.Context, tx *sql.Tx, table string, cols []sqlkit.Col, rows [][]any, _ []string) error {
	if len(rows) == 0 {
		return nil
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	stmt, err := tx.PrepareContext(ctx, mssql.CopyIn(table, mssql.BulkOptions{CheckConstraints: true, KeepNulls: true}, names...))
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r...); err != nil {
			return err
		}
	}
	_, err = stmt.ExecContext(ctx)
	return err
}

func (d *Dialect) Savepoint() string  { return "SAVE TRANSACTION agg_rows" }
func (d *Dialect) RollbackTo() string { return "ROLLBACK TRANSACTION agg_rows" }
func (d *Dialect) Release() string    { return "" }

func msErr(err error) (mssql.Error, bool) {
	var me mssql.Error
	if errors.As(err, &me) {
		return me, true
	}
	return me, false
}

var dataErrors = map[int32]bool{
	515: true, 245: true, 8152: true, 2628: true, 547: true, 2627: true, 2601: true, 8115: true,
	241: true, 242: true, 8114: true, 220: true, 248: true, 293: true, 4815: true, 4816: true, 13609: true,
}

func (d *Dialect) IsData(err error) bool {
	me, ok := msErr(err)
	if ok {
		return dataErrors[me.Number]
	}
	return strings.HasPrefix(err.Error(), "bulk: ")
}

func (d *Dialect) IsTransient(err error) bool {
	if sqlkit.Cancelled(err) {
		return false
	}
	if me, ok := msErr(err); ok {
		switch me.Number {
		case 1205, 1222, 10053, 10054, 10060, 40197, 40501, 40613, 49918, 49919, 49920, 233, 64:
			return true
		}
		return false
	}
	return sqlkit.ConnectionLost(err)
}

func (d *Dialect) IsUndefinedTable(err error) bool {
	me, ok := msErr(err)
	return ok && me.Number == 208
}

func (d *Dialect) RowHint(error, int) int { return -1 }

func (d *Dialect) Problem(err error) (string, string) {
	me, ok := msErr(err)
	if !ok {
		return "", err.Error()
	}
	field := ""
	if i := strings.Index(me.Message, "column '"); i >= 0 {
		rest := me.Message[i+len("column '"):]
		if j := strings.IndexByte(rest, '\''); j >= 0 {
			field = rest[:j]
		}
	}
	return field, me.Message + fmt.Sprintf(" [SQL Server error %d]", me.Number)
}
