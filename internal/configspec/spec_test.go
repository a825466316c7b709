package configspec

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testSpec() Spec {
	return Spec{Params: []Param{
		{Name: "path", Type: String, Required: true},
		{Name: "delimiter", Type: String, Default: ","},
		{Name: "mode", Type: String, Enum: []string{"a", "b"}},
		{Name: "batch", Type: Integer, Min: Ptr(1), Max: Ptr(100)},
		{Name: "password", Type: String, Secret: true},
		{Name: "fields", Type: Array, Items: &Param{Type: Object, Fields: []Param{
			{Name: "from", Type: String, Required: true},
			{Name: "to", Type: String},
		}}},
	}}
}

func TestValidateReportsEveryProblemWithPath(t *testing.T) {
	t.Parallel()
	raw := map[string]any{
		"delimitr": ";",
		"mode":     "c",
		"batch":    1.5,
		"fields":   []any{map[string]any{"to": "x"}, "oops"},
	}
	got := testSpec().Validate(raw)
	want := Errors{
		{Path: "path", Message: "required"},
		{Path: "mode", Message: `must be one of a, b, got "c"`},
		{Path: "batch", Message: "must be a whole number, got 1.5"},
		{Path: "fields[0].from", Message: "required"},
		{Path: "fields[1]", Message: "must be an object, got a string"},
		{Path: "delimitr", Message: `unknown field (did you mean "delimiter"?)`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("errors (-want +got):\n%s", diff)
	}
	if !strings.Contains(got.Prefix("sources[0].config").Error(), "sources[0].config.fields[0].from: required") {
		t.Fatalf("prefixed error lacks the full path: %v", got.Prefix("sources[0].config"))
	}
}

// Only a described spec decodes: a bare parameter list has no fields to fill.
func TestDecodeNeedsABinding(t *testing.T) {
	t.Parallel()
	var cfg struct{ Path string }
	err := testSpec().Decode(map[string]any{"path": "a.csv"}, &cfg)
	if err == nil || !strings.Contains(err.Error(), "build it with Describe") {
		t.Fatalf("err = %v", err)
	}
}

func TestRedactAndMergeSecrets(t *testing.T) {
	t.Parallel()
	s := testSpec()
	stored := map[string]any{"path": "p", "password": "hunter2"}
	red := s.Redact(stored)
	if red["password"] != Redacted || stored["password"] != "hunter2" {
		t.Fatalf("redact: %v (stored %v)", red, stored)
	}
	b, _ := json.Marshal(s.JSONSchema())
	if strings.Contains(string(b), "hunter2") || !strings.Contains(string(b), `"writeOnly":true`) {
		t.Fatalf("schema: %s", b)
	}
	merged := s.MergeSecrets(red, stored)
	if merged["password"] != "hunter2" {
		t.Fatalf("merge lost the secret: %v", merged)
	}
}

func TestMarkdownListsNestedParams(t *testing.T) {
	t.Parallel()
	md := testSpec().Markdown()
	for _, want := range []string{"`path`", "`fields[].from`", "Secret"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %s:\n%s", want, md)
		}
	}
}
