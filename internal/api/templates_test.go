package api

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/connector"
	jsonconn "github.com/dataaggregator/aggregator/internal/connector/files/json"
	"github.com/dataaggregator/aggregator/internal/connector/files/ndjson"
	"github.com/dataaggregator/aggregator/internal/connector/files/xml"
)

func TestPipelineTemplatesAreTheExamples(t *testing.T) {
	// The file connectors the examples use besides the test data's csv and tsv.
	e := setup(t, setupOptions{connectors: []connector.Connector{jsonconn.New(), ndjson.New(), xml.New()}})
	var got []PipelineTemplate
	r := e.do(http.MethodGet, "/api/v1/pipeline-templates", e.tokens[auth.RoleViewer], nil)
	if r.status != http.StatusOK {
		t.Fatalf("templates: %d %s", r.status, r.body)
	}
	r.decode(t, &got)
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples: %v %v", files, err)
	}
	if len(got) != len(files) {
		t.Fatalf("%d templates for %d examples", len(got), len(files))
	}
	byName := map[string]PipelineTemplate{}
	for _, tp := range got {
		byName[tp.Name] = tp
		if tp.Description == "" || strings.HasPrefix(tp.Description, "#") {
			t.Errorf("%s: description %q", tp.Name, tp.Description)
		}
		// Every template is a valid spec as it stands.
		v := e.do(http.MethodPost, "/api/v1/pipelines/validate", e.tokens[auth.RoleDesigner], tp.Spec)
		var out Validation
		v.decode(t, &out)
		if v.status != http.StatusOK || !out.Valid {
			t.Errorf("%s does not validate: %d %s", tp.Name, v.status, v.body)
		}
	}
	join, ok := byName["orders-join"]
	if !ok {
		t.Fatalf("no orders-join in %v", byName)
	}
	if join.Description != "A lookup join: each order gets its customer's name and country (customers are read first)." {
		t.Errorf("description %q", join.Description)
	}
	clean := byName["customers-clean"]
	if !strings.HasSuffix(clean.Description, "with its line, field and reason.") {
		t.Errorf("customers-clean description keeps the command's intro: %q", clean.Description)
	}
	src, err := os.ReadFile("../../examples/orders-join.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if join.Spec != string(src) {
		t.Errorf("spec is not the file as written (comments kept)")
	}
	var paths []string
	for _, f := range join.Files {
		paths = append(paths, f.Path)
		disk, err := os.ReadFile(filepath.Join("../../examples", f.Path))
		if err != nil || string(disk) != f.Content {
			t.Errorf("%s: content differs from the example's file (%v)", f.Path, err)
		}
	}
	if strings.Join(paths, ",") != "data/customers-ok.csv,data/orders.csv" {
		t.Errorf("orders-join files: %v", paths)
	}
	if r := e.do(http.MethodGet, "/api/v1/pipeline-templates", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", r.status)
	}
}

func TestLeadingComment(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"# One line.\nversion: 1\n", "One line."},
		{"# First,\n# second. Run it:\n#   aggregator run -f x.yaml\nversion: 1\n", "First, second."},
		{"version: 1\n# late comment\n", ""},
		{"#\n# After a blank comment.\n", "After a blank comment."},
	} {
		if got := leadingComment(tt.in); got != tt.want {
			t.Errorf("leadingComment(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
