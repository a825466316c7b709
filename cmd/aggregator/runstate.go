package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/record"
)

// fileCheckpointer keeps the CLI's checkpoints in a JSON state file, replaced atomically (write a
// temporary file, fsync, rename).
type fileCheckpointer struct {
	path  string
	fresh bool // ignore what the file holds (--fresh)
}

func (f *fileCheckpointer) Load(context.Context) (*engine.Checkpoint, error) {
	if f.fresh {
		return nil, nil
	}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cp engine.Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("state file %s is damaged (%v); run with --fresh to start over", f.path, err)
	}
	return &cp, nil
}

func (f *fileCheckpointer) Save(_ context.Context, cp *engine.Checkpoint) error {
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), "."+filepath.Base(f.path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f.path)
}

// fileSink writes dead letters to an NDJSON or CSV file. The file is started afresh by the first
// Put or Commit of a new run; a resumed run is rewound to the checkpoint's byte offset instead, so no
// dead letter is written twice.
type fileSink struct {
	path    string
	csv     bool
	f       *os.File
	started bool
	off     int64
	rows    int64
	buf     []byte
}

func newFileSink(path string) *fileSink {
	return &fileSink{path: path, csv: strings.EqualFold(filepath.Ext(path), ".csv")}
}

var deadLetterCSVHeader = []string{"node", "source", "line", "field", "reason", "raw", "values"}

func (s *fileSink) open(truncate bool) error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	flag := os.O_RDWR | os.O_CREATE
	if truncate {
		flag |= os.O_TRUNC
	}
	f, err := os.OpenFile(s.path, flag, 0o644)
	if err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	s.f, s.started = f, true
	return nil
}

func (s *fileSink) start() error {
	if s.started {
		return nil
	}
	return s.open(true)
}

func (s *fileSink) ResumeAt(_ context.Context, tok json.RawMessage) error {
	var st struct {
		Offset int64 `json:"offset"`
		Rows   int64 `json:"rows"`
	}
	if err := json.Unmarshal(tok, &st); err != nil {
		return fmt.Errorf("dead-letter token: %w", err)
	}
	if err := s.open(false); err != nil {
		return err
	}
	if err := s.f.Truncate(st.Offset); err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	s.off, s.rows = st.Offset, st.Rows
	return nil
}

func (s *fileSink) Put(_ context.Context, rejects []record.Reject) error {
	if err := s.start(); err != nil {
		return err
	}
	s.buf = s.buf[:0]
	if s.csv {
		var sb strings.Builder
		w := csv.NewWriter(&sb)
		if s.off == 0 && s.rows == 0 {
			_ = w.Write(deadLetterCSVHeader)
		}
		for _, r := range rejects {
			vals := ""
			if len(r.Values) > 0 {
				b, _ := json.Marshal(r.Values)
				vals = string(b)
			}
			line := ""
			if r.Pos > 0 {
				line = strconv.FormatInt(r.Pos, 10)
			}
			_ = w.Write([]string{r.Node, r.Source, line, r.Field, r.Reason, r.Raw, vals})
		}
		w.Flush()
		s.buf = append(s.buf, sb.String()...)
	} else {
		for _, r := range rejects {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			s.buf = append(append(s.buf, b...), '\n')
		}
	}
	n, err := s.f.WriteAt(s.buf, s.off)
	s.off += int64(n)
	s.rows += int64(len(rejects))
	if err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	return nil
}

func (s *fileSink) Commit(context.Context) (json.RawMessage, error) {
	if err := s.start(); err != nil {
		return nil, err
	}
	if err := s.f.Sync(); err != nil {
		return nil, fmt.Errorf("dead-letter file: %w", err)
	}
	return json.Marshal(map[string]int64{"offset": s.off, "rows": s.rows})
}

// Close closes the file and removes it when the run wrote no dead letters.
func (s *fileSink) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	if s.rows == 0 {
		_ = os.Remove(s.path)
	}
	return err
}
