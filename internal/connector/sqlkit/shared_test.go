package sqlkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// TestPosition: the state after Advance holds exactly the last row's cursor and key, and parses back.
func TestPosition(t *testing.T) {
	t.Parallel()
	rows := []record.Row{
		{record.Int(1), record.String("a"), record.Int(10)},
		{record.Int(2), record.String("b"), record.Int(20)},
	}
	cases := []struct {
		name        string
		cursor      int
		chunked     bool
		cursorField string
		keyFields   []string
		want        string
	}{
		{"nothing to record", -1, false, "", nil, ""},
		{"keyset", -1, true, "", []string{"id"}, `{"key":[{"kind":"int","value":"2"}],"key_fields":["id"]}`},
		{"cursor and key", 2, true, "n", []string{"id"}, `{"cursor":{"kind":"int","value":"20"},"key":[{"kind":"int","value":"2"}],"cursor_field":"n","key_fields":["id"]}`},
		{"cursor only", 2, false, "n", nil, `{"cursor":{"kind":"int","value":"20"},"cursor_field":"n"}`},
	}
	for _, c := range cases {
		var p Position
		for _, r := range rows {
			p.Advance(r, c.cursor, []int{0}, c.chunked)
		}
		st, err := p.State(c.cursorField, c.keyFields)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := string(st); got != c.want {
			t.Errorf("%s: state = %s, want %s", c.name, got, c.want)
		}
		if st == nil {
			continue
		}
		if _, err := ParseState(st, c.cursorField, c.keyFields); err != nil {
			t.Errorf("%s: ParseState: %v", c.name, err)
		}
	}
}

type tqConfig struct {
	TableConfig
}

func TestDecodeConfigRefusesTableAndQuery(t *testing.T) {
	t.Parallel()
	spec := connector.Spec{Config: configspec.Describe(func(c *tqConfig, b *configspec.Builder) { c.BindTable(b, "the primary key") })}
	c, err := DecodeConfig[tqConfig](spec, map[string]any{"table": "t"})
	if err != nil || c.Table != "t" {
		t.Fatalf("table only: %+v, %v", c, err)
	}
	_, err = DecodeConfig[tqConfig](spec, map[string]any{"table": "t", "query": "SELECT 1"})
	if !errors.Is(err, connector.ErrConfig) || !strings.Contains(err.Error(), "table, query: set one of them, not both") {
		t.Fatalf("both: err = %v", err)
	}
	if _, err = DecodeConfig[tqConfig](spec, map[string]any{"tabel": "t"}); !errors.Is(err, connector.ErrConfig) {
		t.Fatalf("unknown key: err = %v", err)
	}
}

func TestColumnList(t *testing.T) {
	t.Parallel()
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: `a"b`, Kind: record.KindString})
	ddl := func(f record.Field, key bool) string {
		if key {
			return "K"
		}
		return "T"
	}
	if got, want := ColumnList(s, []string{"id"}, QuotePostgres, ddl), `"id" K NOT NULL, "a""b" T NULL, PRIMARY KEY ("id")`; got != want {
		t.Errorf("with key: %s, want %s", got, want)
	}
	if got, want := ColumnList(s, nil, QuoteMySQL, ddl), "`id` T NULL, `a\"b` T NULL"; got != want {
		t.Errorf("without key: %s, want %s", got, want)
	}
}

func TestSelectSQL(t *testing.T) {
	t.Parallel()
	cases := []struct{ top, where, order, tail, want string }{
		{"", "", "", "", "SELECT a FROM t AS q"},
		{"", "x > 1", "a", "LIMIT 5", "SELECT a FROM t AS q WHERE x > 1 ORDER BY a LIMIT 5"},
		{"TOP (5)", "", "a", "", "SELECT TOP (5) a FROM t AS q ORDER BY a"},
	}
	for _, c := range cases {
		if got := SelectSQL(c.top, "a", "t", c.where, c.order, c.tail); got != c.want {
			t.Errorf("SelectSQL(%q, %q, %q, %q) = %s, want %s", c.top, c.where, c.order, c.tail, got, c.want)
		}
	}
}

func TestRetryClassification(t *testing.T) {
	t.Parallel()
	extra := errors.New("driver: invalid connection")
	cases := []struct {
		name             string
		err              error
		cancelled, alone bool // Cancelled, ConnectionLost without extras
		withExtra        bool // ConnectionLost(err, extra)
	}{
		{"nil", nil, true, false, false},
		{"cancelled", fmt.Errorf("query: %w", context.Canceled), true, false, false},
		{"deadline", context.DeadlineExceeded, true, true, true}, // a deadline is also a net.Error timeout
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), false, true, true},
		{"eof", io.ErrUnexpectedEOF, false, true, true},
		{"extra", fmt.Errorf("x: %w", extra), false, false, true},
		{"data", errors.New("value too long"), false, false, false},
	}
	for _, c := range cases {
		if got := Cancelled(c.err); got != c.cancelled {
			t.Errorf("%s: Cancelled = %v", c.name, got)
		}
		if got := ConnectionLost(c.err); got != c.alone {
			t.Errorf("%s: ConnectionLost = %v", c.name, got)
		}
		if got := ConnectionLost(c.err, extra); got != c.withExtra {
			t.Errorf("%s: ConnectionLost(extra) = %v", c.name, got)
		}
	}
}
