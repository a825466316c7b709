package schemachange

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

func schema(fs ...record.Field) *record.Schema { return record.MustSchema(fs...) }

func f(name string, k record.Kind) record.Field {
	return record.Field{Name: name, Kind: k, Nullable: true}
}

func col(name string, k record.Kind, native string) connector.TargetColumn {
	return connector.TargetColumn{Name: name, Kind: k, Native: native, Nullable: true}
}

func TestClassify(t *testing.T) {
	prev := &Snapshot{Schema: schema(f("id", record.KindInt), f("qty", record.KindInt), f("price", record.KindDecimal), f("gone", record.KindString)), Key: []string{"id"}}
	table := &connector.Target{Exists: true, Columns: []connector.TargetColumn{col("id", record.KindInt, "bigint"), col("qty", record.KindInt, "bigint"),
		col("price", record.KindDecimal, "numeric"), col("gone", record.KindString, "text")}}
	tests := []struct {
		name   string
		prev   *Snapshot
		cur    *record.Schema
		key    []string
		target *connector.Target
		want   []Change
	}{
		{"nothing changed", prev, prev.Schema, []string{"id"}, table, nil},
		{"first run, new table", nil, prev.Schema, nil, &connector.Target{}, nil},
		{"column added, against both", prev, schema(f("id", record.KindInt), f("qty", record.KindInt), f("price", record.KindDecimal), f("gone", record.KindString), f("note", record.KindString)),
			[]string{"id"}, table, []Change{{Column: "note", Kind: Added, NewType: "string", Against: AgainstDestination}}},
		{"column added, no table yet", prev, schema(f("id", record.KindInt), f("qty", record.KindInt), f("price", record.KindDecimal), f("gone", record.KindString), f("note", record.KindString)),
			[]string{"id"}, nil, []Change{{Column: "note", Kind: Added, NewType: "string", Against: AgainstPrevious}}},
		{"column removed", prev, schema(f("id", record.KindInt), f("qty", record.KindInt), f("price", record.KindDecimal)), []string{"id"}, table,
			[]Change{{Column: "gone", Kind: Removed, OldType: "string", Against: AgainstPrevious}}},
		{"int widened to decimal: the table's column must change", prev, schema(f("id", record.KindInt), f("qty", record.KindDecimal), f("price", record.KindDecimal), f("gone", record.KindString)),
			[]string{"id"}, table, []Change{{Column: "qty", Kind: Widened, OldType: "int (bigint)", NewType: "decimal", Against: AgainstDestination}}},
		{"int retyped to text", prev, schema(f("id", record.KindInt), f("qty", record.KindString), f("price", record.KindDecimal), f("gone", record.KindString)),
			[]string{"id"}, table, []Change{{Column: "qty", Kind: Widened, OldType: "int (bigint)", NewType: "string", Against: AgainstDestination}}},
		{"decimal narrowed to int: the table still holds it", prev, schema(f("id", record.KindInt), f("qty", record.KindInt), f("price", record.KindInt), f("gone", record.KindString)),
			[]string{"id"}, table, []Change{{Column: "price", Kind: Narrowed, OldType: "decimal", NewType: "int", Against: AgainstPrevious}}},
		{"int to bool is incompatible", prev, schema(f("id", record.KindInt), f("qty", record.KindBool), f("price", record.KindDecimal), f("gone", record.KindString)),
			[]string{"id"}, table, []Change{{Column: "qty", Kind: Incompatible, OldType: "int (bigint)", NewType: "bool", Against: AgainstDestination}}},
		{"key changed", prev, prev.Schema, []string{"id", "qty"}, table,
			[]Change{{Kind: KeyChanged, OldType: "id", NewType: "id, qty", Against: AgainstPrevious}}},
		{"untyped source into typed columns is no change", nil, schema(f("id", record.KindString), f("qty", record.KindString)), nil, table, nil},
		{"native type named", nil, schema(f("id", record.KindInt), record.Field{Name: "qty", Kind: record.KindDecimal, Native: "numeric(12,2)"}), nil, table,
			[]Change{{Column: "qty", Kind: Widened, OldType: "int (bigint)", NewType: "decimal (numeric(12,2))", Against: AgainstDestination}}},
		{"skipped field (_op)", nil, schema(f("id", record.KindInt), f("_op", record.KindString)), nil,
			&connector.Target{Exists: true, Columns: table.Columns, Skip: []string{"_op"}}, nil},
		{"names folded", nil, schema(f("ID", record.KindInt)), nil, table, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.prev, tc.cur, tc.key, tc.target, strings.ToLower)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	added := Change{Column: "note", Kind: Added, NewType: "string", Against: AgainstDestination}
	widened := Change{Column: "qty", Kind: Widened, OldType: "int", NewType: "decimal", Against: AgainstDestination}
	removed := Change{Column: "gone", Kind: Removed, OldType: "string", Against: AgainstPrevious}
	narrowed := Change{Column: "p", Kind: Narrowed, OldType: "decimal", NewType: "int", Against: AgainstPrevious}
	incompatible := Change{Column: "b", Kind: Incompatible, OldType: "int", NewType: "bool", Against: AgainstDestination}
	key := Change{Kind: KeyChanged, OldType: "id", NewType: "id, qty", Against: AgainstPrevious}
	unknown := Change{Column: "x", Kind: "column_renamed", Against: AgainstPrevious}
	all := []Change{added, widened, removed, narrowed, incompatible, key, unknown}
	tests := []struct {
		policy   Policy
		approved []Change
		want     []Action
	}{
		{"", nil, []Action{Apply, Apply, Accept, Accept, Refuse, Refuse, Refuse}},
		{Evolve, nil, []Action{Apply, Apply, Accept, Accept, Refuse, Refuse, Refuse}},
		{Fail, nil, []Action{Refuse, Refuse, Refuse, Refuse, Refuse, Refuse, Refuse}},
		{Quarantine, nil, []Action{Quarantined, Quarantined, Accept, Quarantined, Quarantined, Refuse, Refuse}},
		{Review, nil, []Action{Pending, Pending, Pending, Pending, Pending, Pending, Refuse}},
		{Review, all, []Action{Apply, Apply, Accept, Accept, Apply, Accept, Refuse}},
		{Review, []Change{added}, []Action{Apply, Pending, Pending, Pending, Pending, Pending, Refuse}},
	}
	for _, tc := range tests {
		t.Run(string(tc.policy)+"/"+strings.Repeat("+", len(tc.approved)), func(t *testing.T) {
			d := Decide("out", "public.t", tc.policy, all, tc.approved)
			if diff := cmp.Diff(tc.want, d.Actions); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			var e *Error
			if !errors.As(d.Err(), &e) || e.Action != Refuse || !strings.Contains(e.Error(), `column "x": column renamed`) {
				t.Errorf("an unknown kind must stop the run naming it; err = %v", d.Err())
			}
		})
	}
	d := Decide("out", "public.t", Review, []Change{added, widened}, nil)
	var e *Error
	if !errors.As(d.Err(), &e) || e.Action != Pending {
		t.Fatalf("review: err = %v, want pending", d.Err())
	}
	if want := `destination out (public.t): 2 schema change(s) await approval (schema_changes: review): column "note": column added (string); column "qty": type widened int -> decimal`; e.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", e.Error(), want)
	}
	if err := Decide("out", "t", Evolve, []Change{added, removed}, nil).Err(); err != nil {
		t.Errorf("evolve of safe changes: %v", err)
	}
}

func TestGate(t *testing.T) {
	target := connector.Target{Exists: true, Columns: []connector.TargetColumn{col("id", record.KindInt, "bigint"), col("qty", record.KindInt, "bigint")}}
	in := schema(f("id", record.KindInt), f("qty", record.KindDecimal), f("note", record.KindString))
	changes := Classify(nil, in, nil, &target, nil)
	d := Decide("out", "t", Quarantine, changes, nil)
	g := NewGate(d, target, nil)
	b := &record.Batch{Schema: in, Pos: []int64{1, 2, 3, 4}, Rows: []record.Row{
		{record.Int(1), record.MustDecimal("2"), record.Null},
		{record.Int(2), record.MustDecimal("2.5"), record.Null},
		{record.Int(3), record.MustDecimal("3"), record.String("hello")},
		{record.Int(4), record.Null, record.Null},
	}}
	out, bad := g.Filter(b)
	if got := out.Schema.Names(); !cmp.Equal(got, []string{"id", "qty"}) {
		t.Errorf("written schema = %v", got)
	}
	if out.Schema.Fields[1].Kind != record.KindInt {
		t.Errorf("qty is written as %s, want the column's int", out.Schema.Fields[1].Kind)
	}
	if len(out.Rows) != 2 || out.Rows[0][1].AsInt() != 2 || out.Rows[1][0].AsInt() != 4 || !cmp.Equal(out.Pos, []int64{1, 4}) {
		t.Errorf("rows written = %v pos %v", out.Rows, out.Pos)
	}
	if len(bad) != 2 || bad[0].Index != 1 || bad[0].Field != "qty" || bad[1].Index != 2 || bad[1].Field != "note" {
		t.Fatalf("quarantined = %+v", bad)
	}
	for _, p := range bad {
		if !strings.HasPrefix(p.Reason, "schema change quarantined: column "+`"`+p.Field+`"`) {
			t.Errorf("reason does not name the change: %s", p.Reason)
		}
	}
}
