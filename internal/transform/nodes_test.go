package transform

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/record"
)

func TestConfigErrors(t *testing.T) {
	in := schemaOf(t, "id:int", "name:string", "amount:string")
	cases := []struct {
		typ    string
		config map[string]any
		want   string
	}{
		{"map", map[string]any{"renam": map[string]any{}}, `renam: unknown field (did you mean "rename"?)`},
		{"map", map[string]any{"cast": map[string]any{"x": "int"}}, `cast.x: unknown field "x"`},
		{"map", map[string]any{"rename": map[string]any{"name": "full"}, "drop": []any{"name"}}, `drop[0]: unknown field "name" (it is renamed to "full"; use the new name)`},
		{"map", map[string]any{"cast": map[string]any{"amount": "money"}}, `cast.amount: must be one of`},
		{"map", map[string]any{"defaults": map[string]any{"id": "abc"}}, `defaults.id: invalid integer "abc"`},
		{"map", map[string]any{"add": []any{map[string]any{"name": "id", "value": 1}}}, `add[0].name: field "id" already exists`},
		{"filter", map[string]any{}, `expression: required`},
		{"filter", map[string]any{"expression": "id >"}, `expression: unexpected token EOF at 1:`},
		{"filter", map[string]any{"expression": "name + 1"}, `expression: invalid operation: + (mismatched types string and int) at 1:6`},
		{"filter", map[string]any{"expression": "upper(name)"}, `expression: must be a boolean, but it is string`},
		{"filter", map[string]any{"expression": `regex_match(name, "[a-")`}, `regex_match: invalid pattern "[a-"`},
		{"filter", map[string]any{"expression": `name matches "[a-"`}, `expression: error parsing regexp`},
		{"expression", map[string]any{"fields": []any{map[string]any{"name": "x", "expression": "coalesce(name, amount)"}}}, `fields[0].type: the type of "coalesce(name, amount)" is only known at run time`},
		{"expression", map[string]any{"fields": []any{map[string]any{"name": "x", "expression": "nope * 2"}}}, `fields[0].expression: unknown field "nope" at 1:1`},
		{"validate", map[string]any{"rules": []any{map[string]any{"field": "id"}}}, `rules[0]: has no check`},
		{"validate", map[string]any{"rules": []any{map[string]any{"field": "id", "regex": "("}}}, `rules[0].regex: invalid regular expression`},
		{"validate", map[string]any{"rules": []any{map[string]any{"field": "zz", "required": true}}}, `rules[0].field: unknown field "zz"`},
		{"validate", map[string]any{"rules": []any{map[string]any{"field": "id", "min": "abc"}}}, `rules[0]: min: "abc" is not a number, but the field is int`},
		{"validate", map[string]any{"rules": []any{map[string]any{"field": "id", "required": true, "action": "explode"}}}, `rules[0].action: must be one of dead_letter, drop, fail`},
		{"cleanse", map[string]any{"rules": []any{map[string]any{"fields": []any{"id"}, "trim": true}}}, `rules[0].fields[0]: field "id" is int here`},
		{"cleanse", map[string]any{"rules": []any{map[string]any{"date": map[string]any{"timezone": "Mars/Base"}}}}, `rules[0].date.timezone: unknown time zone "Mars/Base"`},
		{"dedup", map[string]any{"key": []any{"idd"}}, `key: unknown field "idd"`},
		{"dedup", map[string]any{"key": []any{}}, `key: must have at least 1 items`},
		{"aggregate", map[string]any{"aggregates": []any{map[string]any{"name": "s", "function": "sum", "field": "name"}}}, `aggregates[0].field: sum needs a number, but "name" is string`},
		{"aggregate", map[string]any{"aggregates": []any{map[string]any{"name": "s", "function": "sum"}}}, `aggregates[0].field: required for sum`},
	}
	for _, tc := range cases {
		t.Run(tc.typ+"/"+tc.want, func(t *testing.T) {
			_, _, err := build(tc.typ, tc.config, in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			var ce configspec.Errors
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not configspec.Errors (the engine prefixes their paths)", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	in := schemaOf(t, "id:int", "email:string", "age:string", "country:string", "born:date")
	n, _ := setup(t, "validate", map[string]any{"rules": []any{
		map[string]any{"field": "email", "required": true},
		map[string]any{"field": "email", "regex": `^[^@\s]+@[^@\s]+$`},
		map[string]any{"field": "age", "type": "int", "min": 0, "max": 150},
		map[string]any{"field": "country", "enum": []any{"FR", "DE"}, "action": "drop"},
		map[string]any{"field": "country", "min_length": 2, "max_length": 2},
		map[string]any{"field": "id", "unique": true},
		map[string]any{"field": "born", "min": "1900-01-01"},
		map[string]any{"expression": "id < 100", "message": "id too large"},
	}}, in)
	c := runNode(t, n, batchOf(t, in,
		[]any{1, "a@x.io", "30", "FR", "1990-01-01"}, // ok
		[]any{2, nil, "30", "FR", nil},               // required
		[]any{3, "nope", "30", "FR", nil},            // regex
		[]any{4, "b@x.io", "thirty", "FR", nil},      // type
		[]any{5, "c@x.io", "200", "FR", nil},         // range
		[]any{6, "d@x.io", "20", "US", nil},          // enum -> drop
		[]any{1, "e@x.io", "20", "DE", nil},          // unique
		[]any{7, "f@x.io", "20", "DE", "1850-05-05"}, // date range
		[]any{700, "g@x.io", "20", "DE", nil},        // expression
		[]any{8, "h@x.io", nil, "DE", nil},           // nulls pass all but required
	))
	if diff := cmp.Diff([][]string{{"1", "a@x.io", "30", "FR", "1990-01-01"}, {"8", "h@x.io", "<null>", "DE", "<null>"}}, c.rows()); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	var got []string
	for _, r := range c.rejects {
		got = append(got, r.Field+"|"+r.Reason)
	}
	want := []string{
		"email|validate: required",
		`email|validate: regex: "nope" does not match ^[^@\s]+@[^@\s]+$`,
		`age|validate: type: "thirty" is not int`,
		"age|validate: range: 200 is above the maximum 150",
		`id|validate: unique: "1" already appeared earlier in the run`,
		"born|validate: range: 1850-05-05 is below the minimum 1900-01-01",
		"|validate: id too large",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rejects (-want +got):\n%s", diff)
	}
	if c.counts[Dropped] != 1 {
		t.Errorf("dropped = %d, want 1", c.counts[Dropped])
	}
	if s, ok := n.(Stateful); !ok || !s.Stateful() {
		t.Error("validate with unique should be Stateful")
	}

	f, _ := setup(t, "validate", map[string]any{"rules": []any{map[string]any{"field": "age", "type": "int", "action": "fail"}}}, in)
	err := f.Process(context.Background(), 0, batchOf(t, in, []any{1, "a", "1", "FR", nil}, []any{2, "a", "x", "FR", nil}), &collector{})
	if err == nil || err.Error() != `validate: row 2 field "age" failed rules[0] (type): type: "x" is not int` {
		t.Errorf("fail action error = %v", err)
	}
}

func TestRejectErrorStopsNode(t *testing.T) {
	in := schemaOf(t, "a:string")
	n, _ := setup(t, "map", map[string]any{"cast": map[string]any{"a": "int"}}, in)
	c := &collector{failWith: errStop}
	if err := n.Process(context.Background(), 0, batchOf(t, in, []any{"x"}, []any{"y"}), c); !errors.Is(err, errStop) {
		t.Fatalf("error = %v, want the error Reject returned", err)
	}
	if len(c.rejects) != 1 {
		t.Errorf("rejects after failing Reject = %d, want 1", len(c.rejects))
	}
}

func TestCleanse(t *testing.T) {
	in := schemaOf(t, "name:string", "city:string", "price:string", "day:string", "code:string")
	n, out := setup(t, "cleanse", map[string]any{"rules": []any{
		map[string]any{"trim": true, "collapse_whitespace": true, "null_tokens": []any{"", "N/A", "null"}},
		map[string]any{"fields": []any{"name"}, "case": "title"},
		map[string]any{"fields": []any{"code"}, "case": "upper"},
		map[string]any{"fields": []any{"price"}, "number": map[string]any{"decimal_separator": ","}},
		map[string]any{"fields": []any{"day"}, "date": map[string]any{"layouts": []any{"02/01/2006", "2006-01-02 15:04"}, "timezone": "Europe/Paris", "to": "timestamp"}},
	}}, in)
	if got, want := out.String(), "name string?, city string?, price decimal?, day timestamp?, code string?"; got != want {
		t.Fatalf("schema = %q, want %q", got, want)
	}
	c := runNode(t, n, batchOf(t, in,
		[]any{"  jane   DOE ", " N/A ", "€ 1.234,50", "31/01/2024", "ab-1"},
		[]any{"bob", "null", "(12,5)", "2024-06-01 10:30", "x"},
		[]any{"al", "Paris", "12abc", "31/01/2024", "y"},
		[]any{"al", "Paris", "1", "yesterday", "y"},
	))
	want := [][]string{
		{"Jane Doe", "<null>", "1234.50", "2024-01-30T23:00:00Z", "AB-1"},
		{"Bob", "<null>", "-12.5", "2024-06-01T08:30:00Z", "X"},
	}
	if diff := cmp.Diff(want, c.rows()); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if len(c.rejects) != 2 || c.rejects[0].Field != "price" || c.rejects[1].Field != "day" || c.rejects[1].Pos != 4 {
		t.Errorf("rejects = %+v", c.rejects)
	}
}

func TestNormaliseNumber(t *testing.T) {
	dot := &numberOptions{DecimalSeparator: ".", ThousandsSeparator: ","}
	comma := &numberOptions{DecimalSeparator: ",", ThousandsSeparator: "."}
	cases := []struct {
		in   string
		o    *numberOptions
		k    record.Kind
		want string
		err  bool
	}{
		{"$1,234.50", dot, record.KindDecimal, "1234.50", false},
		{"1.234,50 EUR", comma, record.KindDecimal, "1234.50", false},
		{"-12", dot, record.KindInt, "-12", false},
		{"(3.5)", dot, record.KindFloat, "-3.5", false},
		{"12 %", dot, record.KindDecimal, "12", false},
		{"", dot, record.KindDecimal, "", false},
		{"1.2.3", dot, record.KindDecimal, "", true},
		{"abc", dot, record.KindDecimal, "", true},
		{"1-2", dot, record.KindDecimal, "", true},
		{"1.5", dot, record.KindInt, "", true},
		{"99999999999999999999", dot, record.KindInt, "", true},
	}
	for _, tc := range cases {
		v, err := normaliseNumber(tc.in, tc.o, tc.k)
		if (err != nil) != tc.err {
			t.Errorf("%q: error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err == nil && v.String() != tc.want {
			t.Errorf("%q = %q, want %q", tc.in, v.String(), tc.want)
		}
	}
}

func TestDedup(t *testing.T) {
	in := schemaOf(t, "id:int", "v:string")
	rows := [][]any{{1, "a"}, {2, "b"}, {1, "c"}, {3, "d"}, {2, "e"}, {nil, "f"}, {nil, "g"}}
	first, _ := setup(t, "dedup", map[string]any{"key": []any{"id"}}, in)
	c := runNode(t, first, batchOf(t, in, rows[:3]...), batchOf(t, in, rows[3:]...))
	if diff := cmp.Diff([][]string{{"1", "a"}, {"2", "b"}, {"3", "d"}, {"<null>", "f"}}, c.rows()); diff != "" {
		t.Errorf("keep first (-want +got):\n%s", diff)
	}
	if c.counts[Deduplicated] != 3 {
		t.Errorf("deduplicated = %d, want 3", c.counts[Deduplicated])
	}
	last, _ := setup(t, "dedup", map[string]any{"key": []any{"id"}, "keep": "last"}, in)
	c = runNode(t, last, batchOf(t, in, rows[:3]...), batchOf(t, in, rows[3:]...))
	if diff := cmp.Diff([][]string{{"1", "c"}, {"2", "e"}, {"3", "d"}, {"<null>", "g"}}, c.rows()); diff != "" {
		t.Errorf("keep last (-want +got):\n%s", diff)
	}
	if c.counts[Deduplicated] != 3 || c.batches[0].Pos[0] != 3 {
		t.Errorf("deduplicated = %d, pos = %v", c.counts[Deduplicated], c.batches[0].Pos)
	}
	if s, ok := last.(Stateful); !ok || !s.Stateful() {
		t.Error("dedup should be Stateful")
	}
	for _, keep := range []string{"first", "last"} {
		small, _ := setup(t, "dedup", map[string]any{"key": []any{"id"}, "keep": keep, "max_keys": 2}, in)
		err := small.Process(context.Background(), 0, batchOf(t, in, rows...), &collector{})
		if err == nil || !strings.Contains(err.Error(), "more than max_keys (2)") {
			t.Errorf("keep %s: max_keys error = %v", keep, err)
		}
	}
}

func TestDedupKeyEquality(t *testing.T) {
	in := schemaOf(t, "d:decimal", "f:float", "s:string")
	n, _ := setup(t, "dedup", map[string]any{"key": []any{"d", "f", "s"}}, in)
	c := runNode(t, n, batchOf(t, in,
		[]any{"1.50", 0.0, "ab"},
		[]any{"1.5", math.Copysign(0, -1), "ab"}, // same key: scale and sign of zero do not matter
		[]any{"1.5", 0.0, "a"},                   // different text
	))
	if len(c.rows()) != 2 {
		t.Errorf("rows = %v, want 2 distinct keys", c.rows())
	}
}

func TestUnion(t *testing.T) {
	a := schemaOf(t, "id:int", "amount:int", "when:date")
	b := schemaOf(t, "id:int", "amount:float", "when:timestamp", "extra:string")
	n, out := setup(t, "union", nil, a, b)
	if got, want := out.String(), "id int?, amount float?, when timestamp?, extra string?"; got != want {
		t.Fatalf("schema = %q, want %q", got, want)
	}
	c := &collector{}
	ctx := context.Background()
	if err := n.Process(ctx, 0, batchOf(t, a, []any{1, 5, "2024-01-02"}), c); err != nil {
		t.Fatal(err)
	}
	if err := n.Process(ctx, 1, batchOf(t, b, []any{2, 1.5, "2024-01-02T10:00:00Z", "x"}), c); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"1", "5", "2024-01-02T00:00:00Z", "<null>"}, {"2", "1.5", "2024-01-02T10:00:00Z", "x"}}
	if diff := cmp.Diff(want, c.rows()); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	_, _, err := build("union", nil, a, schemaOf(t, "id:string"))
	if err == nil || !strings.Contains(err.Error(), `field "id" is int in input 0 but string in input 1`) {
		t.Errorf("incompatible error = %v", err)
	}
	_, _, err = build("union", map[string]any{"x": 1}, a, b)
	if err == nil || !strings.Contains(err.Error(), "x: unknown field") {
		t.Errorf("unknown config error = %v", err)
	}
}

func TestJoin(t *testing.T) {
	orders := schemaOf(t, "order_id:int", "cust:string")
	custs := schemaOf(t, "id:int", "name:string", "tier:string")
	for _, tc := range []struct {
		typ  string
		want [][]string
	}{
		{"left", [][]string{{"1", "10", "Ann", "gold"}, {"2", "11", "<null>", "<null>"}, {"3", "12", "Cy", "a"}, {"3", "12", "Cy", "b"}, {"4", "<null>", "<null>", "<null>"}}},
		{"inner", [][]string{{"1", "10", "Ann", "gold"}, {"3", "12", "Cy", "a"}, {"3", "12", "Cy", "b"}}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			n, out := setup(t, "join", map[string]any{"on": []any{"cust"}, "lookup_on": []any{"id"}, "type": tc.typ}, orders, custs)
			if got := out.Names(); !cmp.Equal(got, []string{"order_id", "cust", "name", "tier"}) {
				t.Fatalf("fields = %v", got)
			}
			if li, ok := n.(LookupInputs); !ok || !cmp.Equal(li.LookupInputs(), []int{1}) {
				t.Fatal("join must declare input 1 as its lookup input")
			}
			ctx := context.Background()
			c := &collector{}
			if err := n.Process(ctx, 1, batchOf(t, custs, []any{10, "Ann", "gold"}, []any{12, "Cy", "a"}, []any{12, "Cy", "b"}, []any{nil, "Nul", "x"}), c); err != nil {
				t.Fatal(err)
			}
			// stream key "10" (string) matches lookup key 10 (int) by text.
			if err := n.Process(ctx, 0, batchOf(t, orders, []any{1, "10"}, []any{2, "11"}, []any{3, "12"}, []any{4, nil}), c); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, c.rows()); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
	_, _, err := build("join", map[string]any{"on": []any{"cust"}, "lookup_on": []any{"id"}, "fields": []any{"id"}}, schemaOf(t, "id:int", "cust:int"), custs)
	if err == nil || !strings.Contains(err.Error(), `field "id" exists in the stream; set prefix`) {
		t.Errorf("clash error = %v", err)
	}
	n, _ := setup(t, "join", map[string]any{"on": []any{"cust"}, "lookup_on": []any{"id"}, "max_rows": 1}, orders, custs)
	err = n.Process(context.Background(), 1, batchOf(t, custs, []any{1, "a", "b"}, []any{2, "a", "b"}), &collector{})
	if err == nil || !strings.Contains(err.Error(), "more than max_rows (1)") {
		t.Errorf("max_rows error = %v", err)
	}
}

func TestAggregate(t *testing.T) {
	in := schemaOf(t, "g:string", "i:int", "f:float", "d:decimal")
	n, out := setup(t, "aggregate", map[string]any{
		"group_by": []any{"g"},
		"aggregates": []any{
			map[string]any{"name": "rows", "function": "count"},
			map[string]any{"name": "n_i", "function": "count", "field": "i"},
			map[string]any{"name": "sum_i", "function": "sum", "field": "i"},
			map[string]any{"name": "sum_d", "function": "sum", "field": "d"},
			map[string]any{"name": "avg_d", "function": "avg", "field": "d"},
			map[string]any{"name": "avg_f", "function": "avg", "field": "f"},
			map[string]any{"name": "min_i", "function": "min", "field": "i"},
			map[string]any{"name": "max_d", "function": "max", "field": "d"},
		},
	}, in)
	if got, want := out.String(), "g string?, rows int, n_i int, sum_i int?, sum_d decimal?, avg_d decimal?, avg_f float?, min_i int?, max_d decimal?"; got != want {
		t.Fatalf("schema = %q, want %q", got, want)
	}
	c := runNode(t, n, batchOf(t, in,
		[]any{"a", 1, 1.0, "0.10"},
		[]any{"b", 5, 2.0, "0.2"},
		[]any{"a", 2, 2.0, "0.20"},
		[]any{"a", nil, nil, nil},
		[]any{nil, 7, 1.0, "1"},
	))
	want := [][]string{
		{"a", "3", "2", "3", "0.30", "0.15000000", "1.5", "1", "0.20"},
		{"b", "1", "1", "5", "0.2", "0.2000000", "2", "5", "0.2"},
		{"<null>", "1", "1", "7", "1", "1.000000", "1", "7", "1"},
	}
	if diff := cmp.Diff(want, c.rows()); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}

	ov, _ := setup(t, "aggregate", map[string]any{"aggregates": []any{map[string]any{"name": "s", "function": "sum", "field": "i"}}}, in)
	err := ov.Process(context.Background(), 0, batchOf(t, in, []any{"a", int64(1) << 62, nil, nil}, []any{"a", int64(1) << 62, nil, nil}), &collector{})
	if err == nil || !strings.Contains(err.Error(), `the sum of "i" overflows the int range`) {
		t.Errorf("overflow error = %v", err)
	}

	empty, _ := setup(t, "aggregate", map[string]any{"aggregates": []any{
		map[string]any{"name": "n", "function": "count"}, map[string]any{"name": "s", "function": "sum", "field": "i"}}}, in)
	c = runNode(t, empty)
	if diff := cmp.Diff([][]string{{"0", "<null>"}}, c.rows()); diff != "" {
		t.Errorf("empty input (-want +got):\n%s", diff)
	}
}

func TestMapInPlaceAndSelect(t *testing.T) {
	in := schemaOf(t, "a:string", "b:string", "c:string")
	n, out := setup(t, "map", map[string]any{"select": []any{"c", "a"}}, in)
	if got := out.Names(); !cmp.Equal(got, []string{"c", "a"}) {
		t.Fatalf("fields = %v", got)
	}
	c := runNode(t, n, batchOf(t, in, []any{"1", "2", "3"}))
	if diff := cmp.Diff([][]string{{"3", "1"}}, c.rows()); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// Rename and cast only: rows are rewritten in place.
	n, out = setup(t, "map", map[string]any{"rename": map[string]any{"a": "x"}, "cast": map[string]any{"b": "int"}}, in)
	b := batchOf(t, in, []any{"1", "2", "3"}, []any{"1", "bad", "3"})
	c = runNode(t, n, b)
	if diff := cmp.Diff([][]string{{"1", "2", "3"}}, c.rows()); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if c.batches[0].Schema != out || c.rejects[0].Pos != 2 || c.rejects[0].Field != "b" {
		t.Errorf("schema %v, rejects %+v", c.batches[0].Schema, c.rejects)
	}
}

func TestPreview(t *testing.T) {
	reg, err := NewRegistry(Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	rows, rejects, err := Preview(context.Background(), reg, "expression",
		map[string]any{"fields": []any{map[string]any{"name": "total", "expression": "price * qty"}}},
		[]map[string]any{{"price": 2.5, "qty": float64(2)}, {"price": 1.0}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0]["total"] != 5.0 || len(rejects) != 1 || rejects[0].Field != "total" || rejects[0].Pos != 2 {
		t.Errorf("rows = %v, rejects = %+v", rows, rejects)
	}
	_, _, err = Preview(context.Background(), reg, "union", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "at least 2 inputs") {
		t.Errorf("union preview error = %v", err)
	}
	_, _, err = Preview(context.Background(), reg, "nope", nil, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown transformation type "nope"`) {
		t.Errorf("unknown type error = %v", err)
	}
	res, err := PreviewInputs(context.Background(), reg, "join", map[string]any{"on": []any{"id"}},
		[][]map[string]any{{{"id": 1}}, {{"id": 1, "name": "x"}}})
	if err != nil || len(res.Rows) != 1 || res.Rows[0]["name"] != "x" {
		t.Errorf("join preview = %+v, %v", res, err)
	}
}

func TestSpecsHaveSchemas(t *testing.T) {
	reg, err := NewRegistry(Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"aggregate", "cleanse", "dedup", "expression", "filter", "join", "map", "stream_dedup", "union", "validate", "window"}
	if diff := cmp.Diff(want, reg.Names()); diff != "" {
		t.Fatalf("names (-want +got):\n%s", diff)
	}
	for _, s := range reg.Specs() {
		js := s.Config.JSONSchema()
		if js["type"] != "object" || s.Title == "" || s.Description == "" || s.MinInputs < 1 {
			t.Errorf("%s: incomplete spec %+v", s.Name, s)
		}
	}
}

func TestRegistryRefusesIncompleteAndDuplicateDefinitions(t *testing.T) {
	t.Parallel()
	f := filterDefinition()
	tests := []struct {
		name string
		defs []Definition
		want string
	}{
		{"no constructor", []Definition{{Spec: Spec{Name: "x"}}}, `transformation "x" has no constructor`},
		{"empty name", []Definition{{New: f.New}}, "has an empty name"},
		{"duplicate", []Definition{f, f}, `transformation "filter" registered twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewRegistry(tt.defs...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
