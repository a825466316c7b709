package jsonrec

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/record"
)

func TestWalkAndConvert(t *testing.T) {
	t.Parallel()
	obj := []byte(` { "a\u0062" : 1 , "s":"x\"y\\n\u00e9", "o":{"k":[1,"]}",{"z":null}]}, "n":null, "f":-1.5e3,"t":true, "d":"2024-02-29" } `)
	var keys []string
	if err := Walk(obj, func(k, v []byte) { keys = append(keys, string(Key(k))+"="+string(v)) }); err != nil {
		t.Fatal(err)
	}
	want := []string{`ab=1`, `s="x\"y\\n\u00e9"`, `o={"k":[1,"]}",{"z":null}]}`, `n=null`, `f=-1.5e3`, `t=true`, `d="2024-02-29"`}
	if len(keys) != len(want) {
		t.Fatalf("keys %q", keys)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Errorf("field %d = %s, want %s", i, keys[i], want[i])
		}
	}
	if err := Walk([]byte(`[1]`), func(k, v []byte) {}); err != ErrNotObject {
		t.Errorf("array walked: %v", err)
	}

	inf := NewInferrer()
	inf.Observe(obj)
	inf.Observe([]byte(`{"ab":2,"f":3,"t":false,"s":"q","extra":"2024-01-01T00:00:00Z"}`))
	kinds := map[string]record.Kind{}
	for _, f := range inf.Fields(map[string]record.Kind{"n": record.KindDecimal, "only": record.KindInt}) {
		kinds[f.Name] = f.Kind
	}
	wantKinds := map[string]record.Kind{"ab": record.KindInt, "s": record.KindString, "o": record.KindJSON, "n": record.KindDecimal,
		"f": record.KindFloat, "t": record.KindBool, "d": record.KindDate, "extra": record.KindTimestamp, "only": record.KindInt}
	for n, k := range wantKinds {
		if kinds[n] != k {
			t.Errorf("field %s inferred %s, want %s", n, kinds[n], k)
		}
	}

	c := NewConverter(record.MustSchema())
	cases := []struct {
		val  string
		kind record.Kind
		want string
		bad  bool
	}{
		{`"x\"y\\n\u00e9"`, record.KindString, "x\"y\\né", false},
		{`12`, record.KindString, "12", false},
		{`"12.50"`, record.KindDecimal, "12.50", false},
		{`123456789012345678901234.5`, record.KindDecimal, "123456789012345678901234.5", false},
		{`"AAE="`, record.KindBytes, "\x00\x01", false},
		{`{"b": 1}`, record.KindJSON, `{"b":1}`, false},
		{`"yes"`, record.KindBool, "true", false},
		{`1.5`, record.KindInt, "", true},
		{`"x"`, record.KindFloat, "", true},
		{`5`, record.KindDate, "", true},
		{"\"\xff\"", record.KindString, "", true},
		{`null`, record.KindInt, "", false},
	}
	for _, tc := range cases {
		v, why := c.Value([]byte(tc.val), tc.kind)
		if (why != "") != tc.bad {
			t.Errorf("Value(%s, %s): reason %q", tc.val, tc.kind, why)
			continue
		}
		if !tc.bad && v.String() != tc.want {
			t.Errorf("Value(%s, %s) = %q, want %q", tc.val, tc.kind, v.String(), tc.want)
		}
	}
}
