package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/runner"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// runCLI runs the aggregator command tree in process with args, returning stdout, stderr and the error.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(buildInfo{Version: "test"})
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// copyExamples copies examples/ (pipelines, data, out/) to a temporary directory, so that tests do
// not write into the source tree.
func copyExamples(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("..", "..", "examples")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// Every example runs as it is, and validate and preview accept it.
func TestExamplesRun(t *testing.T) {
	examples, err := filepath.Glob(filepath.Join(copyExamples(t), "*.yaml"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, ex := range examples {
		t.Run(filepath.Base(ex), func(t *testing.T) {
			data := t.TempDir()
			if out, _, err := runCLI(t, "validate", "-f", ex, "--data-dir", data); err != nil || !strings.Contains(out, "is valid") {
				t.Fatalf("validate: %v\n%s", err, out)
			}
			if out, _, err := runCLI(t, "preview", "-f", ex, "--rows", "3", "--data-dir", data); err != nil || !strings.Contains(out, "== ") {
				t.Fatalf("preview: %v\n%s", err, out)
			}
			out, stderr, err := runCLI(t, "run", "-f", ex, "--data-dir", data, "--progress", "none")
			if err != nil {
				t.Fatalf("run: %v\n%s\n%s", err, out, stderr)
			}
			if !strings.Contains(out, "succeeded") || !strings.Contains(out, "rows read") {
				t.Errorf("summary:\n%s", out)
			}
		})
	}
}

// customersDeadLetters are the dead letters of examples/customers-clean.yaml; the API's download
// of the same run holds the same records (internal/api TestRunDeadLettersMatchTheCLI).
var customersDeadLetters = []runner.DeadLetter{
	{Node: "customers", Source: "data/customers.csv", Line: 5, Reason: "has 3 fields, want 6 (id, name, email, country, signup_date, balance)",
		Raw: "4,Broken Row,only-three-columns"},
	{Node: "customers", Source: "data/customers.csv", Line: 7, Field: "signup_date", Reason: `invalid date "not-a-date" (want YYYY-MM-DD)`,
		Raw: "7,Barbara Liskov,barbara@example.com,US,not-a-date,310.00"},
	{Node: "customers", Source: "data/customers.csv", Line: 11, Field: "balance", Reason: `invalid decimal "abc": unexpected 'a'`,
		Raw: "10,Niklaus Wirth,niklaus@example.com,CH,2024-05-02,abc"},
	{Node: "customers", Source: "data/customers.csv", Line: 12, Reason: "unterminated quoted field 2: the quote opened on line 12 is never closed",
		Raw: "6,Unbalanced quote,bad@example.com,US,2024-03-06,1\n"},
}

func TestRunWritesDeadLettersNamingEachBrokenLine(t *testing.T) {
	data := t.TempDir()
	dl := filepath.Join(data, "rejects.ndjson")
	out, _, err := runCLI(t, "run", "-f", filepath.Join(copyExamples(t), "customers-clean.yaml"), "--data-dir", data, "--dead-letter", dl, "--progress", "none")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	b, err := os.ReadFile(dl)
	if err != nil {
		t.Fatal(err)
	}
	var got []runner.DeadLetter
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r runner.DeadLetter
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("dead letter %q: %v", l, err)
		}
		got = append(got, r)
	}
	if diff := cmp.Diff(customersDeadLetters, got); diff != "" {
		t.Errorf("dead letters (-want +got):\n%s", diff)
	}
	if !strings.Contains(out, "dead letters: 4 rows in "+dl) {
		t.Errorf("summary does not name the dead-letter file:\n%s", out)
	}
}

// A missing input names the file roots it was looked for in, with one root (FILE_ROOTS set, as in
// the server) as with the CLI's default two (the pipeline's directory and the current one).
func TestRunMissingFileNamesTheRootsTried(t *testing.T) {
	dir := copyExamples(t)
	spec := filepath.Join(dir, "customers-clean.yaml")
	b, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spec, bytes.Replace(b, []byte("data/customers.csv"), []byte("data/gone.csv"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	cwd, _ := os.Getwd()
	realDir, _ := filepath.EvalSymlinks(dir)
	realCwd, _ := filepath.EvalSymlinks(cwd)
	for _, tc := range []struct {
		name  string
		roots string
		want  []string
	}{
		{"default roots", "", []string{realDir, realCwd}},
		{"one root", dir, []string{realDir}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FILE_ROOTS", tc.roots)
			_, stderr, err := runCLI(t, "run", "-f", spec, "--data-dir", t.TempDir(), "--progress", "none")
			if err == nil {
				t.Fatal("run of a missing file succeeded")
			}
			want := `file "data/gone.csv" does not exist in any file root (tried ` + strings.Join(tc.want, ", ") + ")"
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, want)
			}
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.yaml")
	spec := `version: 1
name: bad
sources:
  - id: a
    type: csv
    config: {path: in.csv, delimter: ";"}
transforms:
  - id: f
    type: filter
    inputs: [a, ghost]
    config: {expression: "(("}
destinations:
  - id: out
    type: nosuch
    inputs: [f]
`
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "validate", "-f", file, "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "problems") {
		t.Fatalf("validate error = %v, want problems", err)
	}
	for _, want := range []string{
		file + `:6:28: sources[0].config.delimter: unknown field (did you mean "delimiter"?)`,
		file + ":11:14: transforms[0].config.expression: unexpected token",
		file + `:10:17: transforms[0].inputs[1]: unknown input "ghost"`,
		file + `:14:5: destinations[0].type: unknown connector type "nosuch"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestConnectorsJSON(t *testing.T) {
	out, _, err := runCLI(t, "connectors", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var specs []struct {
		Name         string         `json:"name"`
		ConfigSchema map[string]any `json:"config_schema"`
	}
	if err := json.Unmarshal([]byte(out), &specs); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range specs {
		if s.Name == "csv" {
			found = s.ConfigSchema["type"] == "object" && s.ConfigSchema["properties"] != nil
		}
	}
	if !found {
		t.Errorf("csv connector with a JSON Schema config not listed:\n%.500s", out)
	}
}

// The kill test: a real aggregator process is SIGKILLed (or stopped with Ctrl-C's SIGINT) after it
// saved a checkpoint; running it again resumes, and every output, appended or overwritten, holds every
// row exactly once.
func TestKilledRunResumesExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and processes a large file")
	}
	bin := aggregatorBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) { testInterruptedRunResumes(t, bin, sig) })
	}
}

func testInterruptedRunResumes(t *testing.T, bin string, sig syscall.Signal) {
	dir := t.TempDir()
	const rows = 600_000
	in, err := os.Create(filepath.Join(dir, "in.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(in)
	fmt.Fprintln(w, "id,name,amount,note")
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(w, "%d,name %d,%d.%02d,\"note, with comma %d\"\n", i, i, i%1000, i%100, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	in.Close()
	spec := `version: 1
name: kill-test
sources: [{id: in, type: csv, config: {path: in.csv}}]
transforms: [{id: f, type: filter, inputs: [in], config: {expression: "id > 0"}}]
destinations:
  - {id: out, type: csv, inputs: [f], config: {path: out.csv}, write: {mode: append}}
  - {id: out2, type: ndjson, inputs: [f], config: {path: out.ndjson}, write: {mode: append}}
  - {id: out3, type: ndjson, inputs: [f], config: {path: replaced.ndjson}, write: {mode: overwrite}}
`
	file := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state.json")
	args := []string{"run", "-f", file, "--state", state, "--data-dir", dir, "--commit-rows", "20000", "--batch-size", "1000", "--progress", "none"}

	first := exec.Command(bin, args...)
	var firstOut bytes.Buffer
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for a checkpoint past the start: poll the state file the process writes.
	deadline := time.Now().Add(2 * time.Minute)
	var cp engine.Checkpoint
	for {
		if b, err := os.ReadFile(state); err == nil && json.Unmarshal(b, &cp) == nil && len(cp.Sources) > 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = first.Process.Kill()
			t.Fatalf("no checkpoint within 2 minutes:\n%s", firstOut.String())
		}
		time.Sleep(2 * time.Millisecond) // polling a file another process writes; there is no event to wait on
	}
	if err := first.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if cp.Complete {
		t.Fatal("the run finished before it could be killed; the input is too small for this machine")
	}
	if b, _ := os.ReadFile(state); json.Unmarshal(b, &cp) == nil && cp.Complete {
		t.Fatal("the run completed before the kill landed")
	}

	second := exec.Command(bin, args...)
	out, err := second.CombinedOutput()
	if err != nil {
		t.Fatalf("resumed run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "resumed from a checkpoint") {
		t.Errorf("second run did not resume:\n%s", out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out.csv"))
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, rows+1)
	n := 0
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if i == 0 {
			if line != "id,name,amount,note" {
				t.Fatalf("header = %q", line)
			}
			continue
		}
		id, err := strconv.Atoi(line[:strings.IndexByte(line, ',')])
		if err != nil || id < 1 || id > rows {
			t.Fatalf("line %d: bad row %q", i+1, line)
		}
		if seen[id] {
			t.Fatalf("row %d written twice", id)
		}
		seen[id] = true
		n++
	}
	if n != rows {
		t.Fatalf("output has %d rows, want %d", n, rows)
	}
	for _, name := range []string{"out.ndjson", "replaced.ndjson"} {
		b, err = os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		seen = make([]bool, rows+1)
		n = 0
		for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			var r struct{ ID int }
			if err := json.Unmarshal([]byte(line), &r); err != nil || r.ID < 1 || r.ID > rows {
				t.Fatalf("%s line %d: bad row %q (%v)", name, i+1, line, err)
			}
			if seen[r.ID] {
				t.Fatalf("%s: row %d written twice", name, r.ID)
			}
			seen[r.ID] = true
			n++
		}
		if n != rows {
			t.Fatalf("%s has %d rows, want %d", name, n, rows)
		}
	}
}

func TestRunFailsPerErrorPolicyAndKeepsStateUnderDataDir(t *testing.T) {
	dir := copyExamples(t)
	data := t.TempDir()
	src, err := os.ReadFile(filepath.Join(dir, "customers-clean.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	failing := strings.Replace(string(src), "error_policy: {on_reject: dead_letter, max_reject_ratio: 0.5}", "error_policy: {on_reject: fail}", 1)
	ratio := strings.Replace(string(src), "max_reject_ratio: 0.5", "max_reject_ratio: 0.1", 1)
	for name, spec := range map[string]string{"fail": failing, "ratio": ratio} {
		file := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
		out, _, err := runCLI(t, "run", "-f", file, "--data-dir", data, "--progress", "none", "--dead-letter", filepath.Join(data, name+".csv"))
		want := map[string]string{
			"fail":  "row rejected (error_policy.on_reject is fail): node customers: data/customers.csv line 5",
			"ratio": "4 of 10 rows rejected (40.00%), more than error_policy.max_reject_ratio 10.00%",
		}[name]
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error = %v, want it to contain %q", name, err, want)
		}
		if !strings.Contains(out, "pipeline customers-clean failed") {
			t.Errorf("%s: summary:\n%s", name, out)
		}
	}
	// The ratio run dead-lettered its rows (as CSV) before failing at the end.
	b, err := os.ReadFile(filepath.Join(data, "ratio.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) != 5 || strings.Join(recs[0], ",") != "node,source,line,field,reason,raw,values" {
		t.Errorf("dead-letter CSV (%v):\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(data, "state", "customers-clean.json")); err != nil {
		t.Errorf("state file not under DATA_DIR/state: %v", err)
	}
}

// A run that fails after a checkpoint rolls its overwrite output back, keeping the old file; running
// it again cannot resume and says to start afresh, and --fresh does.
func TestFailedOverwriteRunAsksForFresh(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,amount\n")
	for i := 1; i <= 3000; i++ {
		fmt.Fprintf(&b, "%d,%d\n", i, i)
	}
	bad := b.String() + "3001,not-a-number\n"
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "out.ndjson"), []byte("{\"old\":true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := `version: 1
name: fail-overwrite
sources: [{id: in, type: csv, config: {path: in.csv, types: {amount: int}}}]
destinations: [{id: out, type: ndjson, inputs: [in], config: {path: out.ndjson}, write: {mode: overwrite}}]
error_policy: {on_reject: fail}
`
	file := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "-f", file, "--data-dir", dir, "--progress", "none", "--commit-rows", "500", "--batch-size", "100"}
	if _, _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), "line 3002") {
		t.Fatalf("first run: error = %v, want the bad line named", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "out.ndjson")); string(got) != "{\"old\":true}\n" {
		t.Fatalf("the failed overwrite replaced the old file: %.80q", got)
	}
	if _, _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), "--fresh") {
		t.Fatalf("second run: error = %v, want advice to start afresh with --fresh", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, append(args, "--fresh")...); err != nil {
		t.Fatalf("fresh run: %v", err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "out.ndjson"))
	if n := strings.Count(string(got), "\n"); n != 3000 {
		t.Fatalf("fresh run wrote %d rows, want 3000", n)
	}
}

// TestValidateChecksDestinations: validate connects to each destination and names the one that
// fails (a wrong MariaDB password), together with the problems of the other nodes.
func TestValidateChecksDestinations(t *testing.T) {
	my := testutil.MySQL(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte("id,name\n1,a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(my.Config.Addr, ":")
	file := filepath.Join(dir, "p.yaml")
	spec := fmt.Sprintf(`version: 1
name: dest
sources:
  - id: a
    type: csv
    config: {path: missing.csv}
destinations:
  - id: out
    type: mysql
    inputs: [a]
    config: {host: %q, port: %s, user: %q, password: "certainly-wrong", database: %q, table: t}
`, host, port, my.Config.User, my.Database)
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "validate", "-f", file, "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "2 problems") {
		t.Fatalf("validate error = %v, want 2 problems:\n%s", err, out)
	}
	for _, want := range []string{file + `:8:7: destinations[0]: destination "out": mysql at `, "access denied", "missing.csv"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := runCLI(t, "validate", "--no-open", "-f", file, "--data-dir", dir); err != nil {
		t.Errorf("validate --no-open connects to nothing, got %v", err)
	}
}
