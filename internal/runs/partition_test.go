package runs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/natsjs"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/schemachange"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/testutil"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// fleet is a partitioned-run set-up: a metadata store, a PostgreSQL schema with a source table of
// n rows, an API node (a service whose queue executes nothing) and worker "processes" (each its own
// service and River client on the same store), all publishing to one broker.
type fleet struct {
	t      *testing.T
	st     *store.Store
	api    *runs.Service
	bus    *runs.Broker
	data   *pgx.Conn
	url    string
	n      int
	queues []*runs.River
	// commitInterval and positionInterval are the services' (0: the defaults).
	commitInterval, positionInterval time.Duration
}

func newFleet(t *testing.T, st *store.Store, n int) *fleet {
	t.Helper()
	ctx := context.Background()
	pg := testutil.Postgres(t)
	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	for _, q := range []string{
		`CREATE TABLE src (id BIGINT PRIMARY KEY, name TEXT NOT NULL, amount NUMERIC(14,2) NOT NULL)`,
		fmt.Sprintf(`INSERT INTO src SELECT g, 'name ' || g, g * 1.25 FROM generate_series(1, %d) g`, n),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	f := &fleet{t: t, st: st, bus: runs.NewBroker(), data: conn, url: pg.URL, n: n}
	f.api = f.service()
	if _, err := runs.NewRiver(f.api, runs.RiverOptions{}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fleet) service() *runs.Service {
	f.t.Helper()
	return f.serviceOn(f.st)
}

// serviceOn is a worker's service on its own store handle (one it may close, as a dying process
// loses its connections).
func (f *fleet) serviceOn(st *store.Store) *runs.Service {
	f.t.Helper()
	conns, err := connector.NewRegistry(postgres.New(), natsjs.New())
	if err != nil {
		f.t.Fatal(err)
	}
	trs, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		f.t.Fatal(err)
	}
	svc, err := runs.New(runs.Options{Store: st, Connectors: conns, Transforms: trs, Events: f.bus,
		CommitRows: 2000, ProgressInterval: 50 * time.Millisecond, CommitInterval: f.commitInterval, PositionInterval: f.positionInterval})
	if err != nil {
		f.t.Fatal(err)
	}
	return svc
}

// worker starts a worker "process" running concurrency chunks at once, until the test ends.
func (f *fleet) worker(id string, concurrency int) *runs.River {
	f.t.Helper()
	q, err := runs.NewRiver(f.service(), runs.RiverOptions{WorkerID: id, Workers: concurrency, FetchPoll: 50 * time.Millisecond,
		Heartbeat: 100 * time.Millisecond, Lease: time.Second, DrainTimeout: 5 * time.Second})
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	f.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			f.t.Errorf("worker %s: %v", id, err)
		}
	})
	f.queues = append(f.queues, q)
	return q
}

// spec is a partitioned PostgreSQL -> PostgreSQL pipeline; extra is appended (policy:).
func (f *fleet) spec(name, partition, mode, extra string) string {
	return fmt.Sprintf(`version: 1
name: %s
sources:
  - id: src
    type: postgres
    config: {url: %q, table: src, partition: %s}
destinations:
  - id: dst
    type: postgres
    inputs: [src]
    config: {url: %q, table: dst}
    write: {mode: %s, key: [id]}
%s`, name, f.url, partition, f.url, mode, extra)
}

// start saves the spec and starts a run; it returns the run and a subscription to its events.
func (f *fleet) start(spec string) (store.Run, <-chan runs.Event) {
	f.t.Helper()
	p, err := f.st.CreatePipeline(context.Background(), store.Pipeline{Name: testutil.Name("p"), Spec: spec, CreatedBy: "test"})
	if err != nil {
		f.t.Fatal(err)
	}
	ch, stop := f.bus.Subscribe(nil, 100000)
	f.t.Cleanup(stop)
	run, err := f.api.Start(context.Background(), p.ID, 0, "manual", runs.Actor{Name: "test"})
	if err != nil {
		f.t.Fatal(err)
	}
	return run, ch
}

// finish waits for the run's terminal status event and returns the run as stored.
func (f *fleet) finish(run store.Run, ch <-chan runs.Event) store.Run {
	f.t.Helper()
	await(f.t, ch, "terminal status of run "+run.ID, func(e runs.Event) bool { return e.RunID == run.ID && terminal(e) })
	r, err := f.st.GetRun(context.Background(), run.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// checkTable asserts that dst holds ids 1..n exactly once with the source's values.
func (f *fleet) checkTable() {
	f.t.Helper()
	ctx := context.Background()
	var n, distinct, lo, hi int64
	if err := f.data.QueryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id) FROM dst`).Scan(&n, &distinct, &lo, &hi); err != nil {
		f.t.Fatal(err)
	}
	if n != int64(f.n) || distinct != int64(f.n) || lo != 1 || hi != int64(f.n) {
		f.t.Fatalf("dst: %d rows, %d distinct ids, ids %d..%d; want ids 1..%d exactly once", n, distinct, lo, hi, f.n)
	}
	const sum = `SELECT md5(string_agg(id || '|' || name || '|' || amount::text, ',' ORDER BY id)) FROM `
	var a, b string
	if err := f.data.QueryRow(ctx, sum+"src").Scan(&a); err != nil {
		f.t.Fatal(err)
	}
	if err := f.data.QueryRow(ctx, sum+"dst").Scan(&b); err != nil {
		f.t.Fatal(err)
	}
	if a != b {
		f.t.Fatalf("checksum of dst %s differs from src %s", b, a)
	}
}

func (f *fleet) chunks(runID string) []store.Chunk {
	f.t.Helper()
	cs, err := f.st.ListChunks(context.Background(), runID)
	if err != nil {
		f.t.Fatal(err)
	}
	return cs
}

func pgStore(t *testing.T) *store.Store {
	return openStore(t, backend{dialect: store.Postgres, dsn: testutil.Postgres(t).URL})
}

// TestPartitionedRunAcrossTwoWorkers: a 100,000-row PostgreSQL -> PostgreSQL upsert partitioned
// into 8 chunks runs on two workers (two River clients on one PostgreSQL store, as two `aggregator
// worker` processes are): the run succeeds once, the table holds every id exactly once, the chunks
// ran on both workers, and the run's counters are the sum of its chunks'.
func TestPartitionedRunAcrossTwoWorkers(t *testing.T) {
	f := newFleet(t, pgStore(t), 100_000)
	f.worker("worker-a", 2)
	f.worker("worker-b", 2)
	run, ch := f.start(f.spec("parts", "{key: id, chunks: 8}", "upsert", ""))
	var statuses []store.RunStatus
	var mu sync.Mutex
	final := func() store.Run {
		for {
			e := await(t, ch, "run status", func(e runs.Event) bool { return e.RunID == run.ID && e.Type == runs.EventStatus })
			mu.Lock()
			statuses = append(statuses, e.Status)
			mu.Unlock()
			if e.Status.Terminal() {
				r, err := f.st.GetRun(context.Background(), run.ID)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
		}
	}()
	if final.Status != store.RunSucceeded {
		t.Fatalf("run ended %s: %s", final.Status, final.Error)
	}
	f.checkTable()
	cs := f.chunks(run.ID)
	if len(cs) != 8 {
		t.Fatalf("%d chunks, want 8", len(cs))
	}
	workers := map[string]int{}
	var read int64
	for _, c := range cs {
		if c.Status != store.RunSucceeded || c.Attempt != 1 {
			t.Errorf("chunk %d: %s in attempt %d (%s)", c.Idx, c.Status, c.Attempt, c.Error)
		}
		workers[c.WorkerID]++
		read += c.RowsRead
	}
	if workers["worker-a"] == 0 || workers["worker-b"] == 0 {
		t.Errorf("chunks by worker %v; want some on each of the two workers", workers)
	}
	if read != int64(f.n) {
		t.Errorf("chunks read %d rows in all, want %d", read, f.n)
	}
	var stats []engine.NodeStats
	if err := json.Unmarshal(final.NodeStats, &stats); err != nil || len(stats) != 2 || stats[0].Out != int64(f.n) || stats[1].Out != int64(f.n) {
		t.Errorf("run node stats %s; want the sum of the chunks' (%d rows)", final.NodeStats, f.n)
	}
	// one terminal status, published once (exactly once however many workers)
	n := 0
	for _, s := range statuses {
		if s.Terminal() {
			n++
		}
	}
	if n != 1 {
		t.Errorf("run statuses %v: %d terminal, want 1", statuses, n)
	}
	atts, err := f.st.ListAttempts(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 1 || atts[0].Outcome != "partitioned" {
		t.Errorf("run attempts %+v; want one, partitioned", atts)
	}
}

// TestPartitionedChunkRetriedAlone: one chunk fails with a retryable error (a serialization failure
// the destination raises once, for one id) and is retried alone; the others ran once.
func TestPartitionedChunkRetriedAlone(t *testing.T) {
	f := newFleet(t, pgStore(t), 20_000)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE dst (id BIGINT PRIMARY KEY, name TEXT NOT NULL, amount NUMERIC(14,2) NOT NULL)`,
		`CREATE SEQUENCE fail_once`,
		`CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN
		   IF NEW.id = 12345 AND nextval('fail_once') = 1 THEN
		     RAISE EXCEPTION 'injected serialization failure' USING ERRCODE = '40001';
		   END IF;
		   RETURN NEW;
		 END $$`,
		`CREATE TRIGGER fail_once BEFORE INSERT ON dst FOR EACH ROW EXECUTE FUNCTION fail_once()`,
	} {
		if _, err := f.data.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	f.worker("worker-a", 2)
	f.worker("worker-b", 2)
	run, ch := f.start(f.spec("retry", "{key: id, chunks: 4}", "upsert", "policy: {retries: 2, retry_backoff: 100ms}\n"))
	final := f.finish(run, ch)
	if final.Status != store.RunSucceeded {
		t.Fatalf("run ended %s: %s", final.Status, final.Error)
	}
	f.checkTable()
	for _, c := range f.chunks(run.ID) {
		want := 1
		if c.Idx == 2 { // ids 10001..15000 hold 12345
			want = 2
		}
		if c.Status != store.RunSucceeded || c.Attempt != want {
			t.Errorf("chunk %d (%s..%s): %s in attempt %d, want succeeded in attempt %d", c.Idx, c.Lo, c.Hi, c.Status, c.Attempt, want)
		}
	}
}

// TestPartitionedChunkFailureFailsRun: a chunk that fails without a retry fails the run once, and
// no chunk is left queued or running.
func TestPartitionedChunkFailureFailsRun(t *testing.T) {
	f := newFleet(t, pgStore(t), 20_000)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE dst (id BIGINT PRIMARY KEY, name TEXT NOT NULL, amount NUMERIC(14,2) NOT NULL CHECK (id <> 4321))`,
	} {
		if _, err := f.data.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	f.worker("worker-a", 2)
	run, ch := f.start(f.spec("fails", "{key: id, chunks: 4}", "upsert", "error_policy: {on_reject: fail}\n"))
	final := f.finish(run, ch)
	if final.Status != store.RunFailed || !strings.Contains(final.Error, "chunk 0 of 4") {
		t.Fatalf("run ended %s (%s); want failed naming chunk 0 of 4", final.Status, final.Error)
	}
	for _, c := range f.chunks(run.ID) {
		if !c.Status.Terminal() {
			t.Errorf("chunk %d left %s", c.Idx, c.Status)
		}
	}
}

// TestPartitionedRunOnSQLite: the embedded shape, one process with 3 run workers: the chunks run in
// parallel in process and the run succeeds exactly once.
func TestPartitionedRunOnSQLite(t *testing.T) {
	st := openStore(t, backend{dialect: store.SQLite, dsn: filepath.Join(t.TempDir(), "aggregator.db")})
	f := newFleet(t, st, 30_000)
	f.worker("embedded", 3)
	run, ch := f.start(f.spec("sqlite", "{key: id, chunk_rows: 5000}", "upsert", ""))
	running, most := map[int]bool{}, 0
	for {
		e := await(t, ch, "run events", func(e runs.Event) bool { return e.RunID == run.ID && (e.Type == runs.EventChunk || terminal(e)) })
		if terminal(e) {
			if e.Status != store.RunSucceeded {
				t.Fatalf("run ended %s: %s", e.Status, e.Error)
			}
			break
		}
		if e.Chunk.Status == store.RunRunning {
			running[e.Chunk.Idx] = true
		} else {
			delete(running, e.Chunk.Idx)
		}
		most = max(most, len(running))
	}
	f.checkTable()
	if cs := f.chunks(run.ID); len(cs) != 6 {
		t.Errorf("%d chunks for 30,000 rows of chunk_rows 5000, want 6", len(cs))
	}
	if most < 2 {
		t.Errorf("at most %d chunk(s) ran at once; want the chunks in parallel", most)
	}
}

// TestPartitionedRunCancel: cancelling a partitioned run stops its running chunks and ends the
// queued ones; the run ends cancelled once.
func TestPartitionedRunCancel(t *testing.T) {
	f := newFleet(t, pgStore(t), 100_000)
	f.worker("worker-a", 1)
	run, ch := f.start(f.spec("cancel", "{key: id, chunks: 8}", "upsert", ""))
	await(t, ch, "a running chunk", func(e runs.Event) bool {
		return e.RunID == run.ID && e.Type == runs.EventChunk && e.Chunk.Status == store.RunRunning && e.Chunk.RowsRead > 0
	})
	if _, err := f.api.Cancel(context.Background(), run.ID); err != nil {
		t.Fatal(err)
	}
	final := f.finish(run, ch)
	if final.Status != store.RunCancelled {
		t.Fatalf("run ended %s (%s), want cancelled", final.Status, final.Error)
	}
	for _, c := range f.chunks(run.ID) {
		if !c.Status.Terminal() {
			t.Errorf("chunk %d left %s", c.Idx, c.Status)
		}
	}
}

// TestPartitionRefusals: what a partitioned run cannot do is refused when the spec is planned, with
// the reason on the node.
func TestPartitionRefusals(t *testing.T) {
	conns, err := connector.NewRegistry(postgres.New())
	if err != nil {
		t.Fatal(err)
	}
	trs, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	const url = "postgres://nobody@127.0.0.1:1/none"
	src := `sources:
  - id: src
    type: postgres
    config: {url: "` + url + `", table: src, partition: {key: id, chunks: 4}}
`
	dst := func(mode string) string {
		return `destinations:
  - id: out
    type: postgres
    inputs: [%s]
    config: {url: "` + url + `", table: dst}
    write: {mode: ` + mode + `, key: [id]}
`
	}
	for _, tc := range []struct {
		name, spec, path, want string
	}{
		{"overwrite", src + fmt.Sprintf(dst("overwrite"), "src"), "destinations[0].write.mode", `destination "out"`},
		{"incremental", src + "    sync: {mode: incremental, cursor_field: id}\n" + fmt.Sprintf(dst("upsert"), "src"),
			"sources[0].sync.mode", "full_refresh only"},
		{"stateful", src + "transforms:\n  - id: d\n    type: dedup\n    inputs: [src]\n    config: {key: [id]}\n" + fmt.Sprintf(dst("upsert"), "d"),
			"transforms[0]", "keeps state"},
		{"both", src + fmt.Sprintf(dst("append"), "src") + "  - id: out2\n    type: postgres\n    inputs: [src]\n    config: {url: \"" + url + "\", table: d2}\n    write: {mode: overwrite}\n",
			"destinations[1].write.mode", `destination "out2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := pipeline.Parse([]byte("version: 1\nname: p\n" + tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			_, err = pipeline.Validate(context.Background(), spec, pipeline.Env{Connectors: conns, Transforms: trs})
			if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validate: %v; want a problem at %s saying %q", err, tc.path, tc.want)
			}
		})
	}
}

// TestPartitionedRunSchemaReview: a chunk of a partitioned run whose destination's schema changes
// need a review pauses the run awaiting approval with the chunk's diff, nothing of the new schema
// written; the approval queues the chunks that waited and the run succeeds with every row once,
// with the new column. A rejection fails the run and ends every chunk, the table unchanged.
func TestPartitionedRunSchemaReview(t *testing.T) {
	for _, reject := range []bool{false, true} {
		t.Run(fmt.Sprintf("reject=%v", reject), func(t *testing.T) { partitionedReview(t, reject) })
	}
}

func partitionedReview(t *testing.T, reject bool) {
	st := openStore(t, backend{dialect: store.SQLite, dsn: filepath.Join(t.TempDir(), "aggregator.db")})
	f := newFleet(t, st, 3000)
	f.worker("embedded", 2)
	spec := f.spec("review", "{key: id, chunks: 3}", "upsert, schema_changes: review", "")
	run1, ch1 := f.start(spec)
	if r := f.finish(run1, ch1); r.Status != store.RunSucceeded {
		t.Fatalf("first run: %s %s", r.Status, r.Error)
	}
	ctx := context.Background()
	if _, err := f.data.Exec(ctx, "ALTER TABLE src ADD COLUMN note text; UPDATE src SET note = 'n' || id"); err != nil {
		t.Fatal(err)
	}
	run2, ch := f.start(spec)
	await(t, ch, "awaiting approval", func(e runs.Event) bool {
		return e.RunID == run2.ID && e.Type == runs.EventStatus && e.Status == store.RunAwaitingApproval
	})
	paused, err := f.st.GetRun(ctx, run2.ID)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := runs.ReviewOf(paused)
	if err != nil || rv == nil || rv.Status != runs.ReviewPending || len(rv.Changes) != 1 || rv.Changes[0].Column != "note" || rv.Changes[0].Kind != schemachange.Added {
		t.Fatalf("review of the paused run = %+v (%v), want note added", rv, err)
	}
	var cols int
	if err := f.data.QueryRow(ctx, "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'dst' AND column_name = 'note'").Scan(&cols); err != nil || cols != 0 {
		t.Fatalf("dst has a note column while the run awaits approval (%d, %v)", cols, err)
	}
	if reject {
		if _, err := f.api.Reject(ctx, run2.ID, "designer1", "not now"); err != nil {
			t.Fatal(err)
		}
		r := f.finish(run2, ch)
		if r.Status != store.RunFailed || !strings.Contains(r.Error, `column "note": column added`) {
			t.Fatalf("rejected run: %s %q", r.Status, r.Error)
		}
		// A chunk that was running when the review was rejected ends by itself (it cannot write
		// the change, and the run is no longer running): await its end rather than expect it at
		// once. A chunk is stored ended before its end is published, so one not ended in the
		// store has its end still to come on ch.
		running := map[int]bool{}
		for _, c := range f.chunks(run2.ID) {
			if !c.Status.Terminal() {
				running[c.Idx] = true
			}
		}
		for len(running) > 0 {
			e := await(t, ch, "the end of the chunks running at the rejection", func(e runs.Event) bool {
				return e.RunID == run2.ID && e.Type == runs.EventChunk && e.Chunk != nil && running[e.Chunk.Idx] && e.Chunk.Status.Terminal()
			})
			delete(running, e.Chunk.Idx)
		}
		for _, c := range f.chunks(run2.ID) {
			if !c.Status.Terminal() {
				t.Errorf("chunk %d is %s after the rejection", c.Idx, c.Status)
			}
		}
		if err := f.data.QueryRow(ctx, "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'dst' AND column_name = 'note'").Scan(&cols); err != nil || cols != 0 {
			t.Fatalf("dst has a note column after the rejection (%d, %v)", cols, err)
		}
		return
	}
	if _, err := f.api.Approve(ctx, run2.ID, "designer1", "ok"); err != nil {
		t.Fatal(err)
	}
	if r := f.finish(run2, ch); r.Status != store.RunSucceeded {
		t.Fatalf("approved run: %s %s", r.Status, r.Error)
	}
	f.checkTable()
	var withNote int
	if err := f.data.QueryRow(ctx, "SELECT count(*) FROM dst WHERE note = 'n' || id").Scan(&withNote); err != nil || withNote != f.n {
		t.Fatalf("%d of %d rows of dst carry the new column's value (%v)", withNote, f.n, err)
	}
	for _, c := range f.chunks(run2.ID) {
		if c.Status != store.RunSucceeded {
			t.Errorf("chunk %d ended %s: %s", c.Idx, c.Status, c.Error)
		}
	}
}
