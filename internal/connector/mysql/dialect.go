package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Dialect is MySQL/MariaDB for sqlkit's Reader and Writer.
type Dialect struct {
	// MaxPacket bounds the size of one multi-row INSERT (bytes); 0 means 16 MiB.
	MaxPacket int
	// LoadData loads append and overwrite rows with LOAD DATA LOCAL INFILE (see loadData) instead of
	// multi-row INSERT; set when the server allows local_infile.
	LoadData bool
}

var (
	_ sqlkit.Dialect   = (*Dialect)(nil)
	_ sqlkit.Buffering = (*Dialect)(nil)
)

var q = sqlkit.QuoteMySQL

// maxPlaceholders is the protocol's limit of parameters per prepared statement; multi-row inserts
// stay below it even though arguments are interpolated client-side (the fallback prepares).
const maxPlaceholders = 65535

func (d *Dialect) Name() string             { return "mysql" }
func (d *Dialect) Quote(name string) string { return q(name) }
func (d *Dialect) MaxIdent() int            { return 64 }
func (d *Dialect) Placeholder(int) string   { return "?" }

func (d *Dialect) CurrentSchema(ctx context.Context, db sqlkit.Queryer) (string, error) {
	var s sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&s); err != nil {
		return "", err
	}
	if !s.Valid {
		return "", errors.New("no database selected: set database")
	}
	return s.String, nil
}

func (d *Dialect) SchemaExists(ctx context.Context, db sqlkit.Queryer, schema string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", schema).Scan(&n)
	return n > 0, err
}

// kindOf maps a column type to a record kind. See docs/connectors/mysql.md.
func kindOf(dataType, columnType string) record.Kind {
	ct := strings.ToLower(columnType)
	switch strings.ToLower(dataType) {
	case "tinyint":
		if strings.HasPrefix(ct, "tinyint(1)") {
			return record.KindBool
		}
		return record.KindInt
	case "bit":
		if ct == "bit(1)" {
			return record.KindBool
		}
		return record.KindInt
	case "smallint", "mediumint", "int", "integer", "year":
		return record.KindInt
	case "bigint":
		if strings.Contains(ct, "unsigned") {
			return record.KindDecimal
		}
		return record.KindInt
	case "float", "double", "real", "double precision":
		return record.KindFloat
	case "decimal", "numeric", "dec", "fixed":
		return record.KindDecimal
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return record.KindBytes
	case "date":
		return record.KindDate
	case "datetime", "timestamp":
		return record.KindTimestamp
	case "json":
		return record.KindJSON
	}
	return record.KindString
}

func (d *Dialect) Tables(ctx context.Context, db sqlkit.Queryer, schema, name string) ([]*sqlkit.Table, error) {
	rows, err := db.QueryContext(ctx, `
SELECT c.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE,
       IFNULL(c.NUMERIC_PRECISION, 0), IFNULL(c.NUMERIC_SCALE, 0), IFNULL(t.TABLE_ROWS, 0),
       c.COLUMN_DEFAULT IS NOT NULL OR c.EXTRA LIKE '%auto_increment%' OR c.EXTRA LIKE '%GENERATED%' OR c.EXTRA LIKE '%VIRTUAL%' OR c.EXTRA LIKE '%PERSISTENT%' OR c.EXTRA LIKE '%STORED%' 
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = ? AND (? = '' OR c.TABLE_NAME = ?)
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`, schema, name, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*sqlkit.Table
	byName := map[string]*sqlkit.Table{}
	for rows.Next() {
		var tname, ttype, cname, dtype, ctype, nullable string
		var prec, scale, nrows int64
		var def bool
		if err := rows.Scan(&tname, &ttype, &cname, &dtype, &ctype, &nullable, &prec, &scale, &nrows, &def); err != nil {
			return nil, err
		}
		if name != "" && tname != name {
			continue // information_schema compares names case-insensitively
		}
		t := byName[tname]
		if t == nil {
			kind := "table"
			if strings.Contains(ttype, "VIEW") {
				kind = "view"
			}
			t = &sqlkit.Table{Schema: schema, Name: tname, Kind: kind, Rows: nrows}
			byName[tname] = t
			out = append(out, t)
		}
		c := sqlkit.Col{Name: cname, Type: strings.ToLower(dtype), Native: ctype, Kind: kindOf(dtype, ctype), Nullable: nullable == "YES", Default: def}
		if c.Kind == record.KindDecimal {
			c.Precision, c.Scale = int(prec), int(scale)
		}
		t.Cols = append(t.Cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	if err := d.primaryKeys(ctx, db, schema, byName); err != nil {
		return nil, err
	}
	d.jsonColumns(ctx, db, schema, byName)
	return out, nil
}

func (d *Dialect) primaryKeys(ctx context.Context, db sqlkit.Queryer, schema string, byName map[string]*sqlkit.Table) error {
	rows, err := db.QueryContext(ctx, `SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_NAME, ORDINAL_POSITION`, schema)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			return err
		}
		if tb := byName[t]; tb != nil {
			tb.PK = append(tb.PK, c)
		}
	}
	return rows.Err()
}

// jsonColumns marks MariaDB JSON columns (LONGTEXT with a json_valid check) as json. MySQL reports
// JSON as its own type; there the query may fail (no TABLE_NAME column) and is ignored.
func (d *Dialect) jsonColumns(ctx context.Context, db sqlkit.Queryer, schema string, byName map[string]*sqlkit.Table) {
	rows, err := db.QueryContext(ctx, `SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?`, schema)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var t, clause string
		if rows.Scan(&t, &clause) != nil {
			return
		}
		tb := byName[t]
		if tb == nil {
			continue
		}
		for i, c := range tb.Cols {
			if c.Kind == record.KindString && clause == "json_valid("+q(c.Name)+")" {
				tb.Cols[i].Kind = record.KindJSON
			}
		}
	}
}

func (d *Dialect) DescribeQuery(ctx context.Context, db sqlkit.Queryer, query string) ([]sqlkit.Col, error) {
	rows, err := db.QueryContext(ctx, "SELECT * FROM ("+query+") AS q LIMIT 0")
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
		dt = strings.TrimPrefix(dt, "unsigned ")
		native := dt
		c := sqlkit.Col{Name: ct.Name(), Type: dt, Native: native}
		c.Nullable, _ = ct.Nullable()
		switch dt {
		case "char", "varchar", "text", "blob", "tinyblob", "mediumblob", "longblob", "tinytext", "mediumtext", "longtext":
			// the driver reports binary strings with the same names; tell them apart by scan type
			if ct.ScanType() != nil && ct.ScanType().String() == "sql.RawBytes" && strings.Contains(dt, "blob") {
				c.Kind = record.KindBytes
			} else {
				c.Kind = record.KindString
			}
		case "binary", "varbinary":
			c.Kind = record.KindBytes
		case "tinyint":
			c.Kind = record.KindInt
			if l, ok := ct.Length(); ok && l == 1 {
				c.Kind = record.KindBool
			}
		default:
			c.Kind = kindOf(dt, dt)
		}
		if c.Kind == record.KindDecimal {
			if p, s, ok := ct.DecimalSize(); ok {
				c.Precision, c.Scale = int(p), int(s)
			}
		}
		out[i] = c
	}
	return out
}

func (d *Dialect) CursorCandidate(c sqlkit.Col) bool { return sqlkit.Orderable(c.Kind) }

func (d *Dialect) Select(list, from, where, order string, limit int) string {
	tail := ""
	if limit > 0 {
		tail = "LIMIT " + strconv.Itoa(limit)
	}
	return sqlkit.SelectSQL("", list, from, where, order, tail)
}

func (d *Dialect) SelectExpr(c sqlkit.Col, alias string) string {
	ref := alias + "." + q(c.Name)
	switch c.Type {
	case "bit":
		return ref + " + 0"
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return "ST_AsText(" + ref + ")"
	}
	return ref
}

const dateTimeLayout = "2006-01-02 15:04:05.999999"

// Decode reads a scanned value: text (the text protocol) or a typed driver value.
func (d *Dialect) Decode(src any, c sqlkit.Col) (record.Value, error) {
	switch s := src.(type) {
	case nil:
		return record.Null, nil
	case []byte:
		return decodeText(s, c.Kind)
	case string:
		return decodeText([]byte(s), c.Kind)
	case time.Time:
		if c.Kind == record.KindDate {
			return record.Date(s), nil
		}
		return record.Timestamp(s), nil
	}
	return sqlkit.FromDriver(src, c.Kind)
}

func decodeText(b []byte, k record.Kind) (record.Value, error) {
	switch k {
	case record.KindString:
		return record.String(string(b)), nil
	case record.KindBytes:
		return record.Bytes(b), nil
	case record.KindInt:
		i, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return record.Null, fmt.Errorf("invalid integer %q", b)
		}
		return record.Int(i), nil
	case record.KindBool:
		switch string(b) {
		case "0":
			return record.Bool(false), nil
		case "1":
			return record.Bool(true), nil
		}
		if len(b) == 1 { // BIT(1) read raw
			return record.Bool(b[0] != 0), nil
		}
		i, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return record.Null, fmt.Errorf("invalid boolean %q", b)
		}
		return record.Bool(i != 0), nil
	case record.KindFloat:
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return record.Null, fmt.Errorf("invalid number %q", b)
		}
		return record.Float(f), nil
	case record.KindDecimal:
		return record.Decimal(string(b))
	case record.KindJSON:
		return record.ParseJSON(b)
	case record.KindDate:
		s := string(b)
		if strings.HasPrefix(s, "0000-00-00") {
			return record.Null, nil
		}
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return record.Null, fmt.Errorf("invalid date %q", s)
		}
		return record.Date(t), nil
	case record.KindTimestamp:
		s := string(b)
		if strings.HasPrefix(s, "0000-00-00") {
			return record.Null, nil
		}
		t, err := time.ParseInLocation(dateTimeLayout, s, time.UTC)
		if err != nil {
			return record.Null, fmt.Errorf("invalid datetime %q", s)
		}
		return record.Timestamp(t), nil
	}
	return record.Parse(string(b), k)
}

// Arg turns a value into a driver argument for column c.
func (d *Dialect) Arg(v record.Value, c sqlkit.Col) (any, error) {
	switch v.Kind() {
	case record.KindNull:
		return nil, nil
	case record.KindBool:
		if v.AsBool() {
			return int64(1), nil
		}
		return int64(0), nil
	case record.KindInt:
		return v.AsInt(), nil
	case record.KindFloat:
		f := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("MySQL cannot store %v in a %s column", f, c.Native)
		}
		return f, nil
	case record.KindBytes:
		return v.AsBytes(), nil
	case record.KindDate:
		return v.AsTime().Format("2006-01-02"), nil
	case record.KindTimestamp:
		return v.AsTime().Format(dateTimeLayout), nil
	}
	return v.Str(), nil
}

// DDLType is the column type created for a field. See docs/connectors/mysql.md.
func (d *Dialect) DDLType(f record.Field, key bool) string {
	switch f.Kind {
	case record.KindBool:
		return "BOOLEAN"
	case record.KindInt:
		return "BIGINT"
	case record.KindFloat:
		return "DOUBLE"
	case record.KindDecimal:
		if f.Precision > 0 && f.Precision <= 65 && f.Scale >= 0 && f.Scale <= 30 && f.Scale <= f.Precision {
			return fmt.Sprintf("DECIMAL(%d,%d)", f.Precision, f.Scale)
		}
		return "DECIMAL(65,30)"
	case record.KindBytes:
		if key {
			return "VARBINARY(255)"
		}
		return "LONGBLOB"
	case record.KindDate:
		return "DATE"
	case record.KindTimestamp:
		return "DATETIME(6)"
	case record.KindJSON:
		return "JSON"
	}
	if key {
		return "VARCHAR(255)"
	}
	return "LONGTEXT"
}

func (d *Dialect) CreateTable(table string, s *record.Schema, key []string) string {
	return "CREATE TABLE IF NOT EXISTS " + table + " (" + sqlkit.ColumnList(s, key, q, d.DDLType) + ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
}

func (d *Dialect) AddColumn(table string, f record.Field) string {
	return "ALTER TABLE " + table + " ADD COLUMN IF NOT EXISTS " + q(f.Name) + " " + d.DDLType(f, false) + " NULL"
}

func (d *Dialect) CreateLike(stage, target string) []sqlkit.Stmt {
	return []sqlkit.Stmt{{SQL: "CREATE TABLE " + stage + " LIKE " + target}}
}

// Swap renames both tables in one RENAME TABLE (atomic), then drops the old one.
func (d *Dialect) Swap(schema, stage, target string, exists bool) []sqlkit.Stmt {
	st, tg := sqlkit.Qualified(q, schema, stage), sqlkit.Qualified(q, schema, target)
	if !exists {
		return []sqlkit.Stmt{{SQL: "RENAME TABLE " + st + " TO " + tg}}
	}
	old := sqlkit.Qualified(q, schema, sqlkit.StagingName("_agg_old_", target, strings.TrimPrefix(stage, "_agg_stage_"), d.MaxIdent()))
	return []sqlkit.Stmt{
		{SQL: "DROP TABLE IF EXISTS " + old},
		{SQL: "RENAME TABLE " + tg + " TO " + old + ", " + st + " TO " + tg},
		{SQL: "DROP TABLE " + old},
	}
}

func (d *Dialect) HasUniqueKey(ctx context.Context, db sqlkit.Queryer, t *sqlkit.Table, key []string) (bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX`, t.Schema, t.Name)
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

// Upsert loads straight into the target with ON DUPLICATE KEY UPDATE (see Load).
func (d *Dialect) Upsert(_ context.Context, _ sqlkit.Queryer, target string, _ *record.Schema, _ []string) (string, bool, []sqlkit.Stmt, []sqlkit.Stmt, error) {
	return target, false, nil, nil, nil
}

// Load loads append and overwrite rows with LOAD DATA LOCAL INFILE when LoadData is set and the load
// raises no warning (loadData); otherwise, and for upsert, with multi-row INSERT statements, each below
// the placeholder limit and half the packet size.
func (d *Dialect) Load(ctx context.Context, tx *sql.Tx, table string, cols []sqlkit.Col, rows [][]any, upsertKey []string) error {
	if len(rows) == 0 {
		return nil
	}
	if d.LoadData && len(upsertKey) == 0 {
		ok, err := d.loadData(ctx, tx, table, cols, rows)
		if ok || err != nil {
			return err
		}
	}
	maxBytes := d.MaxPacket
	if maxBytes <= 0 {
		maxBytes = 16 << 20
	}
	maxBytes /= 2
	perStmt := max(1, maxPlaceholders/len(cols))
	head, tail := insertParts(table, cols, upsertKey)
	var sb strings.Builder
	args := make([]any, 0, min(len(rows), perStmt)*len(cols))
	n, size := 0, 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		sb.WriteString(tail)
		_, err := tx.ExecContext(ctx, sb.String(), args...)
		sb.Reset()
		args = args[:0]
		n, size = 0, 0
		return err
	}
	rowPH := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	for _, r := range rows {
		rs := rowSize(r)
		if n > 0 && (n >= perStmt || size+rs > maxBytes) {
			if err := flush(); err != nil {
				return err
			}
		}
		if n == 0 {
			sb.WriteString(head)
		} else {
			sb.WriteByte(',')
		}
		sb.WriteString(rowPH)
		args = append(args, r...)
		n++
		size += rs
	}
	return flush()
}

func insertParts(table string, cols []sqlkit.Col, upsertKey []string) (string, string) {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	head := "INSERT INTO " + table + " (" + sqlkit.QuoteAll(q, names) + ") VALUES "
	if len(upsertKey) == 0 {
		return head, ""
	}
	isKey := map[string]bool{}
	for _, k := range upsertKey {
		isKey[strings.ToLower(k)] = true
	}
	var sets []string
	for _, n := range names {
		if !isKey[strings.ToLower(n)] {
			sets = append(sets, q(n)+" = VALUES("+q(n)+")")
		}
	}
	if len(sets) == 0 {
		sets = append(sets, q(upsertKey[0])+" = "+q(upsertKey[0]))
	}
	return head, " ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
}

func rowSize(r []any) int {
	n := 3
	for _, a := range r {
		switch t := a.(type) {
		case string:
			n += 2*len(t) + 4
		case []byte:
			n += 2*len(t) + 12
		default:
			n += 24
		}
	}
	return n
}

// InnoDB rolls a failed statement back by itself: no savepoints needed.
func (d *Dialect) Savepoint() string  { return "" }
func (d *Dialect) RollbackTo() string { return "" }
func (d *Dialect) Release() string    { return "" }

func mysqlErr(err error) *mysql.MySQLError {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me
	}
	return nil
}

// dataErrors are the server errors a row's values or constraints cause.
var dataErrors = map[uint16]bool{
	1048: true, // column cannot be null
	1062: true, // duplicate entry
	1263: true, // NULL supplied to NOT NULL column
	1264: true, // out of range
	1265: true, // data truncated
	1292: true, // incorrect datetime/date value
	1366: true, // incorrect integer/string value
	1367: true, // illegal value
	1406: true, // data too long
	1411: true, // incorrect value for function
	1416: true, // cannot get geometry object
	1451: true, // foreign key: row is referenced
	1452: true, // foreign key: no parent row
	1690: true, // value out of range
	3140: true, // invalid JSON (MySQL)
	3819: true, // check constraint violated (MySQL)
	4025: true, // check constraint failed (MariaDB)
	1300: true, // invalid character string
}

func (d *Dialect) IsData(err error) bool {
	me := mysqlErr(err)
	return me != nil && dataErrors[me.Number]
}

func (d *Dialect) IsTransient(err error) bool {
	if sqlkit.Cancelled(err) {
		return false
	}
	if me := mysqlErr(err); me != nil {
		switch me.Number {
		case 1205, 1213, 1040, 1053, 1077, 1152, 1153, 1158, 1159, 1160, 1161, 1927, 2006, 2013:
			return true
		}
		return false
	}
	return sqlkit.ConnectionLost(err, mysql.ErrInvalidConn, syscall.ECONNREFUSED)
}

func (d *Dialect) IsUndefinedTable(err error) bool {
	me := mysqlErr(err)
	return me != nil && me.Number == 1146
}

var atRowRe = regexp.MustCompile(`at row (\d+)`)

func (d *Dialect) RowHint(err error, n int) int {
	me := mysqlErr(err)
	if me == nil {
		return -1
	}
	m := atRowRe.FindStringSubmatch(me.Message)
	if m == nil {
		return -1
	}
	i, _ := strconv.Atoi(m[1])
	if i < 1 || i > n {
		return -1
	}
	return i - 1
}

var columnRes = []*regexp.Regexp{
	regexp.MustCompile("for column (?:`[^`]*`\\.)*`([^`]+)`"),
	regexp.MustCompile(`[Cc]olumn '([^']+)'`),
	regexp.MustCompile("CONSTRAINT `[^`.]*\\.?([^`]+)` failed"),
}

func (d *Dialect) Problem(err error) (string, string) {
	me := mysqlErr(err)
	if me == nil {
		return "", err.Error()
	}
	field := ""
	for _, re := range columnRes {
		if m := re.FindStringSubmatch(me.Message); m != nil {
			field = m[1]
			break
		}
	}
	msg := atRowRe.ReplaceAllString(me.Message, "")
	return field, strings.TrimSpace(msg) + fmt.Sprintf(" [MySQL error %d]", me.Number)
}
