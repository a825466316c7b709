package transform

import (
	"os"
	"strings"
	"testing"
)

// TestDocsMatchSpecs keeps docs/transformations.md in step with the code: every node has a section
// and its option table is the one its spec renders (expr checks docs/expressions.md).
func TestDocsMatchSpecs(t *testing.T) {
	b, err := os.ReadFile("../../docs/transformations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, d := range Builtins() {
		if !strings.Contains(doc, "\n## "+d.Spec.Name+"\n") {
			t.Errorf("transformations.md has no section for %s", d.Spec.Name)
		}
		if len(d.Spec.Config.Params) > 0 && !strings.Contains(doc, d.Spec.Config.Markdown()) {
			t.Errorf("transformations.md: the option table of %s differs from its spec; paste this:\n%s", d.Spec.Name, d.Spec.Config.Markdown())
		}
	}
}
