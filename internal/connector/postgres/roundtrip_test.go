package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

const allTypesDDL = `CREATE TABLE all_types (
	id integer PRIMARY KEY,
	small smallint, big bigint, r real, d double precision,
	num numeric(38,10), num_free numeric, price money,
	t text, vc varchar(20), ch char(3), nm name,
	b boolean, by bytea,
	dt date, ts timestamp, tstz timestamptz, tm time, iv interval,
	j json, jb jsonb, u uuid, ia integer[], ta text[],
	ip inet
)`

func TestReadEveryType(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, allTypesDDL)
	big := strings.Repeat("é漢", 1<<20/5)
	e.exec(t, `INSERT INTO all_types VALUES
	 (1, -32768, 9223372036854775807, 1.5, -2.25e100, '1234567890123456789012345678.0123456789', '0.000000000000000000000000000001', 12.34,
	  'zürich ✓ "quoted" \ tab	', 'vc', 'ab', 'nm', true, '\x00ff10'::bytea,
	  '1969-07-20', '1901-12-13 20:45:52.123456', '2024-02-29 23:59:59.999999+05:30', '13:14:15', '1 day 2 hours',
	  '{"b": 1, "a": [1, 2]}', '{"b": 1, "a": [1, 2]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{"a b","c\"d"}', '10.0.0.1/32'),
	 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '', NULL, NULL, NULL, false, '\x'::bytea, '0001-01-01', NULL, NULL, NULL, NULL, 'null', '[]', NULL, '{}', NULL, NULL),
	 (3, NULL, NULL, 'NaN', 'Infinity', NULL, NULL, NULL, $1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`, big)
	rows, s, _ := readAll(t, e.with("table", "all_types", "batch_size", 2), connector.ReadRequest{})
	if len(rows) != 3 {
		t.Fatalf("read %d rows, want 3", len(rows))
	}
	kinds := map[string]record.Kind{}
	for _, f := range s.Fields {
		kinds[f.Name] = f.Kind
	}
	wantKinds := map[string]record.Kind{
		"id": record.KindInt, "small": record.KindInt, "big": record.KindInt, "r": record.KindFloat, "d": record.KindFloat,
		"num": record.KindDecimal, "num_free": record.KindDecimal, "price": record.KindDecimal, "t": record.KindString, "vc": record.KindString,
		"ch": record.KindString, "nm": record.KindString, "b": record.KindBool, "by": record.KindBytes, "dt": record.KindDate,
		"ts": record.KindTimestamp, "tstz": record.KindTimestamp, "tm": record.KindString, "iv": record.KindString,
		"j": record.KindJSON, "jb": record.KindJSON, "u": record.KindString, "ia": record.KindJSON, "ta": record.KindJSON, "ip": record.KindString,
	}
	if diff := cmp.Diff(wantKinds, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	if f, _ := s.Field("num"); f.Precision != 38 || f.Scale != 10 || f.Native != "numeric(38,10)" {
		t.Errorf("num field = %+v, want precision 38 scale 10", f)
	}
	get := func(row int, name string) record.Value { return rows[row][s.Index(name)] }
	ts := func(v string) record.Value {
		tm, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			t.Fatal(err)
		}
		return record.Timestamp(tm)
	}
	checks := []struct {
		row  int
		name string
		want record.Value
	}{
		{0, "small", record.Int(-32768)},
		{0, "big", record.Int(9223372036854775807)},
		{0, "r", record.Float(1.5)},
		{0, "d", record.Float(-2.25e100)},
		{0, "num", record.MustDecimal("1234567890123456789012345678.0123456789")},
		{0, "num_free", record.MustDecimal("0.000000000000000000000000000001")},
		{0, "price", record.MustDecimal("12.34")},
		{0, "t", record.String("zürich ✓ \"quoted\" \\ tab\t")},
		{0, "ch", record.String("ab")}, // char(n) padding is not significant in PostgreSQL
		{0, "b", record.Bool(true)},
		{0, "by", record.Bytes([]byte{0, 0xff, 0x10})},
		{0, "dt", record.Date(time.Date(1969, 7, 20, 0, 0, 0, 0, time.UTC))},
		{0, "ts", ts("1901-12-13T20:45:52.123456Z")},
		{0, "tstz", ts("2024-02-29T18:29:59.999999Z")},
		{0, "tm", record.String("13:14:15")},
		{0, "iv", record.String("1 day 02:00:00")},
		{0, "j", record.JSON(`{"b":1,"a":[1,2]}`)},
		{0, "jb", record.JSON(`{"a":[1,2],"b":1}`)},
		{0, "u", record.String("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")},
		{0, "ia", record.JSON(`[1,null,3]`)},
		{0, "ta", record.JSON(`["a b","c\"d"]`)},
		{0, "ip", record.String("10.0.0.1/32")},
		{1, "small", record.Null},
		{1, "t", record.String("")},
		{1, "b", record.Bool(false)},
		{1, "by", record.Bytes(nil)},
		{1, "dt", record.Date(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))},
		{1, "j", record.JSON(`null`)},
		{1, "ia", record.JSON(`[]`)},
		{2, "t", record.String(big)},
	}
	for _, c := range checks {
		if got := get(c.row, c.name); !got.Equal(c.want) {
			t.Errorf("row %d %s = %v (%s), want %v (%s)", c.row, c.name, got, got.Kind(), c.want, c.want.Kind())
		}
	}
	if f := get(2, "r").AsFloat(); f == f {
		t.Errorf("r NaN read as %v", f)
	}
}

// TestWriteEveryTypeRoundTrip copies the table through the destination into a new table (created from
// the record schema) and into a copy of the original DDL (existing typed columns), and reads both back.
func TestWriteEveryTypeRoundTrip(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, allTypesDDL)
	e.exec(t, `INSERT INTO all_types VALUES
	 (1, -32768, 9223372036854775807, 1.5, -2.25e100, '1234567890123456789012345678.0123456789', '-0.5', 12.34,
	  E'line\nbreak\r\\back\ttab', 'vc', 'ab', 'nm', true, '\x00ff10'::bytea,
	  '1969-07-20', '1901-12-13 20:45:52.123456', '2024-02-29 23:59:59.999999+05:30', '13:14:15', '1 day 2 hours',
	  '{"b": 1}', '{"a": [1, 2]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{"a b","c\"d",NULL}', '10.0.0.1/32'),
	 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	src, s, _ := readAll(t, e.with("table", "all_types"), connector.ReadRequest{})

	// 1. a new table created from the record schema
	write(t, e.with("table", "fresh"), connector.WriteRequest{Mode: connector.Append, Schema: s}, batchOf(s, src...))
	got, _, _ := readAll(t, e.with("table", "fresh", "key", []any{"id"}), connector.ReadRequest{})
	if diff := cmp.Diff(src, got, cmp.Comparer(func(a, b record.Value) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("fresh table differs (-src +got):\n%s", diff)
	}
	// 2. an existing table with the original column types (arrays, uuid, inet, money, time...)
	e.exec(t, strings.Replace(allTypesDDL, "all_types", "typed", 1))
	write(t, e.with("table", "typed"), connector.WriteRequest{Mode: connector.Append, Schema: s}, batchOf(s, src...))
	got, _, _ = readAll(t, e.with("table", "typed"), connector.ReadRequest{})
	if diff := cmp.Diff(src, got, cmp.Comparer(func(a, b record.Value) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("typed table differs (-src +got):\n%s", diff)
	}
	var dataType string
	if err := e.conn.QueryRow(context.Background(), "SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'fresh' AND column_name = 'num'", e.pg.Schema).Scan(&dataType); err != nil || dataType != "numeric" {
		t.Errorf("fresh.num type = %q (%v), want numeric", dataType, err)
	}
}
