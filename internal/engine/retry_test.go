package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// flakyConn is gen with injected failures: the first failOpens Opens fail with err (ErrTransient
// unless set), and the reader's Next fails once with ErrTransient when it reaches row failAt. Its
// readers are Ackers that record what they are acknowledged with.
type flakyConn struct {
	genConn
	mu        sync.Mutex
	failOpens int
	err       error
	failAt    int64
	failed    bool
	opens     int
	states    []json.RawMessage // the state each Open got
	acks      []json.RawMessage
	ackCheck  func(state json.RawMessage) // called by Ack (asserts the checkpoint is already saved)
	onFail    chan struct{}               // receives after each failed Open, when set
	noState   bool                        // the reader has no position (State is nil)
}

func (f *flakyConn) Spec() connector.Spec {
	return connector.Spec{Name: "flaky", Source: true, Config: genSpec}
}

func (f *flakyConn) Open(ctx context.Context, env connector.Env, cfg map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	f.mu.Lock()
	f.opens++
	f.states = append(f.states, req.State)
	fail := f.opens <= f.failOpens
	f.mu.Unlock()
	if fail {
		if f.onFail != nil {
			f.onFail <- struct{}{}
		}
		err := f.err
		if err == nil {
			err = fmt.Errorf("connection refused: %w", connector.ErrTransient)
		}
		return nil, err
	}
	rd, err := f.genConn.Open(ctx, env, cfg, req)
	if err != nil {
		return nil, err
	}
	return &flakyReader{genReader: rd.(*genReader), c: f}, nil
}

type flakyReader struct {
	*genReader
	c *flakyConn
}

func (r *flakyReader) Next(ctx context.Context) (*record.Batch, error) {
	r.c.mu.Lock()
	fail := r.c.failAt > 0 && !r.c.failed && r.next >= r.c.failAt
	if fail {
		r.c.failed = true
	}
	r.c.mu.Unlock()
	if fail {
		r.next += 7 // a broken reader's position is garbage: the engine must not keep using it
		return nil, fmt.Errorf("connection reset: %w", connector.ErrTransient)
	}
	return r.genReader.Next(ctx)
}

func (r *flakyReader) State() (json.RawMessage, error) {
	if r.c.noState {
		return nil, nil
	}
	return r.genReader.State()
}

func (r *flakyReader) Ack(_ context.Context, state json.RawMessage) error {
	r.c.mu.Lock()
	r.c.acks = append(r.c.acks, state)
	check := r.c.ackCheck
	r.c.mu.Unlock()
	if check != nil {
		check(state)
	}
	return nil
}

// flakyDest is mem whose first failOpens OpenWriters fail with ErrTransient.
type flakyDest struct {
	memConn
	mu        sync.Mutex
	failOpens int
	opens     int
}

func (d *flakyDest) Spec() connector.Spec {
	s := d.memConn.Spec()
	s.Name = "flakydest"
	return s
}

func (d *flakyDest) OpenWriter(ctx context.Context, env connector.Env, cfg map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	d.mu.Lock()
	d.opens++
	fail := d.opens <= d.failOpens
	d.mu.Unlock()
	if fail {
		return nil, fmt.Errorf("too many connections: %w", connector.ErrTransient)
	}
	return d.memConn.OpenWriter(ctx, env, cfg, req)
}

func retrySetup(t *testing.T, src *flakyConn, dst *flakyDest) (*fixture, func(spec string) *pipeline.Plan) {
	t.Helper()
	f := &fixture{db: &memDB{tables: map[string][]record.Row{}}}
	dst.memConn = memConn{f.db}
	cr, err := connector.NewRegistry(src, dst, memConn{f.db})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	f.env = pipeline.Env{Connectors: cr, Transforms: tr}
	return f, func(spec string) *pipeline.Plan { return f.plan(t, spec) }
}

const flakySpec = `version: 1
name: flaky
sources: [{id: src, type: flaky, config: {rows: 1000}}]
destinations: [{id: out, type: flakydest, inputs: [src], config: {table: t}}]
`

var fastRetry = Retry{Attempts: 3, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}

func TestTransientFailuresAreRetried(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			t.Parallel()
			src := &flakyConn{failOpens: 2, failAt: 450}
			dst := &flakyDest{failOpens: 2}
			f, plan := retrySetup(t, src, dst)
			res, err := Run(context.Background(), plan(flakySpec), Options{BatchSize: 100, Workers: workers, Retry: fastRetry})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(seq(1, 1000, nil), ids(f.table("t"))); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if got := stat(res, "src").Out; got != 1000 {
				t.Errorf("source out = %d, want 1000", got)
			}
			// Two failed opens, the open that worked, and the reopen after the failed Next at the state
			// after the last batch returned (row 500: batches of 100, failAt 450 is seen at next = 500).
			if src.opens != 4 || dst.opens != 3 {
				t.Errorf("source opened %d times (want 4), destination %d (want 3)", src.opens, dst.opens)
			}
			if got := string(src.states[3]); got != `{"Next":500}` {
				t.Errorf("reopened at state %s, want {\"Next\":500}", got)
			}
		})
	}
}

func TestRetriesAreBounded(t *testing.T) {
	t.Parallel()
	src := &flakyConn{failOpens: 100}
	_, plan := retrySetup(t, src, &flakyDest{})
	_, err := Run(context.Background(), plan(flakySpec), Options{Retry: fastRetry})
	if err == nil || !errors.Is(err, connector.ErrTransient) || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("err = %v, want the transient error after 3 attempts", err)
	}
	if src.opens != 3 {
		t.Errorf("opened %d times, want 3", src.opens)
	}
}

func TestOtherErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	src := &flakyConn{failOpens: 100, err: connector.ConfigError(errors.New("host: must not be empty"))}
	_, plan := retrySetup(t, src, &flakyDest{})
	_, err := Run(context.Background(), plan(flakySpec), Options{Retry: fastRetry})
	if !errors.Is(err, connector.ErrConfig) {
		t.Fatalf("err = %v, want the config error", err)
	}
	if src.opens != 1 {
		t.Errorf("opened %d times, want 1", src.opens)
	}
}

func TestCancelStopsTheBackoff(t *testing.T) {
	t.Parallel()
	src := &flakyConn{failOpens: 100, onFail: make(chan struct{}, 1)}
	_, plan := retrySetup(t, src, &flakyDest{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-src.onFail
		cancel()
	}()
	done := make(chan error, 1)
	go func() {
		res, err := Run(ctx, plan(flakySpec), Options{Retry: Retry{Attempts: 5, Backoff: time.Hour}})
		if res.Status != Cancelled {
			err = fmt.Errorf("status %s: %w", res.Status, err)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run still waits an hour-long backoff after its context was cancelled")
	}
}

func TestAckAfterTheCheckpointIsSaved(t *testing.T) {
	t.Parallel()
	src := &flakyConn{}
	f, plan := retrySetup(t, src, &flakyDest{})
	cp := &memCheckpointer{}
	var bad []string
	src.ackCheck = func(state json.RawMessage) {
		cp.mu.Lock()
		defer cp.mu.Unlock()
		if cp.cp == nil || string(cp.cp.Sources["src"]) != string(state) {
			bad = append(bad, string(state))
		}
	}
	res, err := Run(context.Background(), plan(flakySpec), Options{BatchSize: 100, CommitRows: 300, Checkpointer: cp})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(f.table("t")) != 1000 {
		t.Fatalf("wrote %d rows", len(f.table("t")))
	}
	if len(bad) > 0 {
		t.Errorf("acknowledged states that were not the saved checkpoint's: %v", bad)
	}
	// Every saved checkpoint with a source state is acknowledged, the final one included.
	last := string(src.acks[len(src.acks)-1])
	if last != `{"Next":1000}` || len(src.acks) < res.Checkpoints {
		t.Errorf("acks = %d (last %s), checkpoints %d; want one per checkpoint ending at {\"Next\":1000}", len(src.acks), last, res.Checkpoints)
	}
}

// A reader without a position cannot be reopened where it stopped: its transient failure fails the
// run instead of reading rows twice.
func TestTransientReadWithoutPositionIsNotRetried(t *testing.T) {
	t.Parallel()
	src := &flakyConn{failAt: 450, noState: true}
	_, plan := retrySetup(t, src, &flakyDest{})
	_, err := Run(context.Background(), plan(flakySpec), Options{BatchSize: 100, Retry: fastRetry})
	if !errors.Is(err, connector.ErrTransient) || !strings.Contains(err.Error(), "no position to reopen at") {
		t.Fatalf("err = %v, want the transient error, not retried", err)
	}
	if src.opens != 1 {
		t.Errorf("opened %d times, want 1", src.opens)
	}
}
