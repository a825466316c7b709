package files_test

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/connector/files/excel"
	jsonconn "github.com/dataaggregator/aggregator/internal/connector/files/json"
	"github.com/dataaggregator/aggregator/internal/connector/files/ndjson"
	"github.com/dataaggregator/aggregator/internal/connector/files/parquet"
	xmlconn "github.com/dataaggregator/aggregator/internal/connector/files/xml"
)

var update = flag.Bool("update", false, "rewrite the option tables in docs/connectors/files.md and parquet.md")

// The option tables in the docs are generated from each connector's config spec; this test fails
// when they drift (run `go test ./internal/connector/files -run TestDocs -update` to regenerate).
func TestDocsOptionTablesUpToDate(t *testing.T) {
	checkDocs(t, "../../../docs/connectors/files.md", csv.New(), csv.NewTSV(), jsonconn.New(), ndjson.New(), xmlconn.New(), excel.New())
	checkDocs(t, "../../../docs/connectors/parquet.md", parquet.New())
}

func checkDocs(t *testing.T, docPath string, conns ...connector.Connector) {
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, c := range conns {
		s := c.Spec()
		re := regexp.MustCompile(`(?s)(<!-- options:` + s.Name + ` -->\n).*?(<!-- /options:` + s.Name + ` -->)`)
		if !re.MatchString(doc) {
			t.Errorf("%s lacks the markers <!-- options:%s --> ... <!-- /options:%s -->", docPath, s.Name, s.Name)
			continue
		}
		table := s.Config.Markdown() + "\nWrite modes: " + modes(s) + ".\n"
		want := "<!-- options:" + s.Name + " -->\n" + table + "<!-- /options:" + s.Name + " -->"
		got := re.FindString(doc)
		if got != want {
			if *update {
				doc = re.ReplaceAllLiteralString(doc, want)
				continue
			}
			t.Errorf("the %s option table in %s is out of date; run: go test ./internal/connector/files -run TestDocs -update", s.Name, docPath)
		}
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func modes(s connector.Spec) string {
	var m []string
	for _, w := range s.WriteModes {
		m = append(m, "`"+string(w)+"`")
	}
	return strings.Join(m, ", ")
}
