package engine

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// markedDB is a transactional destination double: each Commit appends the pending rows and
// replaces the run's marker atomically (connector.MarkedWriter), as the SQL writers do.
type markedDB struct {
	mu      sync.Mutex
	rows    []record.Row
	markers map[string]connector.Marker
}

type markedConn struct{ db *markedDB }

func (markedConn) Spec() connector.Spec {
	return connector.Spec{Name: "marked", Destination: true, WriteModes: []connector.WriteMode{connector.Append},
		Config: configspec.Spec{}}
}

func (c markedConn) OpenWriter(_ context.Context, _ connector.Env, _ map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	return &markedWriter{db: c.db, key: req.RunID + "/" + req.Node}, nil
}

type markedWriter struct {
	db      *markedDB
	key     string
	pending []record.Row
	marker  connector.Marker
}

func (w *markedWriter) Write(_ context.Context, b *record.Batch) error {
	for _, r := range b.Rows {
		w.pending = append(w.pending, append(record.Row(nil), r...))
	}
	return nil
}

func (w *markedWriter) Commit(context.Context) error {
	w.db.mu.Lock()
	defer w.db.mu.Unlock()
	w.db.rows = append(w.db.rows, w.pending...)
	w.db.markers[w.key] = w.marker
	w.pending = nil
	return nil
}

func (w *markedWriter) SetMarker(m connector.Marker) { w.marker = m }

func (w *markedWriter) Committed(context.Context) (connector.Marker, bool, error) {
	w.db.mu.Lock()
	defer w.db.mu.Unlock()
	m, ok := w.db.markers[w.key]
	return m, ok, nil
}

func (w *markedWriter) Close(ctx context.Context) error { return w.Commit(ctx) }
func (w *markedWriter) Abort(context.Context) error     { w.pending = nil; return nil }

// failingSaves fails the n-th Save (1-based) without saving: the destinations have committed, the
// checkpoint naming what they committed is lost, as when the process dies during the save.
type failingSaves struct {
	memCheckpointer
	n int
}

var errSaveLost = errors.New("process died while saving the checkpoint")

func (f *failingSaves) Save(ctx context.Context, cp *Checkpoint) error {
	f.mu.Lock()
	f.saves++
	fail := f.saves == f.n
	f.mu.Unlock()
	if fail {
		return errSaveLost
	}
	f.mu.Lock()
	f.cp = cp
	f.mu.Unlock()
	return nil
}

func markedPlan(t *testing.T, db *markedDB, spec string) *pipeline.Plan {
	t.Helper()
	cr, err := connector.NewRegistry(genConn{}, markedConn{db})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{env: pipeline.Env{Connectors: cr, Transforms: tr}}
	return f.plan(t, spec)
}

func TestMarkedDestinationResumesExactlyOnce(t *testing.T) {
	t.Parallel()
	const spec = `version: 1
name: p
sources: [{id: src, type: gen, config: {rows: 3000}}]
destinations: [{id: out, type: marked, inputs: [src], config: {}}]
`
	for _, workers := range []int{1, 3} {
		db := &markedDB{markers: map[string]connector.Marker{}}
		ck := &failingSaves{n: 4} // the initial checkpoint, two more, then the lost one
		opts := Options{Checkpointer: ck, BatchSize: 70, CommitRows: 250, Workers: workers}
		_, err := Run(context.Background(), markedPlan(t, db, spec), opts)
		if !errors.Is(err, errSaveLost) {
			t.Fatalf("workers %d: first run: %v, want the lost save", workers, err)
		}
		committed := len(db.rows)
		if committed <= int(ck.cp.Delivered["out"]) {
			t.Fatalf("workers %d: destination holds %d rows, checkpoint %d: the double did not commit past the checkpoint", workers, committed, ck.cp.Delivered["out"])
		}
		ck.n = 0
		res, err := Run(context.Background(), markedPlan(t, db, spec), opts)
		if err != nil {
			t.Fatalf("workers %d: resumed run: %v", workers, err)
		}
		if !res.Resumed {
			t.Errorf("workers %d: not resumed", workers)
		}
		if diff := cmp.Diff(seq(1, 3000, nil), ids(db.rows)); diff != "" {
			t.Errorf("workers %d: rows after resume (-want +got):\n%s", workers, diff)
		}
		if s := stat(res, "out"); s.Out != 3000 {
			t.Errorf("workers %d: destination counter %d, want 3000", workers, s.Out)
		}
		if m := db.markers[res.RunID+"/out"]; m != (connector.Marker{Rows: 3000, Closed: true}) {
			t.Errorf("workers %d: final marker %+v", workers, m)
		}
	}
}

func TestMarkedDestinationRefusesAResumeItCannotMatch(t *testing.T) {
	t.Parallel()
	const spec = `version: 1
name: p
sources: [{id: src, type: gen, config: {rows: 1000}}]
destinations: [{id: out, type: marked, inputs: [src], config: {}}]
`
	for name, tamper := range map[string]func(db *markedDB){
		"marker gone": func(db *markedDB) { clear(db.markers) },
		"marker behind": func(db *markedDB) {
			for k := range db.markers {
				db.markers[k] = connector.Marker{Rows: 1}
			}
		},
		"marker beyond input": func(db *markedDB) {
			for k := range db.markers {
				db.markers[k] = connector.Marker{Rows: 5000}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			db := &markedDB{markers: map[string]connector.Marker{}}
			ck := &failingSaves{n: 3}
			opts := Options{Checkpointer: ck, BatchSize: 50, CommitRows: 200, Workers: 1}
			if _, err := Run(context.Background(), markedPlan(t, db, spec), opts); !errors.Is(err, errSaveLost) {
				t.Fatalf("first run: %v", err)
			}
			tamper(db)
			ck.n = 0
			_, err := Run(context.Background(), markedPlan(t, db, spec), opts)
			var re *ResumeError
			if !errors.As(err, &re) || re.ID != "out" {
				t.Fatalf("resumed run: %v, want a ResumeError for out", err)
			}
		})
	}
}
