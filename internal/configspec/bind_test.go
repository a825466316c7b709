package configspec

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type boundField struct {
	From string
	To   string
}

type boundOpts struct {
	Level int64
	Zone  string
}

type boundConfig struct {
	Path     string
	Delim    string
	Mode     string
	Batch    int
	Password string
	Fields   []boundField
	Tags     []string
	Types    map[string]string
	Consts   map[string]any
	Value    any
	Enum     []any
	Ratio    float64
	Limit    *int
	Header   bool
	Opts     *boundOpts
}

func boundSpec() Spec {
	return Describe(func(c *boundConfig, b *Builder) {
		b.String(&c.Path, "path").Required()
		b.String(&c.Delim, "delimiter").Default(",")
		b.String(&c.Mode, "mode").Enum("a", "b")
		b.Int(&c.Batch, "batch").Min(1).Max(100)
		b.String(&c.Password, "password").Secret()
		List(b, &c.Fields, "fields", func(f *boundField, b *Builder) {
			b.String(&f.From, "from").Required()
			b.String(&f.To, "to")
		})
	})
}

// A described spec lists exactly the parameters a hand-written Param list gives: the JSON Schema,
// the docs and validation do not change when a component moves to Describe.
func TestDescribeListsTheParams(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff(testSpec().Params, boundSpec().Params); diff != "" {
		t.Fatalf("params (-literal +described):\n%s", diff)
	}
	a, _ := json.Marshal(testSpec().JSONSchema())
	b, _ := json.Marshal(boundSpec().JSONSchema())
	if string(a) != string(b) {
		t.Fatalf("schemas differ:\n%s\n%s", a, b)
	}
}

func fullSpec() Spec {
	return Describe(func(c *boundConfig, b *Builder) {
		b.String(&c.Path, "path").Required().Doc("The file.").Example("a.csv")
		b.String(&c.Delim, "delimiter").Default(",")
		b.String(&c.Mode, "mode").Enum("a", "b")
		b.Int(&c.Batch, "batch").Default(10).Min(1)
		List(b, &c.Fields, "fields", func(f *boundField, b *Builder) {
			b.String(&f.From, "from").Required()
			b.String(&f.To, "to").Default("same")
		})
		b.Strings(&c.Tags, "tags").Default([]string{"x"})
		b.StringMap(&c.Types, "types").Enum("int", "string")
		b.AnyMap(&c.Consts, "consts")
		b.Any(&c.Value, "value")
		b.AnyList(&c.Enum, "enum")
		b.Float(&c.Ratio, "ratio")
		b.IntPtr(&c.Limit, "limit").Min(0)
		b.Bool(&c.Header, "header").Default(true)
		Nested(b, &c.Opts, "opts", func(o *boundOpts, b *Builder) {
			b.Int64(&o.Level, "level").Default(3)
			b.String(&o.Zone, "zone")
		})
	})
}

func TestDecodeFillsTheBoundFields(t *testing.T) {
	t.Parallel()
	raw := map[string]any{
		"path":   "a.csv",
		"mode":   "b",
		"fields": []any{map[string]any{"from": "a"}, map[string]any{"from": "b", "to": "c"}},
		"types":  map[string]any{"n": "int"},
		"consts": map[string]any{"big": uint64(18446744073709551615), "f": 1.5},
		"value":  []any{int64(1), "x"},
		"enum":   []any{1, "a"},
		"ratio":  json.Number("0.25"),
		"limit":  0,
		"opts":   map[string]any{"zone": "UTC"},
	}
	var got boundConfig
	if err := fullSpec().Decode(raw, &got); err != nil {
		t.Fatal(err)
	}
	zero := 0
	want := boundConfig{
		Path: "a.csv", Delim: ",", Mode: "b", Batch: 10,
		Fields: []boundField{{From: "a", To: "same"}, {From: "b", To: "c"}},
		Tags:   []string{"x"},
		Types:  map[string]string{"n": "int"},
		Consts: map[string]any{"big": json.Number("18446744073709551615"), "f": json.Number("1.5")},
		Value:  []any{json.Number("1"), "x"},
		Enum:   []any{json.Number("1"), "a"},
		Ratio:  0.25, Limit: &zero, Header: true,
		Opts: &boundOpts{Level: 3, Zone: "UTC"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("decoded (-want +got):\n%s", diff)
	}
	// Absent optional parts stay nil; a default slice is the field's own copy.
	var min boundConfig
	if err := fullSpec().Decode(map[string]any{"path": "p"}, &min); err != nil {
		t.Fatal(err)
	}
	if min.Opts != nil || min.Limit != nil || min.Fields != nil {
		t.Fatalf("absent parameters were set: %+v", min)
	}
	min.Tags[0] = "changed"
	var again boundConfig
	if err := fullSpec().Decode(map[string]any{"path": "p"}, &again); err != nil || again.Tags[0] != "x" {
		t.Fatalf("the default was shared with a decoded config: %v %v", again.Tags, err)
	}
}

func TestDecodeReportsEveryProblem(t *testing.T) {
	t.Parallel()
	raw := map[string]any{
		"mode":   "c",
		"batch":  1.5,
		"fields": []any{map[string]any{"to": "x", "form": "y"}},
		"types":  map[string]any{"n": "float"},
		"opts":   map[string]any{"level": "high"},
	}
	err := fullSpec().Decode(raw, &boundConfig{})
	want := []string{
		"path: required",
		`mode: must be one of a, b, got "c"`,
		"batch: must be a whole number, got 1.5",
		"fields[0].from: required",
		`fields[0].form: unknown field (did you mean "from"?)`,
		`types.n: must be one of int, string, got "float"`,
		"opts.level: must be a number, got a string",
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

func TestDecodeNumbersExactly(t *testing.T) {
	t.Parallel()
	spec := Describe(func(c *boundOpts, b *Builder) { b.Int64(&c.Level, "level") })
	tests := []struct {
		in   any
		want int64
		err  string
	}{
		{in: json.Number("9223372036854775807"), want: 9223372036854775807},
		{in: uint64(9223372036854775807), want: 9223372036854775807},
		{in: int(-3), want: -3},
		{in: float64(1e6), want: 1000000},
		{in: json.Number("9223372036854775808"), err: "must be a whole number between"},
		{in: float64(1e19), err: "must be a whole number between"},
	}
	for _, tt := range tests {
		var c boundOpts
		err := spec.Decode(map[string]any{"level": tt.in}, &c)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%v: err = %v, want %q", tt.in, err, tt.err)
		case tt.err == "" && (err != nil || c.Level != tt.want):
			t.Errorf("%v: got %d, %v, want %d", tt.in, c.Level, err, tt.want)
		}
	}
}

func TestDecodeIntoTheWrongTypeFails(t *testing.T) {
	t.Parallel()
	var other struct{ Path string }
	err := fullSpec().Decode(map[string]any{"path": "p"}, &other)
	if err == nil || !strings.Contains(err.Error(), "describes *configspec.boundConfig") {
		t.Fatalf("err = %v", err)
	}
}
