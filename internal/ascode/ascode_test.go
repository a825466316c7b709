package ascode

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/configspec"
)

func write(t *testing.T, dir, rel, s string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadProblems: every problem of every file, each at its file, line and column.
func TestLoadProblems(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "connectors/a.yaml", "name: shop\ntype: postgres\nconfig: {host: db}\n")
	write(t, dir, "connectors/b.yaml", "name: SHOP\ntype: postgres\n")
	write(t, dir, "connectors/c.yaml", "type: postgres\nconfig: [1]\ncolour: red\n")
	write(t, dir, "transformations/t.yaml", "name: t\ntype: filter\nconfig: {expression: 'x'\n")
	write(t, dir, "pipelines/p.yaml", "version: 1\nname: p\nsources: []\ndestinations: []\nbogus: 1\n")
	write(t, dir, "pipelines/README.md", "not a pipeline")
	_, err := Load(dir)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load: %v", err)
	}
	got := ps.Error()
	for _, want := range []string{
		`connectors/b.yaml:1:1: name: the connector "SHOP" is also defined in connectors/a.yaml`,
		`connectors/c.yaml: name: is required`,
		`connectors/c.yaml:2:1: config: must be a mapping`,
		`connectors/c.yaml:3:1: colour: unknown key`,
		`transformations/t.yaml:3:`,
		`pipelines/p.yaml:5:1: bogus`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "README") {
		t.Errorf("a non-YAML file was read:\n%s", got)
	}
}

func TestSlugAndEnvName(t *testing.T) {
	for in, want := range map[string]string{"Orders Daily": "orders-daily", "crm_warehouse": "crm_warehouse", "  ": "unnamed", "Ünïcode/../x": "n-code-x"} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
	if got := envName([]string{"sf-prod", "auth", "client_secret"}); got != "SF_PROD_AUTH_CLIENT_SECRET" {
		t.Errorf("envName = %q", got)
	}
	if got := envName([]string{"1st", "password"}); got != "X_1ST_PASSWORD" {
		t.Errorf("envName of a leading digit = %q", got)
	}
}

// TestPlanSecrets: secrets are never compared; an unset variable keeps an existing secret and is
// an error for a new connector; a literal secret in a file is noted.
func TestPlanSecrets(t *testing.T) {
	file := Object{Kind: KindConnector, Name: "w", Type: "postgres", Path: "connectors/w.yaml",
		Config: map[string]any{"host": "db", "password": "${W_PASSWORD}"}}
	server := Object{Kind: KindConnector, Name: "w", Type: "postgres", ID: "id1",
		Config: map[string]any{"host": "db", "password": configspec.Redacted}, Managed: &Managed{Path: "connectors/w.yaml"}}
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	ctx := context.Background()
	cases := []struct {
		name    string
		server  []Object
		env     map[string]string
		update  bool
		action  Action
		sent    any
		problem string
	}{
		{"unset, existing: kept", []Object{server}, nil, false, Unchanged, nil, ""},
		{"set, existing: not compared", []Object{server}, map[string]string{"W_PASSWORD": "s3"}, false, Unchanged, nil, ""},
		{"set, --update-secrets", []Object{server}, map[string]string{"W_PASSWORD": "s3"}, true, Update, "s3", ""},
		{"set, new", nil, map[string]string{"W_PASSWORD": "s3"}, false, Create, "s3", ""},
		{"unset, new", nil, nil, false, "", nil, "${W_PASSWORD}: it is not set in the environment (a new connector needs every value)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := MakePlan(ctx, []Object{file}, c.server, Options{Lookup: env(c.env), UpdateSecrets: c.update})
			if c.problem != "" {
				if err == nil || !strings.Contains(err.Error(), c.problem) {
					t.Fatalf("want problem %q, got %v", c.problem, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ch := p.Changes[0]
			if ch.Action != c.action {
				t.Fatalf("action %s, want %s", ch.Action, c.action)
			}
			if c.sent != nil && ch.send.Config["password"] != c.sent {
				t.Fatalf("sent %v, want %v", ch.send.Config["password"], c.sent)
			}
		})
	}
}

func TestPipelineCycle(t *testing.T) {
	a := &Object{Kind: KindPipeline, Name: "a", Path: "pipelines/a.yaml", after: []string{"b"}}
	b := &Object{Kind: KindPipeline, Name: "b", Path: "pipelines/b.yaml", after: []string{"a"}}
	c := &Object{Kind: KindPipeline, Name: "c", after: []string{"elsewhere"}}
	if _, cyc := orderPipelines([]*Object{a, b}); cyc == nil {
		t.Fatal("a cycle was not found")
	}
	order, cyc := orderPipelines([]*Object{c, b, &Object{Kind: KindPipeline, Name: "a"}})
	if cyc != nil || order[0].Name != "a" || order[1].Name != "b" || order[2].Name != "c" {
		t.Fatalf("order %v %v", order, cyc)
	}
}
