package runner

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/record"
)

// DeadLetter is a rejected row as the CLI writes it and the API serves it. Node is the pipeline node
// that rejected it; Source is where the row came from (the file, table or stream its reader names,
// else the source node's configured path or id); Line is its line or row number there (0: unknown).
type DeadLetter struct {
	// ID is the dead letter's id in the metadata store (API downloads; what a replay's edits name).
	ID     int64             `json:"id,omitempty"`
	Node   string            `json:"node,omitempty"`
	Source string            `json:"source,omitempty"`
	Line   int64             `json:"line,omitempty"`
	Field  string            `json:"field,omitempty"`
	Reason string            `json:"reason"`
	Raw    string            `json:"raw,omitempty"`
	Values map[string]string `json:"values,omitempty"`
}

// FromReject is the dead letter of a row the engine rejected.
func FromReject(r record.Reject) DeadLetter {
	reason := r.Reason
	if reason == "" {
		reason = "rejected"
	}
	return DeadLetter{Node: r.Node, Source: r.Source, Line: r.Pos, Field: r.Field, Reason: reason, Raw: r.Raw, Values: r.Values}
}

// DeadLetterCSVHeader is the header row of a dead-letter CSV.
var DeadLetterCSVHeader = []string{"node", "source", "line", "field", "reason", "raw", "values"}

// CSV is the dead letter as a CSV row under DeadLetterCSVHeader (values as a JSON object).
func (d DeadLetter) CSV() []string {
	vals, line := "", ""
	if len(d.Values) > 0 {
		b, _ := json.Marshal(d.Values)
		vals = string(b)
	}
	if d.Line > 0 {
		line = strconv.FormatInt(d.Line, 10)
	}
	return []string{d.Node, d.Source, line, d.Field, d.Reason, d.Raw, vals}
}

// FileSink writes dead letters to an NDJSON file, or a CSV file when the path ends in .csv. The file
// is started afresh by the first Put or Commit of a new run; a resumed run is rewound to the
// checkpoint's byte offset instead, so no dead letter is written twice. Close removes the file when
// the run wrote no dead letter.
type FileSink struct {
	path    string
	csv     bool
	f       *os.File
	started bool
	off     int64
	rows    int64
	buf     []byte
}

var _ engine.ResumableSink = (*FileSink)(nil)

// NewFileSink returns a sink writing to path (created with its directory on first use).
func NewFileSink(path string) *FileSink {
	return &FileSink{path: path, csv: strings.EqualFold(filepath.Ext(path), ".csv")}
}

// Path is the file the sink writes.
func (s *FileSink) Path() string { return s.path }

// Rows is the number of dead letters in the file.
func (s *FileSink) Rows() int64 { return s.rows }

func (s *FileSink) open(truncate bool) error {
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

func (s *FileSink) start() error {
	if s.started {
		return nil
	}
	return s.open(true)
}

type fileSinkToken struct {
	Offset int64 `json:"offset"`
	Rows   int64 `json:"rows"`
}

// ResumeAt cuts the file back to the commit token of the checkpoint a run resumes from.
func (s *FileSink) ResumeAt(_ context.Context, tok json.RawMessage) error {
	var st fileSinkToken
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

// Put appends the rejected rows.
func (s *FileSink) Put(_ context.Context, rejects []record.Reject) error {
	if err := s.start(); err != nil {
		return err
	}
	s.buf = s.buf[:0]
	if s.csv {
		var sb strings.Builder
		w := csv.NewWriter(&sb)
		if s.off == 0 && s.rows == 0 {
			_ = w.Write(DeadLetterCSVHeader)
		}
		for _, r := range rejects {
			_ = w.Write(FromReject(r).CSV())
		}
		w.Flush()
		s.buf = append(s.buf, sb.String()...)
	} else {
		for _, r := range rejects {
			b, err := json.Marshal(FromReject(r))
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

// Commit syncs the file and returns its length and row count as the token.
func (s *FileSink) Commit(context.Context) (json.RawMessage, error) {
	if err := s.start(); err != nil {
		return nil, err
	}
	if err := s.f.Sync(); err != nil {
		return nil, fmt.Errorf("dead-letter file: %w", err)
	}
	return json.Marshal(fileSinkToken{Offset: s.off, Rows: s.rows})
}

// Close closes the file and removes it when the run wrote no dead letters.
func (s *FileSink) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	if s.rows == 0 {
		_ = os.Remove(s.path)
	}
	return err
}
