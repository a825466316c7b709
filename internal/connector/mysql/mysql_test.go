package mysql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

var valueEq = cmp.Comparer(func(a, b record.Value) bool { return a.Equal(b) })

func TestReadAndWriteEveryType(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, "CREATE TABLE all_types (id INT PRIMARY KEY, ti TINYINT, si SMALLINT, mi MEDIUMINT, bi BIGINT, ubi BIGINT UNSIGNED, "+
		"fl FLOAT, db DOUBLE, dc DECIMAL(38,10), b BOOLEAN, bt BIT(1), yr YEAR, "+
		"ch CHAR(3), vc VARCHAR(20), tx LONGTEXT, en ENUM('a','b'), bin VARBINARY(10), bl LONGBLOB, "+
		"d DATE, dt DATETIME(6), ts TIMESTAMP(6) NULL, tm TIME, j JSON, u UUID) CHARACTER SET utf8mb4")
	big := strings.Repeat("é漢", 1<<20/5)
	e.exec(t, `INSERT INTO all_types VALUES
	(1, -128, -32768, 8388607, -9223372036854775808, 18446744073709551615, 1.5, -2.25e100, '1234567890123456789012345678.0123456789', TRUE, b'1', 1999,
	 'ab', 'zürich ✓', ?, 'b', x'00ff10', x'', '1969-07-20', '1901-12-13 20:45:52.123456', '2024-02-29 18:29:59.999999', '13:14:15', '{"b": 1, "a": [1, 2]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
	(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, FALSE, b'0', NULL, NULL, '', '', NULL, NULL, NULL, '1000-01-01', NULL, NULL, NULL, NULL, NULL)`, big)
	rows, s, _ := readAll(t, e.with("table", "all_types", "batch_size", 1), connector.ReadRequest{})
	if len(rows) != 2 {
		t.Fatalf("rows = %d", len(rows))
	}
	kinds := map[string]string{}
	for _, f := range s.Fields {
		kinds[f.Name] = f.Kind.String()
	}
	wantKinds := map[string]string{"id": "int", "ti": "int", "si": "int", "mi": "int", "bi": "int", "ubi": "decimal", "fl": "float", "db": "float",
		"dc": "decimal", "b": "bool", "bt": "bool", "yr": "int", "ch": "string", "vc": "string", "tx": "string", "en": "string", "bin": "bytes", "bl": "bytes",
		"d": "date", "dt": "timestamp", "ts": "timestamp", "tm": "string", "j": "json", "u": "string"}
	if diff := cmp.Diff(wantKinds, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	tm := func(s string) time.Time { x, _ := time.Parse(time.RFC3339Nano, s); return x }
	want0 := map[string]record.Value{
		"ti": record.Int(-128), "bi": record.Int(-9223372036854775808), "ubi": record.MustDecimal("18446744073709551615"), "fl": record.Float(1.5),
		"db": record.Float(-2.25e100), "dc": record.MustDecimal("1234567890123456789012345678.0123456789"), "b": record.Bool(true), "bt": record.Bool(true),
		"yr": record.Int(1999), "ch": record.String("ab"), "vc": record.String("zürich ✓"), "tx": record.String(big), "en": record.String("b"),
		"bin": record.Bytes([]byte{0, 0xff, 0x10}), "bl": record.Bytes(nil), "d": record.Date(tm("1969-07-20T00:00:00Z")),
		"dt": record.Timestamp(tm("1901-12-13T20:45:52.123456Z")), "ts": record.Timestamp(tm("2024-02-29T18:29:59.999999Z")),
		"tm": record.String("13:14:15"), "j": record.JSON(`{"b":1,"a":[1,2]}`), "u": record.String("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
	}
	for name, want := range want0 {
		if got := rows[0][s.Index(name)]; !got.Equal(want) {
			t.Errorf("%s = %v (%s), want %v (%s)", name, got, got.Kind(), want, want.Kind())
		}
	}
	if got := rows[1][s.Index("ti")]; !got.IsNull() {
		t.Errorf("NULL read as %v", got)
	}
	if got := rows[1][s.Index("vc")]; !got.Equal(record.String("")) {
		t.Errorf("empty string read as %v (%s)", got, got.Kind())
	}
	// write everything into a new table and into a copy of the original, read both back
	write(t, e.with("table", "fresh"), connector.WriteRequest{Mode: connector.Append, Schema: s, Key: []string{"id"}}, batchOf(s, rows...))
	got, _, _ := readAll(t, e.with("table", "fresh"), connector.ReadRequest{})
	if diff := cmp.Diff(rows, got, valueEq); diff != "" {
		t.Errorf("fresh table differs (-want +got):\n%s", diff)
	}
	e.exec(t, "CREATE TABLE typed LIKE all_types")
	write(t, e.with("table", "typed"), connector.WriteRequest{Mode: connector.Append, Schema: s}, batchOf(s, rows...))
	got, _, _ = readAll(t, e.with("table", "typed"), connector.ReadRequest{})
	if diff := cmp.Diff(rows, got, valueEq); diff != "" {
		t.Errorf("typed table differs (-want +got):\n%s", diff)
	}
}

func TestIncrementalTwice(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, "CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(10,2), updated_at DATETIME(6) NULL)")
	e.exec(t, "INSERT INTO orders VALUES (1, 10, '2024-01-01'), (2, 20, '2024-01-02'), (3, 30, '2024-01-02'), (4, 40, NULL)")
	cfg := e.with("table", "orders", "batch_size", 2)
	req := connector.ReadRequest{Mode: connector.Incremental, CursorField: "updated_at"}
	rows, _, state := readAll(t, cfg, req)
	if got := idsOf(rows); got != "1,2,3" {
		t.Fatalf("first run = %s", got)
	}
	e.exec(t, "INSERT INTO orders VALUES (5, 50, '2024-01-02'), (6, 60, '2024-01-05')")
	e.exec(t, "UPDATE orders SET amount = 11, updated_at = '2024-01-03' WHERE id = 1")
	req.State = state
	rows, _, _ = readAll(t, cfg, req)
	if got := idsOf(rows); got != "5,1,6" {
		t.Fatalf("second run = %s, want 5,1,6", got)
	}
	_, err := New().Open(context.Background(), connector.Env{}, e.with("table", "orders", "null_cursor", "fail"), connector.ReadRequest{Mode: connector.Incremental, CursorField: "updated_at"})
	if err == nil || !strings.Contains(err.Error(), `cursor column "updated_at" is NULL in 1 row(s)`) {
		t.Fatalf("null_cursor fail: %v", err)
	}
}

func idsOf(rows []record.Row) string {
	var s []string
	for _, r := range rows {
		s = append(s, r[0].String())
	}
	return strings.Join(s, ",")
}

func TestBadRowsAreIsolated(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, "CREATE TABLE people (id BIGINT PRIMARY KEY, name VARCHAR(5) NOT NULL, age INT CHECK (age >= 0))")
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString, Nullable: true}, record.Field{Name: "age", Kind: record.KindString, Nullable: true})
	var rows []record.Row
	for i := int64(1); i <= 100; i++ {
		rows = append(rows, record.Row{record.Int(i), record.String("ok"), record.String("30")})
	}
	rows[9][1] = record.Null
	rows[19][2] = record.String("abc")
	rows[49][1] = record.String("too long!!")
	rows[79][2] = record.String("-1")
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{}, e.with("table", "people"), connector.WriteRequest{Mode: connector.Append, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	// The value that cannot become an INT is refused by the Write; the rows the server refuses were
	// buffered for one LOAD DATA and come back when it runs, at Close (Index -1, named by key).
	var got []string
	collect := func(err error) {
		t.Helper()
		var re *connector.RowError
		if !errors.As(err, &re) {
			t.Fatalf("err = %v, want RowError", err)
		}
		for _, p := range re.Rows {
			_, key, _ := strings.Cut(p.Reason, "key id=")
			key, _, _ = strings.Cut(key, ",")
			got = append(got, fmt.Sprintf("%d:%s:%s", p.Index, key, p.Field))
			if !strings.Contains(p.Reason, "table "+e.my.Database+".people, key id=") {
				t.Errorf("reason does not name table and key: %q", p.Reason)
			}
		}
	}
	collect(w.Write(ctx, batchOf(s, rows...)))
	collect(w.Close(ctx))
	if strings.Join(got, ",") != "19:20:age,-1:10:name,-1:50:name,-1:80:age" {
		t.Errorf("problems (index:key:field) = %v", got)
	}
	if n := e.strings(t, "SELECT COUNT(*) FROM people"); n[0] != "96" {
		t.Fatalf("rows written = %s, want 96", n[0])
	}
}

func TestOverwriteAndUpsert(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString, Nullable: true})
	row := func(id int64, n string) record.Row { return record.Row{record.Int(id), record.String(n)} }
	cfg := e.with("table", "people")
	write(t, cfg, connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id"}, Schema: s}, batchOf(s, row(1, "a"), row(2, "b")))
	write(t, cfg, connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id"}, Schema: s}, batchOf(s, row(2, "B"), row(3, "c"), row(3, "C")))
	if got := strings.Join(e.strings(t, "SELECT CONCAT(id, name) FROM people ORDER BY id"), ","); got != "1a,2B,3C" {
		t.Fatalf("after upsert: %s", got)
	}
	// a failed overwrite leaves the old table intact
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{}, cfg, connector.WriteRequest{Mode: connector.Overwrite, Schema: s, RunID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, batchOf(s, row(9, "x"))); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	_ = w.Abort(ctx)
	if got := strings.Join(e.strings(t, "SELECT CONCAT(id, name) FROM people ORDER BY id"), ","); got != "1a,2B,3C" {
		t.Fatalf("after a failed overwrite: %s", got)
	}
	if got := e.strings(t, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '"+e.my.Database+"' AND TABLE_NAME LIKE '\\_agg%'"); len(got) != 0 {
		t.Fatalf("staging left behind: %v", got)
	}
	write(t, cfg, connector.WriteRequest{Mode: connector.Overwrite, Schema: s, RunID: "r2"}, batchOf(s, row(7, "n")))
	if got := strings.Join(e.strings(t, "SELECT CONCAT(id, name) FROM people ORDER BY id"), ","); got != "7n" {
		t.Fatalf("after overwrite: %s", got)
	}
	// schema evolution
	wider := record.MustSchema(append(append([]record.Field{}, s.Fields...), record.Field{Name: "Score Δ", Kind: record.KindFloat, Nullable: true})...)
	write(t, cfg, connector.WriteRequest{Mode: connector.Append, Schema: wider}, batchOf(wider, record.Row{record.Int(8), record.String("m"), record.Float(2.5)}))
	if got := strings.Join(e.strings(t, "SELECT CONCAT(id, name, IFNULL(`Score Δ`, '-')) FROM people ORDER BY id"), ","); got != "7n-,8m2.5" {
		t.Fatalf("after evolution: %s", got)
	}
	bad := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "Score Δ", Kind: record.KindDate})
	_, err = New().OpenWriter(ctx, connector.Env{}, cfg, connector.WriteRequest{Mode: connector.Append, Schema: bad})
	if err == nil || !strings.Contains(err.Error(), `column "Score Δ": the source type is date but the destination column is double (float)`) {
		t.Fatalf("incompatible change: %v", err)
	}
}

func TestInjectionThroughNamesAndCursor(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, "CREATE TABLE victim (id INT)")
	table := "x`; DROP TABLE victim; --"
	col := "name`); DROP TABLE victim; -- ?"
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: col, Kind: record.KindString, Nullable: true}, record.Field{Name: "select", Kind: record.KindString})
	cursorVal := `'; DROP TABLE victim; -- \' ?`
	write(t, e.with("table", table), connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id"}, Schema: s},
		batchOf(s, record.Row{record.Int(1), record.String(`'); DROP TABLE victim; --`), record.String(cursorVal)}, record.Row{record.Int(2), record.String("b"), record.String("zzz")}))
	rows, rs, _ := readAll(t, e.with("table", table), connector.ReadRequest{})
	if len(rows) != 2 || rows[0][rs.Index(col)].Str() != `'); DROP TABLE victim; --` || rows[0][rs.Index("select")].Str() != cursorVal {
		t.Fatalf("round trip = %v", rows)
	}
	st := fmt.Sprintf(`{"cursor":{"kind":"string","value":%q},"cursor_field":"select","key":[{"kind":"int","value":"1"}],"key_fields":["id"]}`, cursorVal)
	rows, _, _ = readAll(t, e.with("table", table), connector.ReadRequest{Mode: connector.Incremental, CursorField: "select", State: []byte(st)})
	if len(rows) != 1 || rows[0][0].AsInt() != 2 {
		t.Fatalf("incremental after an injection cursor = %v", rows)
	}
	if _, err := New().Open(context.Background(), connector.Env{}, e.with("table", "victim`; DROP TABLE victim; --"), connector.ReadRequest{}); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if got := e.strings(t, "SELECT COUNT(*) FROM victim"); got[0] != "0" {
		t.Fatalf("victim: %v", got)
	}
}

const secret = "s3cr3t-Pa55word"

func TestCheckSaysWhatIsWrong(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, "CREATE TABLE present (id INT)")
	port := testutil.FreePort(t)
	cases := []struct {
		name string
		cfg  map[string]any
		want string
		is   error
	}{
		{"ok", e.with("table", "present"), "", nil},
		{"wrong password", e.with("password", secret), fmt.Sprintf("access denied for user %q: wrong password", e.cfg["user"]), connector.ErrConfig},
		{"unknown host", e.with("host", "no-such-host.invalid", "password", secret), `unknown host "no-such-host.invalid"`, connector.ErrConfig},
		{"refused port", e.with("port", port, "password", secret), fmt.Sprintf("connection refused (is the server running and listening on port %d?)", port), connector.ErrTransient},
		{"missing database", e.with("database", "no_such_db_x"), `database "no_such_db_x" does not exist`, connector.ErrConfig},
		{"missing table", e.with("table", "absent"), `table "absent" not found in database "` + e.my.Database + `"`, connector.ErrNotFound},
		{"tls required", e.with("ssl_mode", "verify-full", "ssl_root_cert", "/etc/ssl/certs/ca-certificates.crt"), "TLS", connector.ErrConfig},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := New().Check(context.Background(), connector.Env{}, c.cfg)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if !errors.Is(err, c.is) {
				t.Errorf("err = %v, want errors.Is %v", err, c.is)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("secret leaked: %v", err)
			}
		})
	}
}

// TestServerRestartMidRunIsTransient kills the writer's session (as a restart would) before Commit.
func TestServerRestartMidRunIsTransient(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt})
	var logs bytes.Buffer
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, e.with("table", "t"), connector.WriteRequest{Mode: connector.Append, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, batchOf(s, record.Row{record.Int(1)})); err != nil {
		t.Fatal(err)
	}
	e.db.SetMaxOpenConns(1)
	killSessions(t, w.(*sqlkit.Writer))
	err = w.Commit(ctx)
	if !errors.Is(err, connector.ErrTransient) {
		t.Fatalf("commit after the session died: %v, want ErrTransient", err)
	}
	_ = w.Abort(ctx)
	if got := e.strings(t, "SELECT COUNT(*) FROM t"); got[0] != "0" {
		t.Fatalf("rows after a failed commit = %s, want 0", got[0])
	}
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, "CREATE TABLE `Orders ✓` (region VARCHAR(10), id BIGINT, created DATE, amount DECIMAL(12,2) NOT NULL, note TEXT, PRIMARY KEY (region, id))")
	e.exec(t, "CREATE VIEW recent AS SELECT id, amount FROM `Orders ✓`")
	cat, err := New().Discover(context.Background(), connector.Env{}, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Streams) != 2 {
		t.Fatalf("streams = %+v", cat.Streams)
	}
	o, v := cat.Streams[0], cat.Streams[1]
	if o.Name != "Orders ✓" || o.Kind != "table" || strings.Join(o.PrimaryKey, ",") != "region,id" || strings.Join(o.CursorCandidates, ",") != "id,created,amount" {
		t.Errorf("table = %+v", o)
	}
	if f, _ := o.Schema.Field("amount"); f.Kind != record.KindDecimal || f.Nullable || f.Precision != 12 || f.Scale != 2 {
		t.Errorf("amount = %+v", f)
	}
	if v.Name != "recent" || v.Kind != "view" {
		t.Errorf("view = %+v", v)
	}
}

func TestQuerySource(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), b VARBINARY(4), f TINYINT(1))")
	e.exec(t, "INSERT INTO t VALUES (1, 'a', x'01', 1), (2, 'b', x'02', 0), (3, 'c', NULL, NULL)")
	rows, s, _ := readAll(t, e.with("query", "SELECT id, UPPER(v) AS up, b, f FROM t WHERE id > 1;"), connector.ReadRequest{})
	if len(rows) != 2 || s.Names()[1] != "up" || rows[0][1].Str() != "B" {
		t.Fatalf("query rows = %v schema %s", rows, s)
	}
	if f, _ := s.Field("b"); f.Kind != record.KindBytes {
		t.Errorf("b kind = %s", f.Kind)
	}
}

func TestWriteTableDroppedMidRun(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt})
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{}, e.with("table", "t"), connector.WriteRequest{Mode: connector.Append, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(ctx)
	if err := w.Write(ctx, batchOf(s, record.Row{record.Int(1)})); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	e.exec(t, "DROP TABLE t")
	if err := w.Write(ctx, batchOf(s, record.Row{record.Int(2)})); err != nil {
		t.Fatal(err) // buffered for one LOAD DATA at Commit
	}
	err = w.Commit(ctx)
	if !errors.Is(err, connector.ErrNotFound) || !strings.Contains(err.Error(), e.my.Database+".t") {
		t.Fatalf("err = %v, want ErrNotFound naming the table", err)
	}
}

// Clean rows of append go through LOAD DATA LOCAL INFILE (the server's Com_load counter moves) and
// arrive byte for byte, escapes and NULLs included; TestBadRowsAreIsolated covers the rows LOAD DATA
// would have written wrong (it falls back to INSERT, which refuses them).
func TestCleanRowsLoadWithLoadData(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "txt", Kind: record.KindString, Nullable: true},
		record.Field{Name: "f", Kind: record.KindFloat, Nullable: true})
	tricky := []string{"tab\there", "line\nbreak", `back\slash`, "cr\rlf", "nul\x00byte", `\N`, "Grüße 日本語 🎉", ""}
	var rows []record.Row
	for i := int64(0); i < 2000; i++ {
		txt := record.String(tricky[i%int64(len(tricky))])
		if i%11 == 0 {
			txt = record.Null
		}
		rows = append(rows, record.Row{record.Int(i), txt, record.Float(float64(i) / 3)})
	}
	loads := func() int {
		v := e.strings(t, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'COM_LOAD'")
		n, _ := strconv.Atoi(v[0])
		return n
	}
	before := loads()
	write(t, e.with("table", "tricky"), connector.WriteRequest{Mode: connector.Append, Schema: s}, batchOf(s, rows...))
	if loads() <= before {
		t.Error("LOAD DATA was not used")
	}
	got := e.strings(t, "SELECT CONCAT(id, '|', COALESCE(HEX(txt), 'NULL'), '|', f) FROM tricky ORDER BY id")
	if len(got) != len(rows) {
		t.Fatalf("%d rows, want %d", len(got), len(rows))
	}
	for i, r := range rows {
		hex := "NULL"
		if !r[1].IsNull() {
			hex = strings.ToUpper(fmt.Sprintf("%x", r[1].Str()))
		}
		want := fmt.Sprintf("%d|%s|%s", i, hex, strconv.FormatFloat(r[2].AsFloat(), 'g', -1, 64))
		if got[i] != want {
			t.Fatalf("row %d = %q, want %q", i, got[i], want)
		}
	}
}
