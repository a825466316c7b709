package filekit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
)

// Relative paths with several roots: a source takes the first root that holds the file, a destination
// the first root unless only a later one has its directory.
func TestLocalSeveralRoots(t *testing.T) {
	t.Parallel()
	first, second, third := t.TempDir(), t.TempDir(), t.TempDir()
	outsider := t.TempDir()
	write := func(p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(first, "both.csv"))
	write(filepath.Join(second, "both.csv"))
	write(filepath.Join(second, "data", "only2.csv"))
	write(filepath.Join(third, "data", "only3.csv"))
	write(filepath.Join(third, "deep", "x.csv"))
	write(filepath.Join(outsider, "secret.csv"))
	for _, d := range []string{filepath.Join(first, "shared"), filepath.Join(second, "shared"), filepath.Join(second, "out"), filepath.Join(third, "out")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A symlink in the second root pointing out of every root.
	if err := os.Symlink(filepath.Join(outsider, "secret.csv"), filepath.Join(second, "escape.csv")); err != nil {
		t.Fatal(err)
	}
	env := connector.Env{FileRoots: []string{first, second, third}}
	realDir := func(d string) string {
		r, err := filepath.EvalSymlinks(d)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	real := func(p string) string {
		r, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			t.Fatal(err)
		}
		return filepath.Join(r, filepath.Base(p))
	}

	cases := []struct {
		name     string
		path     string
		write    bool
		want     string // expected resolved path (before symlink resolution of the temp dirs)
		errMatch []string
		notFound bool
		config   bool
	}{
		{name: "read from the first root that has it", path: "both.csv", want: filepath.Join(first, "both.csv")},
		{name: "read falls through to the second root", path: "data/only2.csv", want: filepath.Join(second, "data", "only2.csv")},
		{name: "read falls through to the third root", path: "data/only3.csv", want: filepath.Join(third, "data", "only3.csv")},
		{name: "absolute path in a later root", path: filepath.Join(third, "deep", "x.csv"), want: filepath.Join(third, "deep", "x.csv")},
		{name: "missing everywhere names every root", path: "data/none.csv", notFound: true,
			errMatch: []string{`"data/none.csv" does not exist in any file root`, realDir(first), realDir(second), realDir(third)}},
		{name: "dot-dot escape refused", path: "data/../../x.csv", config: true, errMatch: []string{"outside the allowed file roots"}},
		{name: "symlink out of the roots refused, no fall-through", path: "escape.csv", config: true, errMatch: []string{"outside the allowed file roots"}},
		{name: "write: directory in the first root", path: "new.csv", write: true, want: filepath.Join(first, "new.csv")},
		{name: "write: directory in first and later roots, first wins", path: "shared/new.csv", write: true, want: filepath.Join(first, "shared", "new.csv")},
		{name: "write: directory only in later roots, the first of them wins", path: "out/new.csv", write: true, want: filepath.Join(second, "out", "new.csv")},
		{name: "write: existing file in a later root is replaced there", path: "deep/x.csv", write: true, want: filepath.Join(third, "deep", "x.csv")},
		{name: "write: directory nowhere", path: "nodir/new.csv", write: true, notFound: true, errMatch: []string{"nodir"}},
		{name: "write: dot-dot escape refused", path: "../new.csv", write: true, config: true, errMatch: []string{"outside the allowed file roots"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Local(env, c.path, c.write)
			if len(c.errMatch) > 0 {
				if err == nil {
					t.Fatalf("Local(%q, write=%v) = %q; want an error", c.path, c.write, got)
				}
				for _, m := range c.errMatch {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not contain %q", err, m)
					}
				}
				if c.notFound && !errors.Is(err, connector.ErrNotFound) {
					t.Errorf("error %v is not ErrNotFound", err)
				}
				if c.config && !errors.Is(err, connector.ErrConfig) {
					t.Errorf("error %v is not a config error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Local(%q, write=%v): %v", c.path, c.write, err)
			}
			if want := real(c.want); got != want {
				t.Errorf("Local(%q, write=%v) = %q; want %q", c.path, c.write, got, want)
			}
		})
	}
}

// Input passes the multi-root resolution through for a source path.
func TestInputSearchesRoots(t *testing.T) {
	t.Parallel()
	first, second := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(second, "in.csv"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, name, err := Input(t.Context(), connector.Env{FileRoots: []string{first, second}}, "in.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(filepath.Join(second, "in.csv"))
	if got != want || name != "in.csv" {
		t.Fatalf("Input = %q, %q; want %q, in.csv", got, name, want)
	}
}

// A missing file names the root it was looked for in also when there is only one (the server's
// default), as with several (the CLI's).
func TestMissingFileNamesTheOneRoot(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	_, err := Local(connector.Env{FileRoots: []string{root}}, "none.csv", false)
	real, _ := filepath.EvalSymlinks(root)
	if !errors.Is(err, connector.ErrNotFound) || !strings.Contains(err.Error(), `"none.csv" does not exist in any file root (tried `+real+`)`) {
		t.Fatalf("err = %v, want ErrNotFound naming the root %s", err, real)
	}
}

// With an output directory (the server), a relative destination path resolves under it, its
// directories created, whatever the roots hold; it never escapes it; reading is unchanged.
func TestLocalOutputDir(t *testing.T) {
	t.Parallel()
	root, data, outsider := t.TempDir(), t.TempDir(), t.TempDir()
	out := filepath.Join(data, "files")
	// The root has an "out" directory, where a destination without an output directory would write.
	if err := os.MkdirAll(filepath.Join(root, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "in.csv"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := connector.Env{FileRoots: []string{root}, OutputDir: out}
	realOut := func() string {
		r, err := filepath.EvalSymlinks(out)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	got, err := Local(env, "out/deep/a.ndjson", true)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(realOut(), "out", "deep", "a.ndjson"); got != want {
		t.Errorf("relative destination = %s, want %s", got, want)
	}
	if st, err := os.Stat(filepath.Join(out, "out", "deep")); err != nil || !st.IsDir() {
		t.Errorf("output directories not created: %v", err)
	}
	if got, err := Local(env, filepath.Join(realOut(), "b.csv"), true); err != nil || got != filepath.Join(realOut(), "b.csv") {
		t.Errorf("absolute path under the output directory = %q, %v", got, err)
	}
	if got, err := Local(env, filepath.Join(root, "out", "c.csv"), true); err != nil || !strings.HasSuffix(got, filepath.Join("out", "c.csv")) {
		t.Errorf("absolute path under a root = %q, %v", got, err)
	}
	for _, p := range []string{"../escape.csv", "out/../../escape.csv", filepath.Join(outsider, "x.csv")} {
		if _, err := Local(env, p, true); !errors.Is(err, connector.ErrConfig) {
			t.Errorf("Local(%q, write) = %v, want a refusal", p, err)
		}
	}
	// A symlink in the output directory pointing out of it is refused.
	if err := os.Symlink(outsider, filepath.Join(out, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := Local(env, "link/x.csv", true); !errors.Is(err, connector.ErrConfig) {
		t.Errorf("write through a symlink out of the output directory = %v, want a refusal", err)
	}
	// Sources still read from the roots.
	if got, err := Local(env, "in.csv", false); err != nil || filepath.Base(got) != "in.csv" {
		t.Errorf("read = %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(root, "out", "deep")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the root's out/ was written to: %v", err)
	}
}
