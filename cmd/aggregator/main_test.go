package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	binOnce sync.Once
	binPath string
	binErr  string
	binDir  string
)

// aggregatorBinary builds the binary once per test run, the way `make build` does (no cgo,
// -trimpath), so that under `make test` it only links what `make build` already compiled.
func aggregatorBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aggregator-bin-")
		if err != nil {
			binErr = err.Error()
			return
		}
		binDir, binPath = dir, filepath.Join(dir, "aggregator")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-trimpath")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = "build: " + err.Error() + "\n" + string(out)
		}
	})
	if binErr != "" {
		t.Fatal(binErr)
	}
	return binPath
}

// TestMain lets the test binary act as the aggregator command: a child started with
// AGGREGATOR_TEST_MAIN=1 runs main() with its arguments (`worker ...`), the same code the released
// binary runs. The binary aggregatorBinary built is removed at the end.
func TestMain(m *testing.M) {
	if os.Getenv("AGGREGATOR_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// run executes the CLI with args and stdin, returning stdout, stderr and the error.
func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd(buildInfo{Version: "v-test"})
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestVersionAndHelp(t *testing.T) {
	out, _, err := run(t, "", "version")
	if err != nil || !strings.HasPrefix(out, "aggregator v-test (") {
		t.Fatalf("version: %q %v", out, err)
	}
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"migrate", "up", "--help"},
		{"migrate", "status", "--help"}, {"user", "--help"}, {"user", "create", "--help"}, {"version", "--help"}} {
		out, _, err := run(t, "", args...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
}

func TestMigrateAndUserCreate(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DATA_DIR", dir)
	t.Setenv("AUTO_INIT_DB", "false")

	out, _, err := run(t, "", "migrate", "status")
	if err == nil || !strings.Contains(out, "pending: [1") || !strings.Contains(err.Error(), "migrate up") {
		t.Fatalf("status before migrating: %v\n%s", err, out)
	}
	// With AUTO_INIT_DB=false, user create refuses the pending schema.
	if _, _, err := run(t, "Str0ng-Passw0rd-Here\n", "user", "create", "--username", "ana", "--email", "ana@example.com", "--role", "designer"); err == nil || !strings.Contains(err.Error(), "migrate up") {
		t.Fatalf("user create on a pending schema: %v", err)
	}
	if out, _, err := run(t, "", "migrate", "up"); err != nil || !strings.Contains(out, "migration(s)") || !strings.HasPrefix(out, "applied ") {
		t.Fatalf("migrate up: %v\n%s", err, out)
	}
	if out, _, err := run(t, "", "migrate", "up"); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate up: %v\n%s", err, out)
	}
	if out, _, err := run(t, "", "migrate", "status"); err != nil || !strings.Contains(out, "pending: none") {
		t.Fatalf("status after migrating: %v\n%s", err, out)
	}

	out, _, err = run(t, "Str0ng-Passw0rd-Here\n", "user", "create", "--username", "ana", "--email", "ana@example.com", "--role", "Designer")
	if err != nil || !strings.Contains(out, "created user ana") || !strings.Contains(out, "role designer") {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	if strings.Contains(out, "Str0ng") {
		t.Fatal("the password was printed")
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"duplicate username", "Str0ng-Passw0rd-Here\n", []string{"--username", "ana", "--email", "other@example.com", "--role", "viewer"}, `username "ana" is already taken`},
		{"unknown role", "Str0ng-Passw0rd-Here\n", []string{"--username", "bob", "--email", "bob@example.com", "--role", "root"}, "--role: unknown role"},
		{"weak password", "short\n", []string{"--username", "bob", "--email", "bob@example.com", "--role", "viewer"}, "password"},
		{"no password", "", []string{"--username", "bob", "--email", "bob@example.com", "--role", "viewer"}, "no password on standard input"},
		{"missing flag", "x\n", []string{"--username", "bob", "--role", "viewer"}, `"email" not set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, tt.stdin, append([]string{"user", "create"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestFlagsOverrideEnvironmentAndBadValuesNameTheVariable(t *testing.T) {
	t.Setenv("DATA_DIR", t.TempDir())
	t.Setenv("PORT", "not-a-port")
	_, _, err := run(t, "", "serve")
	if err == nil || !strings.Contains(err.Error(), "PORT") {
		t.Fatalf("bad PORT: %v", err)
	}
	t.Setenv("PORT", "8001")
	_, _, err = run(t, "", "serve", "--port", "70000")
	if err == nil || !strings.Contains(err.Error(), "PORT: must be between 1 and 65535, got 70000") {
		t.Fatalf("--port 70000 did not override PORT: %v", err)
	}
	_, _, err = run(t, "", "serve", "--log-level", "loud")
	if err == nil || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Fatalf("--log-level loud: %v", err)
	}
	t.Setenv("ENVIRONMENT", "production")
	_, _, err = run(t, "", "migrate", "status")
	if err == nil || !strings.Contains(err.Error(), "SECRET_KEY") {
		t.Fatalf("production without SECRET_KEY: %v", err)
	}
}

func TestVersionOfAReleaseBuild(t *testing.T) {
	root := newRootCmd(buildInfo{Version: "v1.4.0", Commit: "3f2c1e9a0b7d", Date: "2026-12-06T07:00:00Z"})
	var out bytes.Buffer
	root.SetArgs([]string{"version"})
	root.SetOut(&out)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "aggregator v1.4.0 (go") ||
		lines[1] != "commit 3f2c1e9a0b7d, built from the tree of 2026-12-06T07:00:00Z" {
		t.Fatalf("version of a release build: %q", out.String())
	}
}
