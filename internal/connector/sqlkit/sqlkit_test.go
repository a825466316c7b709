package sqlkit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

func TestQuoting(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, pg, my, ms string }{
		{"plain", `"plain"`, "`plain`", "[plain]"},
		{`a"b`, `"a""b"`, "`a\"b`", `[a"b]`},
		{"a`b", "\"a`b\"", "`a``b`", "[a`b]"},
		{"a]b", `"a]b"`, "`a]b`", "[a]]b]"},
		{"select", `"select"`, "`select`", "[select]"},
		{"Größe ✓ x", `"Größe ✓ x"`, "`Größe ✓ x`", "[Größe ✓ x]"},
	}
	for _, c := range cases {
		if got := QuotePostgres(c.in); got != c.pg {
			t.Errorf("QuotePostgres(%q) = %s, want %s", c.in, got, c.pg)
		}
		if got := QuoteMySQL(c.in); got != c.my {
			t.Errorf("QuoteMySQL(%q) = %s, want %s", c.in, got, c.my)
		}
		if got := QuoteSQLServer(c.in); got != c.ms {
			t.Errorf("QuoteSQLServer(%q) = %s, want %s", c.in, got, c.ms)
		}
	}
	for _, bad := range []string{"", "a\x00b", strings.Repeat("x", 65)} {
		if err := CheckIdent("table", bad, 64); err == nil {
			t.Errorf("CheckIdent(%q) accepted", bad)
		}
	}
}

func TestStagingName(t *testing.T) {
	t.Parallel()
	if got := StagingName("_agg_stage_", "Orders ✓", "conf-12AB", 63); got != "_agg_stage_orders_conf12ab" {
		t.Errorf("got %s", got)
	}
	long := StagingName("_agg_stage_", strings.Repeat("t", 100), "run-1", 63)
	if len(long) > 63 || !strings.HasSuffix(long, "_run1") {
		t.Errorf("long name %s (%d bytes)", long, len(long))
	}
	if a, b := StagingName("_p_", "t", "r", 63), StagingName("_p_", "t", "r", 63); a != b {
		t.Error("not deterministic")
	}
}

func TestAfter(t *testing.T) {
	t.Parallel()
	ph := func() func(int) string { n := 0; return func(int) string { n++; return fmt.Sprintf("$%d", n) } }
	cases := []struct {
		cols []string
		want string
	}{
		{nil, "1=1"},
		{[]string{"a"}, "(a > $1)"},
		{[]string{"a", "b"}, "((a > $1 OR (a = $2 AND b > $3)))"},
		{[]string{"a", "b", "c"}, "((a > $1 OR (a = $2 AND (b > $3 OR (b = $4 AND c > $5)))))"},
	}
	for _, c := range cases {
		if got := After(c.cols, ph()); got != c.want {
			t.Errorf("After(%v) = %s, want %s", c.cols, got, c.want)
		}
	}
	if got := fmt.Sprint(AfterArgs([]int{1, 2, 3})); got != "[1 1 2 2 3]" {
		t.Errorf("AfterArgs = %s", got)
	}
}

func TestStateRoundTrip(t *testing.T) {
	t.Parallel()
	vals := []record.Value{
		record.Int(-5), record.String("it's \"x\""), record.Bytes([]byte{0, 0xff}), record.MustDecimal("12345678901234567890.0123456789"),
		record.Timestamp(time.Date(1955, 11, 5, 6, 15, 0, 123456000, time.UTC)), record.Date(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)),
		record.Bool(true), record.Float(0.1), record.String(""),
	}
	for _, v := range vals {
		cur := EncodeValue(v)
		st := State{Cursor: &cur, CursorField: "c", KeyFields: []string{"id"}, Key: []StateValue{EncodeValue(v)}}
		raw, err := st.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseState(raw, "c", []string{"id"})
		if err != nil {
			t.Fatal(err)
		}
		c, k, err := back.Values()
		if err != nil || !c.Equal(v) || !k[0].Equal(v) {
			t.Errorf("%v (%s) came back as %v / %v, %v", v, v.Kind(), c, k, err)
		}
	}
	if _, err := ParseState([]byte(`{"cursor":{"kind":"int","value":"1"},"cursor_field":"a"}`), "b", nil); err == nil || !strings.Contains(err.Error(), `cursor field "a"`) {
		t.Errorf("a state for another cursor: %v", err)
	}
	if _, err := ParseState([]byte(`{"key":[{"kind":"int","value":"1"}],"key_fields":["x"]}`), "", []string{"id"}); err == nil {
		t.Error("a state for another key was accepted")
	}
	if _, err := ParseState([]byte(`{not json`), "", nil); err == nil {
		t.Error("bad JSON accepted")
	}
}

func TestEvolve(t *testing.T) {
	t.Parallel()
	s := record.MustSchema(
		record.Field{Name: "id", Kind: record.KindInt},
		record.Field{Name: "Name", Kind: record.KindString},
		record.Field{Name: "amount", Kind: record.KindInt},
		record.Field{Name: "new", Kind: record.KindDate},
	)
	cols := []Column{{Name: "id", Native: "bigint", Kind: record.KindInt}, {Name: "name", Native: "text", Kind: record.KindString}, {Name: "amount", Native: "numeric(10,2)", Kind: record.KindDecimal}}
	p, err := Evolve("s.t", s, cols, Fold)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Add) != 1 || p.Add[0].Name != "new" || p.Target[2] != record.KindDecimal {
		t.Errorf("plan = %+v", p)
	}
	// exact-case matching: "Name" is new
	p, _ = Evolve("s.t", s, cols, nil)
	if len(p.Add) != 2 {
		t.Errorf("case-sensitive plan adds %v", p.Add)
	}
	bad := record.MustSchema(record.Field{Name: "id", Kind: record.KindJSON}, record.Field{Name: "name", Kind: record.KindBytes})
	_, err = Evolve("s.t", bad, cols, nil)
	if err == nil || !strings.Contains(err.Error(), `column "id": the source type is json but the destination column is bigint (int)`) ||
		!strings.Contains(err.Error(), `column "name": the source type is bytes but the destination column is text (string)`) {
		t.Errorf("err = %v", err)
	}
	compat := []struct {
		src, dst record.Kind
		ok       bool
	}{
		{record.KindInt, record.KindFloat, true}, {record.KindInt, record.KindDecimal, true}, {record.KindFloat, record.KindInt, false},
		{record.KindDate, record.KindTimestamp, true}, {record.KindTimestamp, record.KindDate, false}, {record.KindBytes, record.KindString, false},
		{record.KindJSON, record.KindString, true}, {record.KindString, record.KindInt, true}, {record.KindBool, record.KindInt, false},
		{record.KindNull, record.KindBytes, true},
	}
	for _, c := range compat {
		if got := Compatible(c.src, c.dst); got != c.ok {
			t.Errorf("Compatible(%s, %s) = %v", c.src, c.dst, got)
		}
	}
	if _, err := Convert(record.String("{bad"), record.KindJSON); err == nil {
		t.Error("invalid JSON string converted")
	}
	if v, err := Convert(record.String("42"), record.KindInt); err != nil || v.AsInt() != 42 {
		t.Errorf("Convert = %v, %v", v, err)
	}
}

var errData = errors.New("bad row")

func TestIsolate(t *testing.T) {
	t.Parallel()
	bad := map[int]bool{3: true, 4: true, 17: true, 99: true}
	var loaded []int
	calls := 0
	load := func(_ context.Context, rows []int) error {
		calls++
		for _, r := range rows {
			if bad[r] {
				return errData
			}
		}
		loaded = append(loaded, rows...)
		return nil
	}
	rows := make([]int, 100)
	for i := range rows {
		rows[i] = i
	}
	got, err := Isolate(context.Background(), rows, nil, load, func(err error) bool { return errors.Is(err, errData) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || len(loaded) != 96 {
		t.Fatalf("bad %v, loaded %d", got, len(loaded))
	}
	for r := range bad {
		if got[r] == nil {
			t.Errorf("row %d not reported", r)
		}
	}
	if calls > 60 {
		t.Errorf("%d loads for 4 bad rows in 100", calls)
	}
	// a hint that names the failing row pins it without bisecting
	calls, loaded = 0, nil
	var current []int
	hinted := func(ctx context.Context, rows []int) error { current = rows; return load(ctx, rows) }
	hint := func(_ error, n int) int {
		for i, r := range current[:n] {
			if bad[r] {
				return i
			}
		}
		return -1
	}
	got, err = Isolate(context.Background(), rows, nil, hinted, func(err error) bool { return errors.Is(err, errData) }, hint)
	if err != nil || len(got) != 4 || len(loaded) != 96 || calls > 16 {
		t.Errorf("with a hint: bad %d, loaded %d, %d loads, %v", len(got), len(loaded), calls, err)
	}
	// a non-data error stops at once
	boom := errors.New("connection reset")
	_, err = Isolate(context.Background(), rows, nil, func(context.Context, []int) error { return boom }, func(err error) bool { return errors.Is(err, errData) }, nil)
	if !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Isolate(ctx, rows, nil, load, func(error) bool { return true }, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	base := fmt.Errorf("dial: %w", connector.ErrTransient)
	err := Scrub(fmt.Errorf("password hunter2 rejected: %w", base), "hunter2", "")
	if strings.Contains(err.Error(), "hunter2") || !errors.Is(err, connector.ErrTransient) {
		t.Errorf("Scrub = %v", err)
	}
	if got := ScrubString("a ab abc", "ab"); got != "a ab abc" {
		t.Errorf("short secrets must not garble messages: %q", got)
	}
	if Scrub(nil, "x") != nil {
		t.Error("Scrub(nil) != nil")
	}
}
