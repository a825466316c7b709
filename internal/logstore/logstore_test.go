package logstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/logstore"
	"github.com/dataaggregator/aggregator/internal/store"
)

// sink records the batches it receives; when gate is set, each append waits for it.
type sink struct {
	mu      sync.Mutex
	batches [][]store.ServerLog
	gate    chan struct{}
	entered chan struct{}
	fail    error
}

func (s *sink) AppendServerLogs(ctx context.Context, entries []store.ServerLog) error {
	if s.entered != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.batches = append(s.batches, append([]store.ServerLog(nil), entries...))
	return nil
}

func (s *sink) records() []store.ServerLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.ServerLog
	for _, b := range s.batches {
		out = append(out, b...)
	}
	return out
}

func TestFloodDropsWithoutBlocking(t *testing.T) {
	t.Parallel()
	// The store is stuck: the writer holds one batch in flight and the buffer fills.
	sk := &sink{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	w := logstore.NewWriter(logstore.Options{Buffer: 100, BatchSize: 10, FlushInterval: time.Hour, WriteTimeout: time.Minute})
	w.Start(sk)
	for i := 0; i < 10; i++ { // one full batch: the writer takes it and blocks in the sink
		w.Enqueue(store.ServerLog{Level: "info", Message: "first"})
	}
	<-sk.entered
	const flood = 100_000
	kept := 0
	for i := 0; i < flood; i++ { // returns although nothing drains: Enqueue never blocks
		if w.Enqueue(store.ServerLog{Level: "info", Message: "flood"}) {
			kept++
		}
	}
	st := w.Stats()
	if kept != 100 || st.Dropped != flood-100 || st.Buffered != 100 || st.Capacity != 100 {
		t.Fatalf("kept %d, stats %+v; want the buffer (100) kept and %d dropped", kept, st, flood-100)
	}
	close(sk.gate) // the store recovers: everything kept is written
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(sk.records()); n != 110 {
		t.Fatalf("stored %d records, want 110", n)
	}
	if st := w.Stats(); st.Written != 110 || st.Dropped != flood-100 || st.Failed != 0 {
		t.Fatalf("stats after close: %+v", st)
	}
}

func TestBatching(t *testing.T) {
	t.Parallel()
	sk := &sink{}
	w := logstore.NewWriter(logstore.Options{Buffer: 1000, BatchSize: 7, FlushInterval: time.Hour})
	for i := 0; i < 30; i++ { // enqueued before Start: they wait in the buffer
		w.Enqueue(store.ServerLog{Level: "info", Message: "m"})
	}
	w.Start(sk)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	sizes := []int{}
	for _, b := range sk.batches {
		sizes = append(sizes, len(b))
		if len(b) > 7 {
			t.Errorf("batch of %d > BatchSize 7", len(b))
		}
	}
	if len(sk.records()) != 30 || len(sk.batches) != 5 {
		t.Fatalf("batches %v, want 30 records in 5 batches (7,7,7,7,2)", sizes)
	}
}

func TestFlushInterval(t *testing.T) {
	t.Parallel()
	sk := &sink{entered: make(chan struct{}, 1)}
	w := logstore.NewWriter(logstore.Options{BatchSize: 100, FlushInterval: 10 * time.Millisecond})
	w.Start(sk)
	defer w.Close(context.Background())
	w.Enqueue(store.ServerLog{Level: "info", Message: "lonely"})
	select { // a record that fills no batch is still written after the interval
	case <-sk.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("a lone record was not flushed")
	}
}

func TestFailedBatchIsCounted(t *testing.T) {
	t.Parallel()
	var errLog bytes.Buffer
	sk := &sink{fail: errors.New("disk full")}
	w := logstore.NewWriter(logstore.Options{BatchSize: 5, Logger: slog.New(slog.NewTextHandler(&errLog, nil))})
	w.Start(sk)
	for i := 0; i < 5; i++ {
		w.Enqueue(store.ServerLog{Level: "info", Message: "m"})
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Failed != 5 || st.Written != 0 {
		t.Fatalf("stats %+v, want 5 failed", st)
	}
	if !strings.Contains(errLog.String(), "disk full") {
		t.Fatalf("the failure is not reported: %q", errLog.String())
	}
}

type redactingConfig struct{ Password string }

func (c redactingConfig) LogValue() slog.Value { return slog.StringValue("password=[REDACTED]") }

func TestHandlerRecords(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	sk := &sink{}
	w := logstore.NewWriter(logstore.Options{})
	type ctxKey struct{}
	reqFn := func(ctx context.Context) (string, string) {
		if v, ok := ctx.Value(ctxKey{}).(string); ok {
			return v, "alice"
		}
		return "", ""
	}
	log := slog.New(logstore.NewHandler(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}), w, reqFn))
	ctx := context.WithValue(context.Background(), ctxKey{}, "req-42")

	log.DebugContext(ctx, "below the level") // not stored: the process level applies
	log.With("component", "runs").InfoContext(ctx, "run queued", "run_id", "run-9", "attempt", 2,
		"config", redactingConfig{Password: "hunter2"}, "db_password", "hunter2", "token", "abc", "error", errors.New("boom"))
	log.WithGroup("http").Warn("slow", "duration", time.Second, "api_key", "k")
	w.Start(sk)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := sk.records()
	if len(recs) != 2 {
		t.Fatalf("stored %d records, want 2: %+v", len(recs), recs)
	}
	r := recs[0]
	if r.Level != "info" || r.Component != "runs" || r.RunID != "run-9" || r.RequestID != "req-42" || r.User != "alice" || r.Message != "run queued" {
		t.Errorf("columns: %+v", r)
	}
	var attrs map[string]any
	if err := json.Unmarshal(r.Attrs, &attrs); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"attempt": float64(2), "config": "password=[REDACTED]", "db_password": logstore.Redacted,
		"token": logstore.Redacted, "error": "boom"}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("attrs[%s] = %v, want %v", k, attrs[k], v)
		}
	}
	for _, rec := range recs {
		if strings.Contains(string(rec.Attrs), "hunter2") || strings.Contains(string(rec.Attrs), `"abc"`) {
			t.Errorf("a secret was stored: %s", rec.Attrs)
		}
	}
	g := recs[1]
	if err := json.Unmarshal(g.Attrs, &attrs); err != nil {
		t.Fatal(err)
	}
	if g.Level != "warn" || attrs["http.duration"] != "1s" || attrs["http.api_key"] != logstore.Redacted || g.RequestID != "" {
		t.Errorf("grouped record: %+v %s", g, g.Attrs)
	}
	if !strings.Contains(out.String(), "run queued") || strings.Contains(out.String(), "below the level") {
		t.Errorf("the process log is unchanged: %s", out.String())
	}
}

func TestHandlerBoundsRecords(t *testing.T) {
	t.Parallel()
	sk := &sink{}
	w := logstore.NewWriter(logstore.Options{})
	log := slog.New(logstore.NewHandler(slog.NewJSONHandler(io.Discard, nil), w, nil))
	args := []any{}
	for i := 0; i < 100; i++ {
		args = append(args, strings.Repeat("k", i+1), strings.Repeat("v", 5000))
	}
	log.Error(strings.Repeat("é", 10000), args...)
	w.Start(sk)
	_ = w.Close(context.Background())
	r := sk.records()[0]
	var attrs map[string]string
	if err := json.Unmarshal(r.Attrs, &attrs); err != nil {
		t.Fatal(err)
	}
	if len(r.Message) > logstore.MaxMessage+3 || len(attrs) != logstore.MaxAttrs {
		t.Fatalf("message %d bytes, %d attrs", len(r.Message), len(attrs))
	}
	for k, v := range attrs {
		if len(v) > logstore.MaxAttrValue+3 {
			t.Fatalf("attr %s is %d bytes", k, len(v))
		}
	}
}
