package expr

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListEveryFunction keeps docs/expressions.md in step with the library: every function has
// a row in its tables.
func TestDocsListEveryFunction(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../../docs/expressions.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, f := range Functions() {
		if !strings.Contains(doc, "| `"+f.Name+"(") {
			t.Errorf("expressions.md has no row for %s (%s)", f.Name, f.Signature)
		}
	}
}
