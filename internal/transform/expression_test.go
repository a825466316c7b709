package transform

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResultKinds(t *testing.T) {
	in := schemaOf(t, "s:string", "n:int", "f:float")
	n, out := setup(t, "expression", map[string]any{"fields": []any{
		map[string]any{"name": "a", "expression": `parse_date("2024-01-02")`},
		map[string]any{"name": "b", "expression": `to_decimal(f, 2)`},
		map[string]any{"name": "c", "expression": `n > 1`},
		map[string]any{"name": "d", "expression": `split(s, ",")`},
		map[string]any{"name": "e", "expression": `coalesce(s, "z")`, "type": "string"},
		map[string]any{"name": "f", "expression": `f * 2`, "type": "decimal"},
		map[string]any{"name": "n", "expression": `n + 1`},
	}}, in)
	if got, want := out.String(), "s string?, n int?, f decimal?, a date?, b decimal?, c bool?, d json?, e string?"; got != want {
		t.Fatalf("schema = %q, want %q", got, want)
	}
	c := runNode(t, n, batchOf(t, in, []any{"x,y", 1, 0.125}, []any{nil, 2, 1.0}))
	want := [][]string{
		{"x,y", "2", "0.125", "2024-01-02", "0.13", "false", `["x","y"]`, "x,y"},
		{"<null>", "3", "1", "2024-01-02", "1.00", "true", "<null>", "z"},
	}
	// f is written last in the list but fields keep their first position; f*2 replaced f.
	for i := range want {
		want[i][2] = map[int]string{0: "0.25", 1: "2"}[i]
	}
	if diff := cmp.Diff(want, c.rows()); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// The environment keeps a value across rows only while it is equal; nulls and changes are loaded.
func TestEnvironmentReuse(t *testing.T) {
	in := schemaOf(t, "s:string", "n:int")
	n, _ := setup(t, "expression", map[string]any{"fields": []any{
		map[string]any{"name": "out", "expression": `concat(coalesce(s, "-"), ":", to_string(n ?? 0))`, "type": "string"},
	}}, in)
	c := runNode(t, n, batchOf(t, in, []any{nil, nil}, []any{nil, 1}, []any{"a", 1}, []any{"a", 1}, []any{"b", nil}, []any{nil, nil}))
	var got []string
	for _, r := range c.rows() {
		got = append(got, r[2])
	}
	if diff := cmp.Diff([]string{"-:0", "-:1", "a:1", "a:1", "b:0", "-:0"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A field named like a function stays a field, and calls still reach the function.
func TestFieldNamedLikeFunction(t *testing.T) {
	in := schemaOf(t, "day:int", "len:string", "ts:timestamp")
	n, _ := setup(t, "expression", map[string]any{"fields": []any{
		map[string]any{"name": "a", "expression": `day + day(ts)`},
		map[string]any{"name": "b", "expression": `len(len)`},
	}}, in)
	c := runNode(t, n, batchOf(t, in, []any{7, "abc", "2024-03-15T10:30:00Z"}))
	if diff := cmp.Diff([][]string{{"7", "abc", "2024-03-15T10:30:00Z", "22", "3"}}, c.rows()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
