package runs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
	"github.com/dataaggregator/aggregator/internal/testutil"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// gatedCSV is the CSV connector under the type "slowcsv" whose reader, when block > 0, stops after
// emitting that many rows and waits for its context (a stream that hangs mid-way). It counts the
// rows its readers emitted, so a test can tell a resume from a restart.
type gatedCSV struct {
	inner   *csv.Connector
	block   int64
	emitted *atomic.Int64
}

func newGated(block int64) gatedCSV {
	return gatedCSV{inner: csv.New(), block: block, emitted: &atomic.Int64{}}
}

func (g gatedCSV) Spec() connector.Spec {
	s := g.inner.Spec()
	s.Name = "slowcsv"
	return s
}

func (g gatedCSV) Open(ctx context.Context, env connector.Env, cfg map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	r, err := g.inner.Open(ctx, env, cfg, req)
	if err != nil {
		return nil, err
	}
	return &gatedReader{Reader: r, g: g}, nil
}

type gatedReader struct {
	connector.Reader
	g    gatedCSV
	seen int64
}

func (r *gatedReader) Next(ctx context.Context) (*record.Batch, error) {
	if r.g.block > 0 && r.seen >= r.g.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	b, err := r.Reader.Next(ctx)
	if b != nil {
		r.seen += int64(b.Len())
		r.g.emitted.Add(int64(b.Len()))
	}
	return b, err
}

// backend is a fresh metadata store.
type backend struct {
	dialect store.Dialect
	dsn     string
}

func backends(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, backend{dialect: store.SQLite, dsn: filepath.Join(t.TempDir(), "aggregator.db")})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := testutil.Postgres(t)
		fn(t, backend{dialect: store.Postgres, dsn: pg.URL})
	})
}

func openStore(t testing.TB, b backend) *store.Store {
	t.Helper()
	return storetest.Open(t, store.Options{Dialect: b.dialect, DSN: b.dsn, MaxOpenConns: 4})
}

// env is a run service over a real store, with real file connectors rooted in dir.
type env struct {
	t    *testing.T
	st   *store.Store
	svc  *runs.Service
	disp *runs.River
	dir  string
	gate gatedCSV
}

type setupOptions struct {
	block      int64 // gatedCSV.block
	dir        string
	now        func() time.Time
	commitRows int64
	// lease is the queue's Lease (default: the queue's).
	lease time.Duration
	// noDispatcher builds the service with a queue that never executes anything.
	noDispatcher bool
	// saved resolves saved connectors (none when nil).
	saved runs.SavedConnectors
	// outputDir is the connector Env's OutputDir (the server's DATA_DIR/files).
	outputDir string
	// conns are connectors besides csv and the gated source.
	conns []connector.Connector
	// positionInterval is the service's PositionInterval.
	positionInterval time.Duration
	// commitInterval is the service's CommitInterval (0: the engine's 5 s).
	commitInterval time.Duration
}

// idleQueue accepts runs and leaves them queued.
type idleQueue struct{}

func (idleQueue) Enqueue(context.Context, *store.Tx, store.Run) error { return nil }
func (idleQueue) Cancel(string)                                       {}

// setup builds the service and runs its dispatcher until the test ends.
func setup(t *testing.T, b backend, o setupOptions) *env {
	t.Helper()
	st := openStore(t, b)
	return setupOn(t, st, o)
}

func setupOn(t *testing.T, st *store.Store, o setupOptions) *env {
	t.Helper()
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	gate := newGated(o.block)
	conns, err := connector.NewRegistry(append([]connector.Connector{csv.New(), gate}, o.conns...)...)
	if err != nil {
		t.Fatal(err)
	}
	trs, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	commitRows := o.commitRows
	if commitRows == 0 {
		commitRows = 100
	}
	svc, err := runs.New(runs.Options{
		Store: st, Connectors: conns, Transforms: trs,
		Env:             connector.Env{FileRoots: []string{o.dir}, UploadDir: filepath.Join(o.dir, "uploads"), OutputDir: o.outputDir},
		SavedConnectors: o.saved,
		BatchSize:       50, CommitRows: commitRows,
		ProgressInterval: 20 * time.Millisecond, PositionInterval: o.positionInterval, CommitInterval: o.commitInterval,
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.noDispatcher {
		svc.SetQueue(idleQueue{})
		return &env{t: t, st: st, svc: svc, dir: o.dir, gate: gate}
	}
	disp, err := runs.NewRiver(svc, runs.RiverOptions{Workers: 2, FetchPoll: 50 * time.Millisecond, DrainTimeout: 5 * time.Second,
		Heartbeat: 50 * time.Millisecond, Lease: o.lease, Now: o.now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- disp.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dispatcher: %v", err)
		}
	})
	return &env{t: t, st: st, svc: svc, disp: disp, dir: o.dir, gate: gate}
}

// writeCSV writes rows id,name,amount for ids 1..n to dir/name.
func writeCSV(t testing.TB, dir, name string, n int, extra ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,name,amount\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d,name %d,%d.50\n", i, i, i)
	}
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// createPipeline saves a spec as a pipeline.
func (e *env) createPipeline(name, spec string) store.Pipeline {
	e.t.Helper()
	p, err := e.st.CreatePipeline(context.Background(), store.Pipeline{Name: name, Spec: spec, CreatedBy: "tester"})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// await waits (bounded) for an event on ch that ok accepts.
func await(t *testing.T, ch <-chan runs.Event, what string, ok func(runs.Event) bool) runs.Event {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev, open := <-ch:
			if !open {
				t.Fatalf("event stream closed while waiting for %s", what)
			}
			if ok(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within 60s", what)
		}
	}
}

func terminal(ev runs.Event) bool { return ev.Type == runs.EventStatus && ev.Status.Terminal() }
