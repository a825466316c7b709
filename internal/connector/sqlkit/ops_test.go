package sqlkit

import (
	"fmt"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

func TestOpsSplit(t *testing.T) {
	withOp, _ := record.NewSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: OpField, Kind: record.KindString}, record.Field{Name: "v", Kind: record.KindString})
	plain, _ := record.NewSchema(record.Field{Name: "id", Kind: record.KindInt})
	b := &record.Batch{Schema: withOp, Rows: []record.Row{
		{record.Int(1), record.String("insert"), record.String("a")},
		{record.Int(2), record.String(OpDelete), record.Null},
		{record.Int(3), record.Null, record.String("c")},
	}}
	cases := []struct {
		name       string
		b          *record.Batch
		mode       connector.WriteMode
		fields     string
		dels       string
		same       bool
		firstRow   string
		wantActive bool
	}{
		{"upsert takes _op out", b, connector.Upsert, "[id v]", "[false true false]", false, "[1 a]", true},
		{"append keeps it", b, connector.Append, "[id _op v]", "[]", true, "[1 insert a]", false},
		{"no _op", &record.Batch{Schema: plain, Rows: []record.Row{{record.Int(1)}}}, connector.Upsert, "[id]", "[]", true, "[1]", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o Ops
			out, dels := o.Split(c.b, c.mode)
			if got := fmt.Sprint(out.Schema.Names()); got != c.fields {
				t.Errorf("fields %s, want %s", got, c.fields)
			}
			if got := fmt.Sprint(dels); got != c.dels {
				t.Errorf("dels %s, want %s", got, c.dels)
			}
			if (out == c.b) != c.same {
				t.Errorf("same batch %v, want %v", out == c.b, c.same)
			}
			if got := fmt.Sprint(out.Rows[0]); got != c.firstRow {
				t.Errorf("first row %s, want %s", got, c.firstRow)
			}
			if o.Active() != c.wantActive {
				t.Errorf("active %v", o.Active())
			}
		})
	}
}

func TestSegments(t *testing.T) {
	cases := []struct {
		dels []bool
		want string
	}{
		{nil, "[0 1 2]u "},
		{[]bool{false, true, true, false}, "[0]u [1 2]d [3]u "},
		{[]bool{true, false, true}, "[0]d [1]u [2]d "},
	}
	for _, c := range cases {
		got := ""
		n := 3
		if c.dels != nil {
			n = len(c.dels)
		}
		_ = Segments(n, c.dels, func(idx []int, del bool) error {
			k := "u"
			if del {
				k = "d"
			}
			got += fmt.Sprint(idx) + k + " "
			return nil
		})
		if got != c.want {
			t.Errorf("Segments(%v) = %q, want %q", c.dels, got, c.want)
		}
	}
}
