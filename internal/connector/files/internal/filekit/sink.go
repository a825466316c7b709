package filekit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dataaggregator/aggregator/internal/connector"
)

// SinkOptions configure a Sink.
type SinkOptions struct {
	Path   string // the destination file (already confined)
	Name   string // what errors call it
	Mode   connector.WriteMode
	RunID  string
	Resume bool
	// Tail finds, in an existing file opened for append, the offset new records go to (before a
	// footer such as "]") and whether it already holds records. Nil: at the end, records if not empty.
	Tail func(f *os.File, size int64) (offset int64, records bool, err error)
	// Footer is written after the records at every Commit and at Close, so that the file is complete
	// (a JSON array's "]") whenever it is durable; the next Write overwrites it.
	Footer []byte
}

// commitPoint is what a Commit made durable; it is the sidecar's content and the CommitState token.
type commitPoint struct {
	Offset   int64 `json:"offset"`
	Records  int64 `json:"records"`
	Existing bool  `json:"existing,omitempty"` // the file held records before this run (append)
}

// Sink writes one destination file atomically and resumably.
//
// Overwrite writes to ".<name>.<run id>.tmp" beside the file and renames it over the file on Close;
// Abort removes it, leaving the old file intact. Append writes to the file itself. Commit flushes,
// writes the footer, fsyncs, and records the committed offset and record count in the sidecar
// ".<name>.<run id>.commit" (written atomically). A sink opened with Resume and the same run id finds
// the sidecar and truncates its file to the committed offset, so rows written after the last Commit
// disappear; ResumeAt rewinds further, to an earlier commit named by a CommitState token.
type Sink struct {
	opt       SinkOptions
	f         *os.File
	w         *bufio.Writer
	file      string // the file written: the temp file (overwrite) or the file itself (append)
	side      string
	off       int64 // logical end: committed plus pending bytes
	records   int64 // records written, committed or not
	existing  bool
	committed commitPoint
	wrote     bool
	done      bool
}

// OpenSink opens the destination file for a run.
func OpenSink(opt SinkOptions) (*Sink, error) {
	if opt.Mode != connector.Append && opt.Mode != connector.Overwrite {
		return nil, fmt.Errorf("write mode %q: %w (file destinations support append and overwrite)", opt.Mode, connector.ErrUnsupported)
	}
	if opt.RunID == "" {
		opt.RunID = "run"
	}
	dir, base := filepath.Dir(opt.Path), filepath.Base(opt.Path)
	s := &Sink{opt: opt, side: filepath.Join(dir, "."+base+"."+safe(opt.RunID)+".commit")}
	var prev *commitPoint
	if opt.Resume {
		if b, err := os.ReadFile(s.side); err == nil {
			var cp commitPoint
			if err := json.Unmarshal(b, &cp); err != nil {
				return nil, fmt.Errorf("%s: commit record %s is corrupt: %w", opt.Name, s.side, err)
			}
			prev = &cp
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: read commit record: %w", opt.Name, err)
		}
	}
	var err error
	switch opt.Mode {
	case connector.Overwrite:
		s.file = filepath.Join(dir, "."+base+"."+safe(opt.RunID)+".tmp")
		flags := os.O_RDWR | os.O_CREATE
		if prev == nil {
			flags |= os.O_TRUNC
		} else if _, err := os.Stat(s.file); errors.Is(err, fs.ErrNotExist) {
			// The previous process died inside Close, after the rename: the file holds what was
			// committed; start the temp file again from it.
			if err := copyPrefix(opt.Path, s.file, prev.Offset); err != nil {
				return nil, fmt.Errorf("%s: resume: the temp file is gone and the file cannot stand in for it: %w", opt.Name, err)
			}
		}
		s.f, err = os.OpenFile(s.file, flags, 0o644)
		if err != nil {
			return nil, fmt.Errorf("%s: create temp file: %w", opt.Name, err)
		}
		if prev != nil {
			s.committed = *prev
		}
	case connector.Append:
		s.file = opt.Path
		s.f, err = os.OpenFile(s.file, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("%s: open: %w", opt.Name, err)
		}
		if prev != nil {
			s.committed = *prev
		} else {
			st, err := s.f.Stat()
			if err != nil {
				s.f.Close()
				return nil, fmt.Errorf("%s: %w", opt.Name, err)
			}
			s.committed = commitPoint{Offset: st.Size(), Existing: st.Size() > 0}
			if st.Size() > 0 && opt.Tail != nil {
				off, recs, err := opt.Tail(s.f, st.Size())
				if err != nil {
					s.f.Close()
					return nil, fmt.Errorf("%s: cannot append: %w", opt.Name, err)
				}
				s.committed = commitPoint{Offset: off, Existing: recs}
			}
		}
	}
	if st, err := s.f.Stat(); err != nil || st.Size() < s.committed.Offset {
		s.f.Close()
		return nil, fmt.Errorf("%s: resume: the file is shorter than its last commit (%d bytes): committed data was lost", opt.Name, s.committed.Offset)
	}
	if err := s.rewind(s.committed); err != nil {
		s.f.Close()
		return nil, err
	}
	s.w = bufio.NewWriterSize(s.f, 256<<10)
	// The sidecar exists from the start, so a resumed run always knows where this one began.
	if err := s.writeSide(); err != nil {
		s.f.Close()
		return nil, err
	}
	return s, nil
}

func safe(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// rewind truncates the file to a commit point and positions writing there.
func (s *Sink) rewind(cp commitPoint) error {
	if err := s.f.Truncate(cp.Offset); err != nil {
		return fmt.Errorf("%s: truncate to %d: %w", s.opt.Name, cp.Offset, err)
	}
	if _, err := s.f.Seek(cp.Offset, 0); err != nil {
		return fmt.Errorf("%s: seek: %w", s.opt.Name, err)
	}
	s.off, s.records, s.existing, s.committed = cp.Offset, cp.Records, cp.Existing, cp
	return nil
}

// Offset is the logical end of the output (committed and pending bytes).
func (s *Sink) Offset() int64 { return s.off }

// HasRecords reports whether the file holds records before the next one (for separators).
func (s *Sink) HasRecords() bool { return s.existing || s.records > 0 }

// Write appends bytes to the output.
func (s *Sink) Write(p []byte) (int, error) {
	s.wrote = true
	n, err := s.w.Write(p)
	s.off += int64(n)
	if err != nil {
		return n, fmt.Errorf("%s: write: %w", s.opt.Name, err)
	}
	return n, nil
}

// Record counts one record written.
func (s *Sink) Record() { s.records++ }

// Commit makes everything written so far durable: flush, footer, fsync, sidecar.
func (s *Sink) Commit() error {
	if err := s.flushFooter(); err != nil {
		return err
	}
	s.committed = commitPoint{Offset: s.off, Records: s.records, Existing: s.existing}
	return s.writeSide()
}

func (s *Sink) flushFooter() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("%s: write: %w", s.opt.Name, err)
	}
	if len(s.opt.Footer) > 0 {
		if _, err := s.f.WriteAt(s.opt.Footer, s.off); err != nil {
			return fmt.Errorf("%s: write: %w", s.opt.Name, err)
		}
	}
	if err := s.f.Truncate(s.off + int64(len(s.opt.Footer))); err != nil {
		return fmt.Errorf("%s: truncate: %w", s.opt.Name, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("%s: fsync: %w", s.opt.Name, err)
	}
	return nil
}

func (s *Sink) writeSide() error {
	b, _ := json.Marshal(s.committed)
	tmp := s.side + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("%s: commit record: %w", s.opt.Name, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.side)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: commit record: %w", s.opt.Name, err)
	}
	return nil
}

// CommitState is the token for the last Commit (see connector.ResumableWriter).
func (s *Sink) CommitState() (json.RawMessage, error) {
	return json.Marshal(s.committed)
}

// ResumeAt rewinds to the commit a CommitState token names; it must come before any Write.
func (s *Sink) ResumeAt(token json.RawMessage) error {
	if s.wrote {
		return fmt.Errorf("%s: ResumeAt after Write", s.opt.Name)
	}
	var cp commitPoint
	if err := json.Unmarshal(token, &cp); err != nil {
		return fmt.Errorf("%s: bad resume token %q: %w", s.opt.Name, token, err)
	}
	if cp.Offset > s.committed.Offset {
		return fmt.Errorf("%s: resume token offset %d is beyond the committed %d: the file lost committed data", s.opt.Name, cp.Offset, s.committed.Offset)
	}
	s.w.Reset(s.f)
	if err := s.rewind(cp); err != nil {
		return err
	}
	return s.writeSide()
}

// Close finishes the file: flush, footer, fsync; for overwrite the atomic rename over the old file.
func (s *Sink) Close() error {
	if s.done {
		return nil
	}
	s.done = true
	err := s.flushFooter()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if s.opt.Mode == connector.Overwrite {
		if err := os.Rename(s.file, s.opt.Path); err != nil {
			return fmt.Errorf("%s: replace with the new file: %w", s.opt.Name, err)
		}
		syncDir(filepath.Dir(s.opt.Path))
	}
	os.Remove(s.side)
	return nil
}

// Abort discards what was not committed. Overwrite removes the temp file (the old file stays as it
// was); append truncates the file to the last commit, so committed rows stay with their checkpoint.
func (s *Sink) Abort() error {
	if s.done {
		return nil
	}
	s.done = true
	s.w.Reset(s.f)
	if s.opt.Mode == connector.Overwrite {
		s.f.Close()
		os.Remove(s.side)
		if err := os.Remove(s.file); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: remove temp file: %w", s.opt.Name, err)
		}
		return nil
	}
	err := s.rewind(s.committed)
	if err == nil {
		err = s.flushFooter()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	os.Remove(s.side)
	return err
}

// copyPrefix copies the first n bytes of src into a new file dst.
func copyPrefix(src, dst string, n int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err = io.CopyN(out, in, n); err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
