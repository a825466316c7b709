package transform

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMap(t *testing.T) {
	in := schemaOf(t, "cust_id:string", "amount:string", "note:string", "country:string")
	n, out := setup(t, "map", map[string]any{
		"rename":   map[string]any{"cust_id": "customer_id"},
		"drop":     []any{"note"},
		"cast":     map[string]any{"customer_id": "int", "amount": "decimal"},
		"defaults": map[string]any{"country": "FR"},
		"add":      []any{map[string]any{"name": "source", "value": "crm"}},
	}, in)
	if got, want := out.String(), "customer_id int?, amount decimal?, country string, source string"; got != want {
		t.Fatalf("schema = %q, want %q", got, want)
	}
	c := runNode(t, n, batchOf(t, in,
		[]any{"1", "10.50", "x", "DE"},
		[]any{"two", "1", "y", "DE"},
		[]any{"3", "2", "z", nil},
	))
	want := [][]string{{"1", "10.50", "DE", "crm"}, {"3", "2", "FR", "crm"}}
	if diff := cmp.Diff(want, c.rows()); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if len(c.rejects) != 1 || c.rejects[0].Field != "customer_id" || c.rejects[0].Pos != 2 || !strings.Contains(c.rejects[0].Reason, "invalid integer") {
		t.Errorf("rejects = %+v", c.rejects)
	}
}

func TestFilterAndExpression(t *testing.T) {
	in := schemaOf(t, "name:string", "price:float", "qty:int")
	f, _ := setup(t, "filter", map[string]any{"expression": "qty > 1"}, in)
	c := runNode(t, f, batchOf(t, in, []any{"a", 1.5, 2}, []any{"b", 2.0, 1}, []any{"c", 3.0, nil}))
	if diff := cmp.Diff([][]string{{"a", "1.5", "2"}}, c.rows()); diff != "" {
		t.Errorf("filter rows (-want +got):\n%s", diff)
	}
	if c.counts[Filtered] != 1 || len(c.rejects) != 1 {
		t.Errorf("filtered = %d, rejects = %+v", c.counts[Filtered], c.rejects)
	}

	e, out := setup(t, "expression", map[string]any{"fields": []any{
		map[string]any{"name": "total", "expression": "price * qty"},
		map[string]any{"name": "label", "expression": "upper(name) + ':' + to_string(total)"},
	}}, in)
	if got, want := out.String(), "name string?, price float?, qty int?, total float?, label string?"; got != want {
		t.Fatalf("schema = %q, want %q", got, want)
	}
	c = runNode(t, e, batchOf(t, in, []any{"a", 1.5, 2}))
	if diff := cmp.Diff([][]string{{"a", "1.5", "2", "3", "A:3"}}, c.rows()); diff != "" {
		t.Errorf("expression rows (-want +got):\n%s", diff)
	}

	_, _, err := build("filter", map[string]any{"expression": "qtx > 1"}, in)
	if err == nil || err.Error() != `expression: unknown field "qtx" at 1:1` {
		t.Errorf("unknown field error = %v", err)
	}
}

// The mapping studio writes a map whose destination fields are input fields renamed or computed by
// an expression; the expressions run first, so select, rename and cast see them as input fields.
func TestMapExpressions(t *testing.T) {
	in := schemaOf(t, "first:string", "last:string", "amt:string", "note:string")
	n, out := setup(t, "map", map[string]any{
		"expressions": []any{
			map[string]any{"name": "full_name", "expression": `upper(first) + " " + last`},
			map[string]any{"name": "ratio", "expression": "1 / to_int(amt)", "type": "int"},
		},
		"rename": map[string]any{"amt": "amount"},
		"select": []any{"full_name", "amount", "ratio"},
		"cast":   map[string]any{"amount": "int"},
	}, in)
	if got, want := out.String(), "full_name string?, amount int?, ratio int?"; got != want {
		t.Fatalf("schema = %q, want %q", got, want)
	}
	c := runNode(t, n, batchOf(t, in,
		[]any{"ada", "Lovelace", "1", "x"},
		[]any{"alan", "Turing", "0", "y"},
		[]any{"grace", "Hopper", "x1", "z"},
	))
	if diff := cmp.Diff([][]string{{"ADA Lovelace", "1", "1"}}, c.rows()); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// Row 2 fails in the expressions (division by zero), row 3 in them too (to_int of "x1"):
	// each is rejected once, naming the derived field.
	if len(c.rejects) != 2 || c.rejects[0].Field != "ratio" || c.rejects[0].Pos != 2 || c.rejects[1].Pos != 3 {
		t.Errorf("rejects = %+v", c.rejects)
	}

	// Errors in the expressions name their place in map's config.
	for _, tc := range []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{"expressions": []any{map[string]any{"name": "x", "expression": "nope + 1"}}}, "expressions[0].expression"},
		{map[string]any{"expressions": []any{map[string]any{"name": "x", "expression": "first +"}}}, "expressions[0].expression"},
		{map[string]any{"expressions": []any{map[string]any{"name": "x", "expression": "first"}, map[string]any{"name": "x", "expression": "last"}}}, "expressions[1].name"},
		{map[string]any{"expressions": []any{map[string]any{"name": "x", "expression": "first"}}, "select": []any{"y"}}, "select[0]"},
	} {
		_, _, err := build("map", tc.cfg, in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error = %v, want one at %s", tc.cfg, err, tc.want)
		}
	}
}
