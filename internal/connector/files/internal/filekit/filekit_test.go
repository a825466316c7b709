package filekit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
)

func TestLocalConfinement(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	other := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(root, "sub", "in.csv"), []byte("a"), 0o644))
	must(os.WriteFile(filepath.Join(other, "secret.csv"), []byte("a"), 0o644))
	must(os.Symlink(filepath.Join(other, "secret.csv"), filepath.Join(root, "link.csv")))
	must(os.Symlink(other, filepath.Join(root, "dirlink")))
	must(os.Symlink(filepath.Join(root, "sub", "in.csv"), filepath.Join(root, "inside.csv")))
	env := connector.Env{FileRoots: []string{root}}
	realRoot, _ := filepath.EvalSymlinks(root)

	cases := []struct {
		path     string
		write    bool
		want     string // resolved path relative to the root, or "" for an error
		errMatch string
	}{
		{path: "sub/in.csv", want: "sub/in.csv"},
		{path: filepath.Join(root, "sub/in.csv"), want: "sub/in.csv"},
		{path: "sub/../sub/in.csv", want: "sub/in.csv"},
		{path: "inside.csv", want: "sub/in.csv"},
		{path: "../x.csv", errMatch: "outside the allowed file roots"},
		{path: "sub/../../x.csv", errMatch: "outside the allowed file roots"},
		{path: "/etc/passwd", errMatch: "outside the allowed file roots"},
		{path: "link.csv", errMatch: "outside the allowed file roots"},
		{path: "dirlink/secret.csv", errMatch: "outside the allowed file roots"},
		{path: "dirlink/new.csv", write: true, errMatch: "outside the allowed file roots"},
		{path: "new.csv", write: true, want: "new.csv"},
		{path: "missing.csv", errMatch: "does not exist"},
		{path: "nodir/new.csv", write: true, errMatch: "nodir"},
		{path: "sub", errMatch: "is a directory"},
		{path: " ", errMatch: "must not be empty"},
	}
	for _, c := range cases {
		got, err := Local(env, c.path, c.write)
		if c.errMatch != "" {
			if err == nil || !strings.Contains(err.Error(), c.errMatch) {
				t.Errorf("Local(%q, write=%v) = %q, %v; want an error with %q", c.path, c.write, got, err, c.errMatch)
			}
			if strings.Contains(c.errMatch, "outside") && !errors.Is(err, connector.ErrConfig) {
				t.Errorf("Local(%q): an escape must be a config error, got %v", c.path, err)
			}
			continue
		}
		if err != nil || got != filepath.Join(realRoot, c.want) {
			t.Errorf("Local(%q, write=%v) = %q, %v; want %s", c.path, c.write, got, err, filepath.Join(realRoot, c.want))
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSinkOverwriteIsAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "out.json")
	os.WriteFile(p, []byte("old"), 0o644)
	s, err := OpenSink(SinkOptions{Path: p, Name: "out.json", Mode: connector.Overwrite, RunID: "r1", Footer: []byte("]")})
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("[1"))
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); got != "old" {
		t.Fatalf("target changed before Close: %q", got)
	}
	if got := readFile(t, filepath.Join(dir, ".out.json.r1.tmp")); got != "[1]" {
		t.Fatalf("committed temp file %q; want the footer after the data", got)
	}
	s.Write([]byte(",2"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); got != "[1,2]" {
		t.Fatalf("after Close: %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("leftover files: %v", entries)
	}
}

func TestSinkResumeAndAbort(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	os.WriteFile(p, []byte("kept\n"), 0o644)
	open := func(resume bool) *Sink {
		s, err := OpenSink(SinkOptions{Path: p, Name: "out.txt", Mode: connector.Append, RunID: "r", Resume: resume})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open(false)
	s.Write([]byte("a\n"))
	s.Record()
	s.Commit()
	tok, _ := s.CommitState()
	s.Write([]byte("b\n"))
	s.Record()
	s.Commit()
	s.Write([]byte("lost\n")) // the process dies here
	s.w.Flush()

	s2 := open(true)
	if got := readFile(t, p); got != "kept\na\nb\n" {
		t.Fatalf("resume did not cut the uncommitted tail: %q", got)
	}
	if err := s2.ResumeAt(tok); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); got != "kept\na\n" {
		t.Fatalf("ResumeAt did not rewind to the token: %q", got)
	}
	s2.Write([]byte("b2\n"))
	s2.Commit()
	s2.Write([]byte("dropped\n"))
	if err := s2.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); got != "kept\na\nb2\n" {
		t.Fatalf("append Abort must keep commits and drop the rest: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, ".out.txt.r.commit")); !os.IsNotExist(err) {
		t.Fatalf("commit record left after Abort: %v", err)
	}
	if err := s2.ResumeAt([]byte(`{"offset":1000}`)); err == nil {
		t.Fatal("ResumeAt beyond the committed data accepted")
	}
}

func TestSinkRefusesUpsert(t *testing.T) {
	t.Parallel()
	_, err := OpenSink(SinkOptions{Path: filepath.Join(t.TempDir(), "x"), Mode: connector.Upsert})
	if !errors.Is(err, connector.ErrUnsupported) {
		t.Fatalf("upsert: %v", err)
	}
}

func TestLineReaderCapsLines(t *testing.T) {
	t.Parallel()
	in := "short\n" + strings.Repeat("x", 600<<10) + "\nafter\r\nlast"
	lr := NewLineReader(strings.NewReader(in), 1024)
	var got []string
	for {
		l, tooLong, err := lr.Next()
		if err != nil {
			break
		}
		if tooLong {
			got = append(got, "<too long>")
			continue
		}
		got = append(got, string(l))
	}
	if strings.Join(got, "|") != "short|<too long>|after|last" || lr.Line != 4 || lr.Off != int64(len(in)) {
		t.Fatalf("lines %q, line %d, offset %d", got, lr.Line, lr.Off)
	}
}

// A process that died inside Close after the rename resumes from the renamed file.
func TestSinkResumeAfterRename(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "o.txt")
	s, err := OpenSink(SinkOptions{Path: p, Name: "o.txt", Mode: connector.Overwrite, RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("a\n"))
	s.Commit()
	s.Write([]byte("b\n"))
	s.w.Flush()
	// Close got as far as the rename, then the process died before removing the commit record.
	if err := os.Rename(s.file, p); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenSink(SinkOptions{Path: p, Name: "o.txt", Mode: connector.Overwrite, RunID: "r", Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	s2.Write([]byte("b\n"))
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); got != "a\nb\n" {
		t.Fatalf("got %q", got)
	}
	// A file cut below its last commit is refused, not padded.
	s3, _ := OpenSink(SinkOptions{Path: p, Name: "o.txt", Mode: connector.Append, RunID: "q"})
	s3.Write([]byte("c\n"))
	s3.Commit()
	os.Truncate(p, 2)
	if _, err := OpenSink(SinkOptions{Path: p, Name: "o.txt", Mode: connector.Append, RunID: "q", Resume: true}); err == nil || !strings.Contains(err.Error(), "committed data was lost") {
		t.Fatalf("short file: %v", err)
	}
}
