package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// tfModule is what the test reads from one module's .tf files.
type tfModule struct {
	variables map[string]*hclsyntax.Block
	outputs   map[string]*hclsyntax.Block
	locals    map[string]bool
	resources map[string]bool // "type.name", data sources as "data.type.name"
	providers []string        // required_providers keys
	refs      []hcl.Traversal // every reference in every expression
}

func parseModule(t *testing.T, dir string) tfModule {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no .tf files (%v)", dir, err)
	}
	m := tfModule{variables: map[string]*hclsyntax.Block{}, outputs: map[string]*hclsyntax.Block{},
		locals: map[string]bool{}, resources: map[string]bool{}}
	p := hclparse.NewParser()
	for _, f := range files {
		file, diags := p.ParseHCLFile(f)
		if diags.HasErrors() {
			t.Fatalf("%s", diags.Error())
		}
		body := file.Body.(*hclsyntax.Body)
		for _, attr := range body.Attributes {
			t.Errorf("%s: top-level attribute %s", attr.SrcRange, attr.Name)
		}
		for _, b := range body.Blocks {
			key := strings.Join(b.Labels, ".")
			switch b.Type {
			case "variable":
				if m.variables[key] != nil {
					t.Errorf("%s: variable %s declared twice", b.DefRange(), key)
				}
				m.variables[key] = b
			case "output":
				if m.outputs[key] != nil {
					t.Errorf("%s: output %s declared twice", b.DefRange(), key)
				}
				m.outputs[key] = b
			case "locals":
				for name := range b.Body.Attributes {
					m.locals[name] = true
				}
			case "resource":
				m.resources[key] = true
			case "data":
				m.resources["data."+key] = true
			case "terraform":
				for _, tb := range b.Body.Blocks {
					if tb.Type == "required_providers" {
						for name := range tb.Body.Attributes {
							m.providers = append(m.providers, name)
						}
					}
				}
			case "provider":
			default:
				t.Errorf("%s: unexpected block %s", b.DefRange(), b.Type)
			}
			m.refs = append(m.refs, blockRefs(b.Body)...)
		}
	}
	return m
}

// blockRefs returns the references of every expression in body and its nested blocks.
func blockRefs(body *hclsyntax.Body) []hcl.Traversal {
	var refs []hcl.Traversal
	for _, a := range body.Attributes {
		refs = append(refs, a.Expr.Variables()...)
	}
	for _, b := range body.Blocks {
		refs = append(refs, blockRefs(b.Body)...)
	}
	return refs
}

// attrString is the value of a constant string attribute of b, or "".
func attrString(b *hclsyntax.Block, name string) string {
	a := b.Body.Attributes[name]
	if a == nil {
		return ""
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.Type().Equals(cty.String) {
		return ""
	}
	return v.AsString()
}

func TestTerraformModules(t *testing.T) {
	t.Parallel()
	root := filepath.Join(repoRoot(t), "deploy", "terraform")
	cases := []struct {
		module    string
		provider  string
		resources []string // the services the issue names, each must be declared
	}{
		{"aws", "aws", []string{"aws_ecs_service.api", "aws_ecs_service.worker", "aws_db_instance.postgres",
			"aws_elasticache_replication_group.redis", "aws_lb.this"}},
		{"gcp", "google", []string{"google_cloud_run_v2_service.api", "google_cloud_run_v2_service.worker",
			"google_sql_database_instance.postgres", "google_redis_instance.redis"}},
		{"azure", "azurerm", []string{"azurerm_container_app.api", "azurerm_container_app.worker",
			"azurerm_postgresql_flexible_server.postgres", "azurerm_redis_cache.redis"}},
	}
	for _, tc := range cases {
		t.Run(tc.module, func(t *testing.T) {
			dir := filepath.Join(root, tc.module)
			for _, f := range []string{"variables.tf", "main.tf", "outputs.tf", "README.md"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s: %v", tc.module, err)
				}
			}
			m := parseModule(t, dir)
			if !slices.Contains(m.providers, tc.provider) {
				t.Errorf("%s: required_providers %v, want %s", tc.module, m.providers, tc.provider)
			}
			for _, r := range tc.resources {
				if !m.resources[r] {
					t.Errorf("%s: no resource %s", tc.module, r)
				}
			}
			if len(m.variables) == 0 || len(m.outputs) == 0 {
				t.Fatalf("%s: %d variables, %d outputs; want both", tc.module, len(m.variables), len(m.outputs))
			}
			for name, b := range m.variables {
				if attrString(b, "description") == "" || b.Body.Attributes["type"] == nil {
					t.Errorf("%s: variable %s: want a description and a type", b.DefRange(), name)
				}
			}
			for _, key := range []string{"secret_key", "encryption_key"} {
				if b := m.variables[key]; b == nil || b.Body.Attributes["sensitive"] == nil {
					t.Errorf("%s: variable %s: want it declared sensitive", tc.module, key)
				}
			}
			for name, b := range m.outputs {
				if attrString(b, "description") == "" || b.Body.Attributes["value"] == nil {
					t.Errorf("%s: output %s: want a description and a value", b.DefRange(), name)
				}
			}

			// Every var.X, local.X and resource reference names something declared; every variable is used.
			used := map[string]bool{}
			for _, ref := range m.refs {
				root := ref.RootName()
				switch root {
				case "var", "local":
					attr, ok := ref[1].(hcl.TraverseAttr)
					if !ok {
						t.Errorf("%s: %s.<?> is not a plain reference", ref.SourceRange(), root)
						continue
					}
					if root == "var" {
						used[attr.Name] = true
						if m.variables[attr.Name] == nil {
							t.Errorf("%s: var.%s is not declared in variables.tf", ref.SourceRange(), attr.Name)
						}
					} else if !m.locals[attr.Name] {
						t.Errorf("%s: local.%s is not declared", ref.SourceRange(), attr.Name)
					}
				case "data":
					if len(ref) >= 3 {
						typ, _ := ref[1].(hcl.TraverseAttr)
						name, _ := ref[2].(hcl.TraverseAttr)
						if !m.resources["data."+typ.Name+"."+name.Name] {
							t.Errorf("%s: data.%s.%s is not declared", ref.SourceRange(), typ.Name, name.Name)
						}
					}
				case "each", "count", "path", "terraform", "self", "secret", "env":
					// each.key, dynamic block iterators (secret, env) and the like
				default:
					if strings.Contains(root, "_") && len(ref) >= 2 {
						name, _ := ref[1].(hcl.TraverseAttr)
						if !m.resources[root+"."+name.Name] {
							t.Errorf("%s: %s.%s is not declared", ref.SourceRange(), root, name.Name)
						}
					}
				}
			}
			for name := range m.variables {
				if !used[name] {
					t.Errorf("%s: variable %s is declared but never used", tc.module, name)
				}
			}

			// The README lists every variable and output and says what was done with the module here.
			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			for name := range m.variables {
				if !strings.Contains(string(readme), "`"+name+"`") {
					t.Errorf("%s/README.md: variable %s is not documented", tc.module, name)
				}
			}
			for name := range m.outputs {
				if !strings.Contains(string(readme), "`"+name+"`") {
					t.Errorf("%s/README.md: output %s is not documented", tc.module, name)
				}
			}
			if !strings.Contains(string(readme), "parsed") || !strings.Contains(string(readme), "not applied") {
				t.Errorf("%s/README.md: want it to say the module was parsed, not applied", tc.module)
			}
		})
	}
}
