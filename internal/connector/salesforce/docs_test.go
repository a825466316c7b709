package salesforce

import (
	"os"
	"strings"
	"testing"
)

// docs/connectors/salesforce.md carries the option table generated from the spec.
func TestDocsOptionTable(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../../docs/connectors/salesforce.md")
	if err != nil {
		t.Fatal(err)
	}
	if table := Spec().Config.Markdown(); !strings.Contains(string(doc), table) {
		t.Errorf("docs/connectors/salesforce.md: the option table differs from the spec; paste this:\n%s", table)
	}
}
