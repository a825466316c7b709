package pipelines

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/connector/files/ndjson"
	"github.com/dataaggregator/aggregator/internal/connector/mysql"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
	"github.com/dataaggregator/aggregator/internal/testutil"
	"github.com/dataaggregator/aggregator/internal/transform"
)

type fixture struct {
	svc   *Service
	st    *store.Store
	files string
}

// setup builds the service on a fresh SQLite store with the CSV, NDJSON and MySQL connectors and
// a file root in a temp directory holding in.csv.
func setup(t *testing.T, o func(*Options)) fixture {
	t.Helper()
	dir := t.TempDir()
	st := storetest.Open(t, store.Options{Dialect: store.SQLite, DSN: filepath.Join(dir, "aggregator.db")})
	conns, err := connector.NewRegistry(csv.New(), ndjson.New(), mysql.New())
	if err != nil {
		t.Fatal(err)
	}
	trs, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	files := filepath.Join(dir, "files")
	if err := os.MkdirAll(filepath.Join(files, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(files, "in.csv"), []byte("id,name\n1,a\n2,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{Store: st, Connectors: conns, Transforms: trs, Env: connector.Env{FileRoots: []string{files}}}
	if o != nil {
		o(&opts)
	}
	svc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{svc: svc, st: st, files: files}
}

func spec(name, dest string, extra string) []byte {
	return fmt.Appendf(nil, `version: 1
name: %s
sources:
  - id: in
    type: csv
    config: {path: in.csv}
destinations:
  - id: out
    inputs: [in]
%s
%s`, name, dest, extra)
}

const fileDest = `    type: ndjson
    config: {path: out/out.ndjson}`

func TestSaveStoresTheSchedule(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	ctx := context.Background()
	p, err := f.svc.Create(ctx, spec("sched", fileDest, `schedule: {cron: "0 * * * *", timezone: Europe/Berlin, misfire: run_once}`), "alice", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 0 || p.Schedule != "0 * * * *" || p.Timezone != "Europe/Berlin" || p.Misfire != "run_once" || !p.Enabled {
		t.Fatalf("create = %+v", p.Pipeline)
	}
	got, err := f.svc.Get(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec == nil || got.Spec.Schedule.Cron != "0 * * * *" || got.Misfire != "run_once" {
		t.Fatalf("get = %+v", got)
	}
	// The default misfire policy is skip; a pause survives a save.
	if _, err := f.svc.SetSchedulePaused(ctx, p.ID, true, "alice"); err != nil {
		t.Fatal(err)
	}
	up, err := f.svc.Update(ctx, p.ID, Update{Spec: spec("sched", fileDest, `schedule: {cron: "@daily"}`), Actor: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if up.Misfire != "skip" || !up.SchedulePaused || up.Schedule != "@daily" {
		t.Fatalf("update = %+v", up.Pipeline)
	}
	for _, bad := range []struct{ schedule, path string }{
		{`schedule: {cron: "0 * * * *", misfire: sometimes}`, "schedule.misfire"},
		{`schedule: {cron: "0 * * * *", timezone: Mars/Olympus}`, "schedule.timezone"},
		{`schedule: {cron: "0 25 * * *"}`, "schedule.cron"},
	} {
		_, err := f.svc.Create(ctx, spec("bad", fileDest, bad.schedule), "alice", false)
		ps, ok := pipeline.AsProblems(err)
		if !ok || len(ps) != 1 || ps[0].Path != bad.path {
			t.Errorf("%s: %v", bad.schedule, err)
		}
	}
}

func TestSaveRefusesPathsOutsideTheFileRoots(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	ctx := context.Background()
	for _, path := range []string{"../escape.ndjson", "/etc/out.ndjson", "out/../../x.ndjson"} {
		dest := "    type: ndjson\n    config: {path: \"" + path + "\"}"
		_, err := f.svc.Create(ctx, spec("escape", dest, ""), "alice", false)
		ps, ok := pipeline.AsProblems(err)
		if !ok || len(ps) != 1 || ps[0].Path != "destinations[0].config.path" || !strings.Contains(ps[0].Message, "outside the allowed file roots") || ps[0].Line == 0 {
			t.Errorf("path %q: err = %v", path, err)
		}
	}
	abs := filepath.Join(f.files, "out", "abs.ndjson")
	if _, err := f.svc.Create(ctx, spec("inside", "    type: ndjson\n    config: {path: \""+abs+"\"}", ""), "alice", false); err != nil {
		t.Fatalf("absolute path inside a root refused: %v", err)
	}
	list, total, err := f.svc.List(ctx, store.PipelineFilter{})
	if err != nil || total != 1 || list[0].Name != "inside" {
		t.Fatalf("saved = %v (%d), %v", list, total, err)
	}
}

// TestDeepValidationChecksDestinations: a destination that cannot connect is a problem naming the
// destination, reported together with the problems of other nodes.
func TestDeepValidationChecksDestinations(t *testing.T) {
	t.Parallel()
	my := testutil.MySQL(t)
	f := setup(t, nil)
	host, port, _ := strings.Cut(my.Config.Addr, ":")
	dest := fmt.Sprintf("    type: mysql\n    config: {host: %q, port: %s, user: no_such_user_%d, database: %q, table: t}",
		host, port, time.Now().UnixNano()%1000, my.Database)
	raw := []byte(strings.Replace(string(spec("deep", dest, "")), "path: in.csv", "path: missing.csv", 1))
	v, err := f.svc.Validate(context.Background(), raw, true)
	if err != nil {
		t.Fatal(err)
	}
	var src, dst bool
	for _, p := range v.Problems {
		src = src || strings.HasPrefix(p.Path, "sources[0]")
		dst = dst || (p.Path == "destinations[0]" && strings.Contains(p.Message, `destination "out"`) && p.Line > 0)
	}
	if !src || !dst {
		t.Fatalf("problems = %v; want the missing source file and the destination that cannot connect", v.Problems)
	}
	shallow, err := f.svc.Validate(context.Background(), raw, false)
	if err != nil || !shallow.Valid() {
		t.Fatalf("shallow validation opens nothing, got %+v, %v", shallow, err)
	}
}

func TestPreviewBudget(t *testing.T) {
	t.Parallel()
	f := setup(t, func(o *Options) { o.PreviewBytes = 20 })
	_, err := f.svc.Preview(context.Background(), spec("p", fileDest, ""), 20)
	if !IsBudget(err) || !strings.Contains(err.Error(), "preview budget exceeded") {
		t.Fatalf("err = %v, want the byte budget", err)
	}
	big := setup(t, nil)
	res, err := big.svc.Preview(context.Background(), spec("p", fileDest, ""), 20)
	if err != nil || len(res.Nodes) != 2 || len(res.Nodes[0].Rows) != 2 {
		t.Fatalf("preview = %+v, %v", res, err)
	}
}

func TestPreviewDeadline(t *testing.T) {
	t.Parallel()
	f := setup(t, func(o *Options) { o.PreviewTimeout = time.Nanosecond })
	_, err := f.svc.Preview(context.Background(), spec("p", fileDest, ""), 20)
	if !IsBudget(err) || !strings.Contains(err.Error(), "still running after") {
		t.Fatalf("err = %v, want the time budget", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := setup(t, nil).svc.Preview(ctx, spec("p", fileDest, ""), 20); IsBudget(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled by the caller: err = %v, want context.Canceled", err)
	}
}
