package sqlserver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// No SQL Server runs here: these tests cover SQL generation, type mapping and error mapping.

func TestQuote(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"plain":                       "[plain]",
		"with space":                  "[with space]",
		"select":                      "[select]",
		"a]b":                         "[a]]b]",
		"x]; DROP TABLE victim; --":   "[x]]; DROP TABLE victim; --]",
		"Größe ✓":                     "[Größe ✓]",
		`"quoted" 'single' [bracket]`: `["quoted" 'single' [bracket]]]`,
	}
	for in, want := range cases {
		if got := q(in); got != want {
			t.Errorf("q(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestKindOfAndDDL(t *testing.T) {
	t.Parallel()
	kinds := map[string]record.Kind{
		"bit": record.KindBool, "tinyint": record.KindInt, "smallint": record.KindInt, "int": record.KindInt, "bigint": record.KindInt,
		"real": record.KindFloat, "float": record.KindFloat, "decimal": record.KindDecimal, "numeric": record.KindDecimal, "money": record.KindDecimal,
		"smallmoney": record.KindDecimal, "char": record.KindString, "varchar": record.KindString, "nchar": record.KindString, "nvarchar": record.KindString,
		"text": record.KindString, "ntext": record.KindString, "uniqueidentifier": record.KindString, "xml": record.KindString, "time": record.KindString,
		"binary": record.KindBytes, "varbinary": record.KindBytes, "image": record.KindBytes, "rowversion": record.KindBytes, "date": record.KindDate,
		"datetime": record.KindTimestamp, "datetime2": record.KindTimestamp, "smalldatetime": record.KindTimestamp, "datetimeoffset": record.KindTimestamp,
		"json": record.KindJSON,
	}
	for typ, want := range kinds {
		if got := kindOf(typ); got != want {
			t.Errorf("kindOf(%s) = %s, want %s", typ, got, want)
		}
	}
	d := &Dialect{}
	ddl := []struct {
		f   record.Field
		key bool
		out string
	}{
		{record.Field{Kind: record.KindBool}, false, "bit"},
		{record.Field{Kind: record.KindInt}, false, "bigint"},
		{record.Field{Kind: record.KindFloat}, false, "float"},
		{record.Field{Kind: record.KindDecimal, Precision: 38, Scale: 10}, false, "decimal(38,10)"},
		{record.Field{Kind: record.KindDecimal}, false, "decimal(38,10)"},
		{record.Field{Kind: record.KindDecimal, Precision: 60, Scale: 2}, false, "decimal(38,10)"},
		{record.Field{Kind: record.KindString}, false, "nvarchar(max)"},
		{record.Field{Kind: record.KindString}, true, "nvarchar(450)"},
		{record.Field{Kind: record.KindBytes}, false, "varbinary(max)"},
		{record.Field{Kind: record.KindBytes}, true, "varbinary(900)"},
		{record.Field{Kind: record.KindDate}, false, "date"},
		{record.Field{Kind: record.KindTimestamp}, false, "datetime2(6)"},
		{record.Field{Kind: record.KindJSON}, false, "nvarchar(max)"},
		{record.Field{Kind: record.KindNull}, false, "nvarchar(max)"},
	}
	for _, c := range ddl {
		if got := d.DDLType(c.f, c.key); got != c.out {
			t.Errorf("DDLType(%s p%d s%d key=%v) = %s, want %s", c.f.Kind, c.f.Precision, c.f.Scale, c.key, got, c.out)
		}
	}
	if got := native("nvarchar", -1, 0, 0); got != "nvarchar(max)" {
		t.Errorf("native = %s", got)
	}
	if got := native("decimal", 0, 38, 10); got != "decimal(38,10)" {
		t.Errorf("native = %s", got)
	}
}

func TestSQLGeneration(t *testing.T) {
	t.Parallel()
	d := &Dialect{RunID: "conf-1234"}
	s := record.MustSchema(
		record.Field{Name: "id", Kind: record.KindInt},
		record.Field{Name: "na]me", Kind: record.KindString, Nullable: true},
		record.Field{Name: "amount", Kind: record.KindDecimal, Precision: 12, Scale: 2, Nullable: true},
	)
	target := sqlkit.Qualified(q, "dbo", "Orders ✓")
	cases := []struct{ name, got, want string }{
		{"create", d.CreateTable(target, s, []string{"id"}),
			"IF OBJECT_ID(N'[dbo].[Orders ✓]', N'U') IS NULL CREATE TABLE [dbo].[Orders ✓] ([id] bigint NOT NULL, [na]]me] nvarchar(max) NULL, [amount] decimal(12,2) NULL, PRIMARY KEY ([id]))"},
		{"create with a quote in the name", d.CreateTable(sqlkit.Qualified(q, "dbo", "it's"), record.MustSchema(record.Field{Name: "a", Kind: record.KindInt}), nil),
			"IF OBJECT_ID(N'[dbo].[it''s]', N'U') IS NULL CREATE TABLE [dbo].[it's] ([a] bigint NULL)"},
		{"add column", d.AddColumn(target, record.Field{Name: "new col", Kind: record.KindTimestamp}), "ALTER TABLE [dbo].[Orders ✓] ADD [new col] datetime2(6) NULL"},
		{"like", d.CreateLike("[dbo].[_agg_stage_x]", target)[0].SQL, "SELECT * INTO [dbo].[_agg_stage_x] FROM [dbo].[Orders ✓] WHERE 1 = 0"},
		{"chunk", d.Select("q.[id], q.[na]]me]", target, "q.[id] > @p1", "q.[id]", 500), "SELECT TOP (500) q.[id], q.[na]]me] FROM [dbo].[Orders ✓] AS q WHERE q.[id] > @p1 ORDER BY q.[id]"},
		{"stream", d.Select("q.[id]", "(SELECT 1 AS id)", "", "", 0), "SELECT q.[id] FROM (SELECT 1 AS id) AS q"},
		{"keyset", sqlkit.After([]string{"q.[updated]", "q.[id]"}, func() func(int) string { n := 0; return func(int) string { n++; return d.Placeholder(n) } }()),
			"((q.[updated] > @p1 OR (q.[updated] = @p2 AND q.[id] > @p3)))"},
		{"merge", mergeSQL(target, "#tmp", s.Names(), []string{"id"}),
			"MERGE INTO [dbo].[Orders ✓] WITH (HOLDLOCK) AS t USING (SELECT [id], [na]]me], [amount] FROM (SELECT [id], [na]]me], [amount], ROW_NUMBER() OVER (PARTITION BY [id] ORDER BY [__aggregator_ord] DESC) AS [__aggregator_rn] FROM #tmp) AS x WHERE [__aggregator_rn] = 1) AS s ON t.[id] = s.[id] WHEN MATCHED THEN UPDATE SET t.[na]]me] = s.[na]]me], t.[amount] = s.[amount] WHEN NOT MATCHED THEN INSERT ([id], [na]]me], [amount]) VALUES (s.[id], s.[na]]me], s.[amount]);"},
		{"merge key only", mergeSQL(target, "#tmp", []string{"id"}, []string{"id"}),
			"MERGE INTO [dbo].[Orders ✓] WITH (HOLDLOCK) AS t USING (SELECT [id] FROM (SELECT [id], ROW_NUMBER() OVER (PARTITION BY [id] ORDER BY [__aggregator_ord] DESC) AS [__aggregator_rn] FROM #tmp) AS x WHERE [__aggregator_rn] = 1) AS s ON t.[id] = s.[id] WHEN NOT MATCHED THEN INSERT ([id]) VALUES (s.[id]);"},
		{"select decimal", d.SelectExpr(sqlkit.Col{Name: "amount", Type: "decimal"}, "q"), "CONVERT(varchar(50), q.[amount])"},
		{"select uuid", d.SelectExpr(sqlkit.Col{Name: "u", Type: "uniqueidentifier"}, "q"), "CONVERT(nvarchar(max), q.[u])"},
		{"select offset", d.SelectExpr(sqlkit.Col{Name: "ts", Type: "datetimeoffset"}, "q"), "CONVERT(datetime2(7), SWITCHOFFSET(q.[ts], '+00:00'))"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, c.got, c.want)
		}
	}
	swap := d.Swap("dbo", "_agg_stage_x", "Orders ✓", true)
	if len(swap) != 2 || swap[0].SQL != "DROP TABLE [dbo].[Orders ✓]" || swap[1].SQL != "EXEC sp_rename @p1, @p2, 'OBJECT'" ||
		swap[1].Args[0] != "[dbo].[_agg_stage_x]" || swap[1].Args[1] != "Orders ✓" {
		t.Errorf("swap = %+v", swap)
	}
	if got := d.Swap("dbo", "s", "t", false); len(got) != 1 {
		t.Errorf("swap of a new table = %+v", got)
	}
	load, ord, setup, merge, err := d.Upsert(context.Background(), nil, target, s, []string{"id"})
	if err != nil || load != "#agg_upsert__conf1234" || !ord || len(setup) != 3 || len(merge) != 2 || merge[1].SQL != "TRUNCATE TABLE #agg_upsert__conf1234" {
		t.Errorf("upsert = %s %v %+v %+v %v", load, ord, setup, merge, err)
	}
	if setup[1].SQL != "SELECT TOP (0) [id], [na]]me], [amount] INTO #agg_upsert__conf1234 FROM [dbo].[Orders ✓]" {
		t.Errorf("upsert temp table = %s", setup[1].SQL)
	}
}

func TestValues(t *testing.T) {
	t.Parallel()
	d := &Dialect{}
	ts := time.Date(1955, 11, 5, 6, 15, 0, 123456000, time.UTC)
	decode := []struct {
		src  any
		col  sqlkit.Col
		want record.Value
	}{
		{nil, sqlkit.Col{Kind: record.KindInt}, record.Null},
		{int64(-5), sqlkit.Col{Kind: record.KindInt}, record.Int(-5)},
		{true, sqlkit.Col{Kind: record.KindBool}, record.Bool(true)},
		{3.25, sqlkit.Col{Kind: record.KindFloat}, record.Float(3.25)},
		{"12345678901234567890.0123456789", sqlkit.Col{Kind: record.KindDecimal}, record.MustDecimal("12345678901234567890.0123456789")},
		{"", sqlkit.Col{Kind: record.KindString}, record.String("")},
		{"Grüße ✓", sqlkit.Col{Kind: record.KindString}, record.String("Grüße ✓")},
		{[]byte{0, 0xff}, sqlkit.Col{Kind: record.KindBytes}, record.Bytes([]byte{0, 0xff})},
		{`{"a": 1}`, sqlkit.Col{Kind: record.KindJSON}, record.JSON(`{"a":1}`)},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), sqlkit.Col{Kind: record.KindDate}, record.Date(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC))},
		{ts.In(time.FixedZone("x", 3600)), sqlkit.Col{Kind: record.KindTimestamp}, record.Timestamp(ts.Add(time.Hour))},
	}
	for _, c := range decode {
		got, err := d.Decode(c.src, c.col)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("Decode(%#v, %s) = %v (%s), %v; want %v", c.src, c.col.Kind, got, got.Kind(), err, c.want)
		}
	}
	args := []struct {
		v    record.Value
		want string
	}{
		{record.Null, "<nil>"},
		{record.Bool(true), "true"},
		{record.Int(42), "42"},
		{record.MustDecimal("-0.5"), "-0.5"},
		{record.String("x"), "x"},
		{record.Timestamp(ts), ts.String()},
	}
	for _, c := range args {
		got, err := d.Arg(c.v, sqlkit.Col{Native: "x"})
		if err != nil || fmt.Sprint(got) != c.want {
			t.Errorf("Arg(%v) = %v, %v; want %s", c.v, got, err, c.want)
		}
	}
	if _, err := d.Arg(record.Float(math.NaN()), sqlkit.Col{Native: "float"}); err == nil {
		t.Error("NaN accepted")
	}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	d := &Dialect{}
	data := mssql.Error{Number: 515, Message: "Cannot insert the value NULL into column 'name', table 'db.dbo.people'; column does not allow nulls. INSERT fails."}
	if !d.IsData(data) || d.IsTransient(data) {
		t.Errorf("515 classified wrong")
	}
	if f, reason := d.Problem(fmt.Errorf("load: %w", data)); f != "name" || !strings.Contains(reason, "[SQL Server error 515]") {
		t.Errorf("Problem = %q, %q", f, reason)
	}
	if !d.IsTransient(mssql.Error{Number: 1205}) || d.IsData(mssql.Error{Number: 1205}) {
		t.Error("deadlock should be transient")
	}
	if !d.IsUndefinedTable(mssql.Error{Number: 208}) {
		t.Error("208 is a missing table")
	}
	if d.IsTransient(context.Canceled) {
		t.Error("cancel is not transient")
	}
}

const secret = "p@ss:w/rd&x=y s3cr3t"

func TestDSNEscapesAndRedacts(t *testing.T) {
	t.Parallel()
	c := Config{ServerConfig: sqlkit.ServerConfig{Host: "db.example.com", Port: 1433, User: "app", Password: secret}, Database: "sales & co", Encrypt: "true", TableConfig: sqlkit.TableConfig{ConnectTimeout: 5}}
	u, err := url.Parse(c.dsn())
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := u.User.Password(); p != secret || u.Query().Get("database") != "sales & co" || u.Query().Get("encrypt") != "true" {
		t.Errorf("dsn does not round-trip: %s", u.Redacted())
	}
	msg := c.connError(mssql.Error{Number: 18456, Message: "Login failed for user 'app'."}, time.Second).Error()
	if !strings.Contains(msg, `login failed for user "app": wrong password`) || strings.Contains(msg, "s3cr3t") {
		t.Errorf("login error = %s", msg)
	}
	msg = c.connError(mssql.Error{Number: 4060, Message: "Cannot open database"}, time.Second).Error()
	if !strings.Contains(msg, `database "sales & co" does not exist`) {
		t.Errorf("database error = %s", msg)
	}
	msg = c.connError(fmt.Errorf("dial with %s: x509: certificate signed by unknown authority", url.QueryEscape(secret)), time.Second).Error()
	if !strings.Contains(msg, "TLS certificate verification failed") || strings.Contains(msg, "s3cr3t") {
		t.Errorf("tls error = %s", msg)
	}
}

// TestCheckWithoutServer runs the checks that need no SQL Server: a refused port and an unknown host,
// through Check and through CheckDestination.
func TestCheckWithoutServer(t *testing.T) {
	t.Parallel()
	port := testutil.FreePort(t)
	cases := []struct {
		cfg  map[string]any
		want string
		is   error
	}{
		{map[string]any{"host": "127.0.0.1", "port": port, "database": "x", "password": secret, "connect_timeout": 3}, fmt.Sprintf("connection refused (is the server running and listening on port %d?)", port), connector.ErrTransient},
		{map[string]any{"host": "no-such-host.invalid", "database": "x", "password": secret, "connect_timeout": 3}, `unknown host "no-such-host.invalid"`, connector.ErrConfig},
		{map[string]any{"database": "x", "encrypt": "maybe"}, "encrypt: must be one of", connector.ErrConfig},
	}
	checks := map[string]func(map[string]any) error{
		"Check": func(cfg map[string]any) error { return New().Check(context.Background(), connector.Env{}, cfg) },
		"CheckDestination": func(cfg map[string]any) error {
			return New().CheckDestination(context.Background(), connector.Env{}, cfg, connector.WriteRequest{Stream: "t", Mode: connector.Upsert, Key: []string{"id"}})
		},
	}
	for name, check := range checks {
		for _, c := range cases {
			err := check(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, c.is) {
				t.Errorf("%s(%v) = %v; want %q", name, c.cfg["host"], err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("secret leaked: %v", err)
			}
		}
	}
}
