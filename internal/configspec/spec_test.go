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

func TestVariants(t *testing.T) {
	t.Parallel()
	type auth struct{ Type, Token, User, Password string }
	type cfg struct{ Auth *auth }
	spec := Describe(func(c *cfg, b *Builder) {
		Nested(b, &c.Auth, "auth", func(a *auth, b *Builder) {
			b.String(&a.Type, "type").Enum("none", "bearer", "basic").Default("none")
			b.String(&a.Token, "token").Secret()
			b.String(&a.User, "username")
			b.String(&a.Password, "password").Secret()
		}).Variants("type",
			Variant{Value: "none", Title: "No authentication"},
			Variant{Value: "bearer", Title: "Bearer token", Fields: []string{"token"}, Required: []string{"token"}},
			Variant{Value: "basic", Title: "Basic", Fields: []string{"username", "password"}, Required: []string{"username"}})
	})
	for _, tc := range []struct {
		name string
		auth map[string]any
		want Errors
	}{
		{name: "bearer", auth: map[string]any{"type": "bearer", "token": "t"}},
		{name: "default none", auth: map[string]any{}},
		{name: "missing token", auth: map[string]any{"type": "bearer"},
			want: Errors{{Path: "auth.token", Message: `required when type is "bearer"`}}},
		{name: "field of another variant", auth: map[string]any{"type": "basic", "username": "u", "token": "t"},
			want: Errors{{Path: "auth.token", Message: `is not used when type is "basic" (it is used by type "bearer")`}}},
		{name: "unknown type", auth: map[string]any{"type": "magic"},
			want: Errors{{Path: "auth.type", Message: `must be one of none, bearer, basic, got "magic"`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := spec.Validate(map[string]any{"auth": tc.auth})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
	// The JSON Schema is a oneOf with the discriminator as a const; secrets stay marked in it.
	js := spec.JSONSchema()["properties"].(map[string]any)["auth"].(map[string]any)
	one := js["oneOf"].([]any)
	if len(one) != 3 {
		t.Fatalf("oneOf = %v", one)
	}
	bearer := one[1].(map[string]any)
	props := bearer["properties"].(map[string]any)
	if props["type"].(map[string]any)["const"] != "bearer" || bearer["title"] != "Bearer token" || props["token"].(map[string]any)["x-secret"] != true {
		t.Errorf("bearer variant = %v", bearer)
	}
	if diff := cmp.Diff([]string{"type", "token"}, bearer["required"]); diff != "" {
		t.Errorf("required (-want +got):\n%s", diff)
	}
	if _, ok := js["properties"]; ok {
		t.Errorf("a tagged union has its properties in oneOf only: %v", js)
	}
	// Redaction reaches the secrets of every variant.
	red := spec.Redact(map[string]any{"auth": map[string]any{"type": "basic", "username": "u", "password": "p"}})
	if red["auth"].(map[string]any)["password"] != Redacted {
		t.Errorf("redacted = %v", red)
	}
}

func TestSecretPathsAndValueAt(t *testing.T) {
	t.Parallel()
	spec := Spec{Params: []Param{
		{Name: "password", Type: String, Secret: true},
		{Name: "auth", Type: Object, Fields: []Param{{Name: "type", Type: String}, {Name: "refresh_token", Type: String, Secret: true}}},
	}}
	if diff := cmp.Diff([]string{"password", "auth.refresh_token"}, spec.SecretPaths()); diff != "" {
		t.Errorf("SecretPaths (-want +got):\n%s", diff)
	}
	if p, ok := spec.ParamAt("auth.refresh_token"); !ok || !p.Secret {
		t.Errorf("ParamAt = %v, %v", p, ok)
	}
	if _, ok := spec.ParamAt("auth.nope"); ok {
		t.Error("ParamAt found a missing field")
	}
	raw := map[string]any{"auth": map[string]any{"type": "oauth2"}}
	if !SetValueAt(raw, "auth.refresh_token", "r2") {
		t.Fatal("SetValueAt failed")
	}
	if v, ok := ValueAt(raw, "auth.refresh_token"); !ok || v != "r2" {
		t.Errorf("ValueAt = %v, %v", v, ok)
	}
	if SetValueAt(map[string]any{"auth": "x"}, "auth.token", "t") {
		t.Error("SetValueAt through a string succeeded")
	}
}
