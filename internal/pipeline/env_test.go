package pipeline

import (
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	t.Parallel()
	env := map[string]string{"A": "alpha", "EMPTY": "", "TOKEN": "s3cr3t"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct{ in, want, err string }{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "alpha"},
		{in: "Bearer ${TOKEN}!", want: "Bearer s3cr3t!"},
		{in: "${A}-${A}", want: "alpha-alpha"},
		{in: "${UNSET:-def}", want: "def"},
		{in: "${EMPTY:-def}", want: "def"},
		{in: "${A:-def}", want: "alpha"},
		{in: "${EMPTY}", want: ""},
		{in: "${UNSET:-}", want: ""},
		{in: "$${A} costs $$5", want: "${A} costs $5"},
		{in: "price $5 and a$", want: "price $5 and a$"},
		{in: "${UNSET}", err: "environment variable UNSET is not set (use ${UNSET:-default} for a default)"},
		{in: "${U1}${U2}", err: "environment variables U1, U2 are not set"},
		{in: "${A", err: "unterminated ${ in \"${A\""},
		{in: "${1A}", err: `"1A" is not an environment variable name`},
		{in: "${}", err: `"" is not an environment variable name`},
	} {
		got, err := expand(tc.in, lookup)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: err = %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%q = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestExpandEnvInSpec(t *testing.T) {
	t.Parallel()
	spec, err := Parse([]byte(`version: 1
name: env
sources:
  - id: api
    type: rest
    config:
      url: ${BASE:-https://api.example.com}/items
      auth: {type: oauth2, client_id: app, client_secret: "${CLIENT_SECRET}", scopes: ["${SCOPE}"]}
destinations:
  - id: out
    type: ndjson
    inputs: [api]
    config: {path: "${MISSING}"}
`))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CLIENT_SECRET": "cs", "SCOPE": "read"}
	ps := ExpandEnv(spec, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	cfg := spec.Sources[0].Config
	auth := cfg["auth"].(map[string]any)
	if cfg["url"] != "https://api.example.com/items" || auth["client_secret"] != "cs" || auth["scopes"].([]any)[0] != "read" {
		t.Errorf("config = %v", cfg)
	}
	if len(ps) != 1 || ps[0].Path != "destinations[0].config.path" || ps[0].Line != 13 || !strings.Contains(ps[0].Message, "MISSING is not set") {
		t.Errorf("problems = %+v", ps)
	}
}
