package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int     `json:"id"`
	Type       string  `json:"type"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promVariables = regexp.MustCompile(`\$\{?\w+\}?`)
	promNumbers   = regexp.MustCompile(`\b\d[\w.]*`) // 0.95, 60, 5m (an offset)
	promIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(?`)
	promKeywords  = []string{"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"}
)

// promMetrics returns the metric names an expression selects: identifiers that are neither
// functions (followed by a parenthesis), keywords, label names nor Grafana variables.
func promMetrics(expr string) []string {
	s := promStrings.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, " ")
	s = promRanges.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	s = promVariables.ReplaceAllString(s, " ")
	s = promNumbers.ReplaceAllString(s, " ")
	var out []string
	for _, id := range promIdent.FindAllString(s, -1) {
		if strings.HasSuffix(id, "(") {
			continue // a function or an aggregation
		}
		if id = strings.TrimSpace(id); !slices.Contains(promKeywords, strings.ToLower(id)) {
			out = append(out, id)
		}
	}
	return out
}

func TestPromMetrics(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`max by (queue) (aggregator_queue_depth{job=~"$job"})`, []string{"aggregator_queue_depth"}},
		{`histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{job=~"$job",x="y{z}"}[$__rate_interval])))`, []string{"a_bucket"}},
		{`sum(rate(a{status=~"5.."}[5m])) / sum(rate(b[5m])) * 60`, []string{"a", "b"}},
		{`label_values(aggregator_http_requests_total, job)`, []string{"aggregator_http_requests_total", "job"}},
		{`a and on (instance) b offset 5m`, []string{"a", "b"}},
	}
	for _, c := range cases {
		if got := promMetrics(c.expr); !slices.Equal(got, c.want) {
			t.Errorf("promMetrics(%q) = %v, want %v", c.expr, got, c.want)
		}
	}
}

// scrapeMetrics starts the binary of the image layout on a fresh SQLite store, makes it serve
// requests and execute a run (so that the per-request and per-run series exist), and returns the
// names of the samples /metrics exposes.
func scrapeMetrics(t *testing.T) map[string]bool {
	t.Helper()
	l := imageLayout(t)
	dir := t.TempDir()
	files := filepath.Join(dir, "files")
	if err := os.MkdirAll(files, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(files, "in.csv"), []byte("id,name\n1,a\n2,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	const password = "metrics-probe-password-1"
	cmd := exec.Command(filepath.Join(l.root, "usr/local/bin/aggregator"), "serve")
	cmd.Env = append(os.Environ(), "DATA_DIR="+dir, "PORT="+strconv.Itoa(port), "ADMIN_PASSWORD="+password,
		"DATABASE_URL=", "REDIS_URL=", "ENVIRONMENT=development")
	p := start(t, cmd)
	p.waitHTTP(t, portURL(port, "/healthz"))

	call := func(method, path, token, contentType string, body []byte, into any) {
		t.Helper()
		req, _ := http.NewRequest(method, portURL(port, path), bytes.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
		}
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	call(http.MethodPost, "/api/v1/auth/login", "", "application/json",
		[]byte(`{"login":"admin","password":"`+password+`"}`), &login)
	spec := fmt.Sprintf(`version: 1
name: metrics-probe
sources:
  - {id: src, type: csv, config: {path: %q}}
destinations:
  - {id: out, type: ndjson, inputs: [src], config: {path: %q}, write: {mode: overwrite}}
`, filepath.Join(files, "in.csv"), filepath.Join(files, "out.ndjson"))
	var pipe, run struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	call(http.MethodPost, "/api/v1/pipelines", login.AccessToken, "application/yaml", []byte(spec), &pipe)
	call(http.MethodPost, "/api/v1/pipelines/"+pipe.ID+"/run", login.AccessToken, "", nil, &run)
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for run.Status != "succeeded" {
		if run.Status == "failed" || run.Status == "canceled" || time.Now().After(deadline) {
			t.Fatalf("run %s: status %q; output:\n%s", run.ID, run.Status, p.out.String())
		}
		<-tick.C
		call(http.MethodGet, "/api/v1/runs/"+run.ID, login.AccessToken, "", nil, &run)
	}

	status, body := get(t, portURL(port, "/metrics"))
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		names[name] = true
	}
	p.stop(t)
	return names
}

func TestGrafanaDashboardNamesExportedMetrics(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "grafana", "aggregator.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("aggregator.json: %v", err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("aggregator.json: uid %q title %q, want both", d.UID, d.Title)
	}

	// Every query, with where it is.
	type query struct{ where, expr string }
	var queries []query
	ids := map[int]string{}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if prev, dup := ids[p.ID]; dup {
				t.Errorf("panels %q and %q share the id %d", prev, p.Title, p.ID)
			}
			ids[p.ID] = p.Title
			if p.Type != "row" {
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
				if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q: want the datasource variable, so that the dashboard imports anywhere", p.Title)
				}
			}
			for _, tg := range p.Targets {
				queries = append(queries, query{"panel " + strconv.Quote(p.Title), tg.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			queries = append(queries, query{"variable " + v.Name, v.Definition})
		}
	}
	if len(queries) < 10 {
		t.Fatalf("%d queries; the dashboard should cover runs, queue, events, HTTP and processes", len(queries))
	}

	exported := scrapeMetrics(t)
	named := map[string]bool{}
	for _, q := range queries {
		ms := promMetrics(q.expr)
		if len(ms) == 0 {
			t.Errorf("%s: no metric in %q", q.where, q.expr)
		}
		for _, m := range ms {
			if m == "job" && strings.HasPrefix(q.expr, "label_values(") {
				continue // label_values(metric, label): the second argument is a label
			}
			named[m] = true
			if !exported[m] {
				t.Errorf("%s: %s is not exported by the binary's /metrics (query %q)", q.where, m, q.expr)
			}
		}
	}
	// The platform's own families all appear on the dashboard.
	for m := range exported {
		if strings.HasPrefix(m, "aggregator_") && !strings.HasSuffix(m, "_sum") && !named[m] &&
			!named[strings.TrimSuffix(m, "_count")+"_bucket"] && !named[strings.TrimSuffix(m, "_bucket")+"_count"] {
			t.Errorf("%s is exported but no panel shows it", m)
		}
	}
}
