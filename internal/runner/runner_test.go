package runner

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/record"
)

var ctx = context.Background()

func rejects(from, to int64) []record.Reject {
	var out []record.Reject
	for i := from; i <= to; i++ {
		out = append(out, record.Reject{Node: "orders", Source: "in.csv", Pos: i, Reason: "bad", Raw: "x,y"})
	}
	return out
}

// A resumed sink is cut back to the checkpoint's token: nothing is written twice, in either format.
func TestFileSinkResumesAtItsToken(t *testing.T) {
	t.Parallel()
	for _, ext := range []string{".ndjson", ".csv"} {
		t.Run(ext, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "dl"+ext)
			s := NewFileSink(path)
			if err := s.Put(ctx, rejects(1, 2)); err != nil {
				t.Fatal(err)
			}
			tok, err := s.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, rejects(3, 3)); err != nil { // lost with the crash
				t.Fatal(err)
			}
			_ = s.f.Close()

			s2 := NewFileSink(path)
			if err := s2.ResumeAt(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if err := s2.Put(ctx, rejects(3, 4)); err != nil {
				t.Fatal(err)
			}
			if err := s2.Close(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			if ext == ".csv" {
				recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(DeadLetterCSVHeader, recs[0]); diff != "" {
					t.Errorf("header (-want +got):\n%s", diff)
				}
				for _, r := range recs[1:] {
					lines = append(lines, r[2])
				}
			} else {
				for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
					lines = append(lines, l[strings.Index(l, `"line":`)+7:strings.Index(l, `,"reason"`)])
				}
			}
			if diff := cmp.Diff([]string{"1", "2", "3", "4"}, lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s\n%s", diff, b)
			}
			if s2.Rows() != 4 {
				t.Errorf("Rows = %d, want 4", s2.Rows())
			}
		})
	}
}

func TestFileSinkWithoutRowsLeavesNoFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dl.ndjson")
	s := NewFileSink(path)
	if _, err := s.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("empty dead-letter file left behind: %v", err)
	}
}

func TestDeadLetterCSV(t *testing.T) {
	t.Parallel()
	got := FromReject(record.Reject{Node: "n", Source: "s", Pos: 7, Field: "f", Raw: "r", Values: map[string]string{"a": "1"}}).CSV()
	if diff := cmp.Diff([]string{"n", "s", "7", "f", "rejected", "r", `{"a":"1"}`}, got); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}

func TestFileCheckpointer(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state", "p.json")
	c := &FileCheckpointer{Path: path}
	if cp, err := c.Load(ctx); cp != nil || err != nil {
		t.Fatalf("Load without a file = %v, %v", cp, err)
	}
	if err := c.Save(ctx, &engine.Checkpoint{Version: 1, RunID: "r1"}); err != nil {
		t.Fatal(err)
	}
	if cp, err := c.Load(ctx); err != nil || cp.RunID != "r1" {
		t.Fatalf("Load = %+v, %v", cp, err)
	}
	if cp, err := (&FileCheckpointer{Path: path, Fresh: true}).Load(ctx); cp != nil || err != nil {
		t.Fatalf("Fresh Load = %v, %v", cp, err)
	}
	if err := os.WriteFile(path, []byte("{broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Load(ctx); err == nil || !strings.Contains(err.Error(), "--fresh") {
		t.Fatalf("damaged state file: %v", err)
	}
}

func TestRateMeter(t *testing.T) {
	t.Parallel()
	var m RateMeter
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at    time.Duration
		rows  int64
		rate  float64
		fresh bool
	}{
		{0, 0, 0, false},
		{500 * time.Millisecond, 500, 0, false},
		{2 * time.Second, 4000, 2000, true},
		{2500 * time.Millisecond, 9000, 2000, false},
		{3 * time.Second, 10000, 6000, true},
	}
	for _, s := range steps {
		rate, fresh := m.Update(t0.Add(s.at), s.rows)
		if rate != s.rate || fresh != s.fresh {
			t.Errorf("at %s: rate %v fresh %v, want %v %v", s.at, rate, fresh, s.rate, s.fresh)
		}
	}
}

func TestReporterRefusesUnknownMode(t *testing.T) {
	t.Parallel()
	if _, err := NewReporter(&bytes.Buffer{}, "fancy"); err == nil || !strings.Contains(err.Error(), `"fancy"`) {
		t.Fatalf("err = %v", err)
	}
	var out bytes.Buffer
	p, err := NewReporter(&out, "plain")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(0, 0)
	p.now = func() time.Time { return now }
	p.Update(engine.Progress{RowsRead: 0})
	now = now.Add(2 * time.Second)
	p.Update(engine.Progress{RowsRead: 4000, RowsWritten: 3900})
	if !strings.Contains(out.String(), "read 4000 rows (2.0k rows/s), written 3900") {
		t.Fatalf("plain progress = %q", out.String())
	}
}
