package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
	"github.com/dataaggregator/aggregator/internal/testutil"
	"github.com/dataaggregator/aggregator/internal/transform"
)

const takeoverRows = 200_000

// takeover is one end-to-end set-up: a PostgreSQL metadata store, a 200,000-row source table and an
// upsert destination in another schema, a pipeline between them, and `aggregator worker` processes.
type takeover struct {
	t       *testing.T
	st      *store.Store
	svc     *runs.Service
	data    *pgx.Conn
	metaURL string
	dataDir string

	mu       sync.Mutex
	children map[int]*worker // by pid
}

type worker struct {
	cmd    *exec.Cmd
	exited chan struct{}
	log    *strings.Builder
}

func newTakeover(t *testing.T) *takeover {
	ctx := context.Background()
	meta, data := testutil.Postgres(t), testutil.Postgres(t)
	conn, err := pgx.Connect(ctx, data.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	for _, q := range []string{
		`CREATE TABLE src (id BIGINT PRIMARY KEY, name TEXT NOT NULL, amount NUMERIC(14,2) NOT NULL)`,
		fmt.Sprintf(`INSERT INTO src SELECT g, 'name ' || g, g * 1.25 FROM generate_series(1, %d) g`, takeoverRows),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st := storetest.Open(t, store.Options{Dialect: store.Postgres, DSN: meta.URL, MaxOpenConns: 4})
	conns, err := connector.NewRegistry(postgres.New())
	if err != nil {
		t.Fatal(err)
	}
	trs, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	// This process plays an API node: it queues runs (jobs inserted in the run's transaction) and
	// executes none.
	svc, err := runs.New(runs.Options{Store: st, Connectors: conns, Transforms: trs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runs.NewRiver(svc, runs.RiverOptions{}); err != nil {
		t.Fatal(err)
	}
	tk := &takeover{t: t, st: st, svc: svc, data: conn, metaURL: meta.URL, dataDir: t.TempDir(), children: map[int]*worker{}}
	t.Cleanup(tk.killAll)
	return tk
}

// start runs the pipeline once and returns the run.
func (tk *takeover) start() store.Run {
	tk.t.Helper()
	dataURL := tk.dataURL()
	spec := fmt.Sprintf(`version: 1
name: takeover
sources:
  - id: src
    type: postgres
    config: {url: %q, table: src}
destinations:
  - id: dst
    type: postgres
    inputs: [src]
    config: {url: %q, table: dst}
    write: {mode: upsert, key: [id]}
`, dataURL, dataURL)
	p, err := tk.st.CreatePipeline(context.Background(), store.Pipeline{Name: "takeover", Spec: spec, CreatedBy: "test"})
	if err != nil {
		tk.t.Fatal(err)
	}
	run, err := tk.svc.Start(context.Background(), p.ID, 0, "manual", runs.Actor{Name: "test"})
	if err != nil {
		tk.t.Fatal(err)
	}
	return run
}

func (tk *takeover) dataURL() string {
	var schema string
	if err := tk.data.QueryRow(context.Background(), `SELECT current_schema()`).Scan(&schema); err != nil {
		tk.t.Fatal(err)
	}
	u := testutil.PostgresURL()
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "search_path=" + schema
}

// spawn starts an `aggregator worker` process (the test binary running main) with a 1 s lease and
// checkpoints every 5,000 rows.
func (tk *takeover) spawn() *worker {
	tk.t.Helper()
	cmd := exec.Command(os.Args[0], "worker", "--concurrency", "1")
	cmd.Env = append(os.Environ(), "AGGREGATOR_TEST_MAIN=1", "DATABASE_URL="+tk.metaURL, "DATA_DIR="+tk.dataDir,
		"RUN_LEASE=1s", "RUN_MAX_ATTEMPTS=100", "RUN_CHECKPOINT_ROWS=1000", "SHUTDOWN_TIMEOUT=2s", "LOG_FORMAT=text", "LOG_LEVEL=info")
	w := &worker{cmd: cmd, exited: make(chan struct{}), log: &strings.Builder{}}
	out, err := cmd.StderrPipe()
	if err != nil {
		tk.t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		tk.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			tk.mu.Lock()
			w.log.WriteString(sc.Text() + "\n")
			tk.mu.Unlock()
		}
		_ = cmd.Wait()
		close(w.exited)
	}()
	tk.mu.Lock()
	tk.children[cmd.Process.Pid] = w
	tk.mu.Unlock()
	return w
}

func (tk *takeover) killAll() {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	for _, w := range tk.children {
		_ = w.cmd.Process.Signal(syscall.SIGCONT)
		_ = w.cmd.Process.Kill()
	}
}

// owner is the child whose worker id (host-pid-random) holds the run.
func (tk *takeover) owner(r store.Run) *worker { return tk.childOf(r.WorkerID) }

// waitRun polls the run (bounded) until ok accepts it.
func (tk *takeover) waitRun(id, what string, limit time.Duration, ok func(store.Run) bool) store.Run {
	tk.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		r, err := tk.st.GetRun(context.Background(), id)
		if err != nil {
			tk.t.Fatal(err)
		}
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			tk.t.Fatalf("run never %s within %s: %+v\n%s", what, limit, r, tk.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// committed is how many rows the destination holds (the upsert run's progress).
func (tk *takeover) committed() int64 {
	tk.t.Helper()
	var n int64
	var exists bool // the run creates the table at its first commit
	if err := tk.data.QueryRow(context.Background(), `SELECT to_regclass('dst') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		if err != nil {
			tk.t.Fatal(err)
		}
		return 0
	}
	if err := tk.data.QueryRow(context.Background(), `SELECT COUNT(*) FROM dst`).Scan(&n); err != nil {
		tk.t.Fatal(err)
	}
	return n
}

// waitCommitted polls (bounded) until the destination holds at least n rows, or all of them.
func (tk *takeover) waitCommitted(n int64, limit time.Duration) {
	tk.t.Helper()
	deadline := time.Now().Add(limit)
	for c := tk.committed(); c < min(n, takeoverRows); c = tk.committed() {
		if time.Now().After(deadline) {
			tk.t.Fatalf("the destination holds %d rows after %s, want %d\n%s", c, limit, n, tk.logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (tk *takeover) logs() string {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	var b strings.Builder
	for pid, w := range tk.children {
		s := w.log.String()
		if len(s) > 3000 {
			s = s[len(s)-3000:]
		}
		fmt.Fprintf(&b, "--- worker pid %d:\n%s", pid, s)
	}
	return b.String()
}

// checkTable asserts that dst holds ids 1..N exactly once with the source's values.
func (tk *takeover) checkTable() {
	tk.t.Helper()
	var n, distinct, lo, hi int64
	if err := tk.data.QueryRow(context.Background(), `SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id) FROM dst`).Scan(&n, &distinct, &lo, &hi); err != nil {
		tk.t.Fatal(err)
	}
	if n != takeoverRows || distinct != takeoverRows || lo != 1 || hi != takeoverRows {
		tk.t.Fatalf("dst: %d rows, %d distinct ids, ids %d..%d; want ids 1..%d exactly once", n, distinct, lo, hi, takeoverRows)
	}
	const sum = `SELECT md5(string_agg(id || '|' || name || '|' || amount::text, ',' ORDER BY id)) FROM `
	var a, b string
	if err := tk.data.QueryRow(context.Background(), sum+"src").Scan(&a); err != nil {
		tk.t.Fatal(err)
	}
	if err := tk.data.QueryRow(context.Background(), sum+"dst").Scan(&b); err != nil {
		tk.t.Fatal(err)
	}
	if a != b {
		tk.t.Fatalf("checksum of dst %s differs from src %s", b, a)
	}
}

// TestKilledWorkersHandOverRunsExactlyOnce: two `aggregator worker` processes; the one running a
// 200,000-row PostgreSQL -> PostgreSQL upsert run is killed (-9) at a random point, ten times, and
// a fresh worker is started each time. Each time the other worker (or the fresh one) takes the run
// over after its lease and resumes it from its last checkpoint, with no human step; at the end the
// table holds every id exactly once with the source's checksum.
func TestKilledWorkersHandOverRunsExactlyOnce(t *testing.T) {
	const kills = 10
	tk := newTakeover(t)
	tk.spawn()
	tk.spawn()
	run := tk.start()
	started := time.Now()
	landed := 0
	attempt := 0
	for range kills {
		r := tk.waitRun(run.ID, "running in a new attempt", 30*time.Second, func(r store.Run) bool {
			return r.Status.Terminal() || (r.Status == store.RunRunning && r.Attempt > attempt)
		})
		if r.Status.Terminal() {
			break
		}
		// A random point of the attempt, measured in its progress rather than in time (a fast
		// machine finishes the run before ten time-based kills): once it has committed 1 to 5
		// more checkpoints of 1,000 rows, plus up to 50 ms, inside the next one.
		tk.waitCommitted(tk.committed()+int64(1+rand.IntN(5))*1000, 30*time.Second)
		time.Sleep(time.Duration(rand.IntN(50)) * time.Millisecond)
		r, _ = tk.st.GetRun(context.Background(), run.ID)
		if r.Status != store.RunRunning {
			if r.Status.Terminal() {
				break
			}
			continue
		}
		w := tk.owner(r)
		if w == nil {
			t.Fatalf("no child owns the run (worker %s)\n%s", r.WorkerID, tk.logs())
		}
		if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-w.exited
		landed++
		attempt = r.Attempt
		tk.spawn() // the replacement: the fleet keeps two workers
	}
	final := tk.waitRun(run.ID, "finished", 60*time.Second, func(r store.Run) bool { return r.Status.Terminal() })
	if final.Status != store.RunSucceeded {
		t.Fatalf("run ended %s: %s\n%s", final.Status, final.Error, tk.logs())
	}
	if landed < kills {
		t.Errorf("only %d of %d kills landed while the run was running", landed, kills)
	}
	tk.checkTable()
	atts, err := tk.st.ListAttempts(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, a := range atts {
		if a.Outcome == "lost" {
			lost++
		}
	}
	if lost != landed || atts[len(atts)-1].Outcome != "succeeded" {
		t.Errorf("attempts: %d lost for %d kills, last %+v", lost, landed, atts[len(atts)-1])
	}
	t.Logf("%d kills, %d attempts, run took %s", landed, len(atts), time.Since(started).Round(time.Millisecond))
}

// TestPausedWorkerIsFenced: the worker running the run is paused (SIGSTOP) past its lease; the
// other worker takes the run over; the paused one is resumed (SIGCONT) and must not commit: its
// attempt ends lost, the run finishes on the other worker, and the table is exact.
func TestPausedWorkerIsFenced(t *testing.T) {
	tk := newTakeover(t)
	tk.spawn()
	tk.spawn()
	run := tk.start()
	r := tk.waitRun(run.ID, "running with a checkpoint", 30*time.Second, func(r store.Run) bool {
		return r.Status == store.RunRunning && len(r.Checkpoint) > 0
	})
	paused := tk.owner(r)
	if paused == nil {
		t.Fatalf("no child owns the run (worker %s)", r.WorkerID)
	}
	if err := paused.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	taken := tk.waitRun(run.ID, "taken over", 30*time.Second, func(x store.Run) bool {
		return x.Attempt > r.Attempt && x.Status == store.RunRunning && len(x.Checkpoint) > 0
	})
	if taken.WorkerID == r.WorkerID {
		t.Fatalf("the paused worker %s still owns the run", r.WorkerID)
	}
	if err := paused.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	final := tk.waitRun(run.ID, "finished", 60*time.Second, func(x store.Run) bool { return x.Status.Terminal() })
	if final.Status != store.RunSucceeded || final.WorkerID != taken.WorkerID || final.Attempt != taken.Attempt {
		t.Fatalf("final run %+v; want succeeded in attempt %d of %s\n%s", final, taken.Attempt, taken.WorkerID, tk.logs())
	}
	atts, err := tk.st.ListAttempts(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	first := atts[r.Attempt-1]
	if first.Outcome != "lost" {
		t.Errorf("the paused attempt ended %q (%s), want lost", first.Outcome, first.Error)
	}
	tk.checkTable()
	// The resumed worker noticed and stopped without recording anything.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(tk.childLog(paused), "taken over by another worker") {
		if time.Now().After(deadline) {
			t.Fatalf("the resumed worker never reported losing the run:\n%s", tk.childLog(paused))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (tk *takeover) childLog(w *worker) string {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return w.log.String()
}
