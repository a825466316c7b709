// Command partitions measures a partitioned run across worker processes (issue 10, Speed): the same
// -rows-row PostgreSQL -> PostgreSQL upsert copy, partitioned into -chunks key ranges, with one
// `aggregator worker` process and then with two (each --concurrency -concurrency), beside one
// `aggregator serve` with RUN_WORKERS=0, all on this machine and one PostgreSQL store. It reports
// each run's time (started_at to finished_at), rows per second and the ratio, and checks that the
// destination holds every id exactly once.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/transform"
)

func main() {
	pgURL := flag.String("pg", "postgres://postgres@127.0.0.1:5432/test", "PostgreSQL URL (schemas are created and dropped)")
	bin := flag.String("bin", "", "the aggregator binary (required)")
	rows := flag.Int("rows", 1_000_000, "source rows")
	chunks := flag.Int("chunks", 8, "partition.chunks")
	conc := flag.Int("concurrency", 2, "worker --concurrency")
	flag.Parse()
	if *bin == "" {
		log.Fatal("-bin is required")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, *pgURL)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)
	data := fmt.Sprintf("part_bench_data_%d", time.Now().UnixNano())
	must(conn.Exec(ctx, "CREATE SCHEMA "+data))
	defer conn.Exec(context.Background(), "DROP SCHEMA "+data+" CASCADE") //nolint:errcheck
	t0 := time.Now()
	must(conn.Exec(ctx, fmt.Sprintf(`CREATE TABLE %s.src (id BIGINT PRIMARY KEY, name TEXT NOT NULL, amount NUMERIC(14,2) NOT NULL, created_at TIMESTAMPTZ NOT NULL)`, data)))
	must(conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %s.src SELECT g, 'customer ' || g, (g %% 10000) * 1.25, TIMESTAMPTZ '2026-01-01' + g * INTERVAL '1 second' FROM generate_series(1, %d) g`, data, *rows)))
	must(conn.Exec(ctx, "ANALYZE "+data+".src"))
	log.Printf("source: %d rows in %s.src (%s)", *rows, data, time.Since(t0).Round(time.Millisecond))
	var times [2]time.Duration
	for i, workers := range []int{1, 2} {
		must(conn.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s.dst; DROP TABLE IF EXISTS %s._aggregator_commits", data, data)))
		d := runOnce(ctx, conn, *pgURL, *bin, data, workers, *chunks, *conc, *rows)
		times[i] = d
		log.Printf("%d worker process(es) x concurrency %d, %d chunks: %s, %.0f rows/s", workers, *conc, *chunks, d.Round(time.Millisecond), float64(*rows)/d.Seconds())
	}
	fmt.Printf("| worker processes | chunks | concurrency each | run time | rows/s |\n|---|---|---|---|---|\n")
	for i, w := range []int{1, 2} {
		fmt.Printf("| %d | %d | %d | %.2f s | %.0f |\n", w, *chunks, *conc, times[i].Seconds(), float64(*rows)/times[i].Seconds())
	}
	fmt.Printf("\ntwo workers / one worker: %.2fx faster\n", times[0].Seconds()/times[1].Seconds())
}

func runOnce(ctx context.Context, conn *pgx.Conn, pgURL, bin, data string, workers, chunks, conc, rows int) time.Duration {
	meta := fmt.Sprintf("part_bench_meta_%d", time.Now().UnixNano())
	must(conn.Exec(ctx, "CREATE SCHEMA "+meta))
	defer conn.Exec(context.Background(), "DROP SCHEMA "+meta+" CASCADE") //nolint:errcheck
	metaURL := withPath(pgURL, meta)
	st, err := store.Open(ctx, store.Options{Dialect: store.Postgres, DSN: metaURL, MaxOpenConns: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "part-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	env := append(os.Environ(), "DATABASE_URL="+metaURL, "DATA_DIR="+dir, "SECRET_KEY="+strings.Repeat("k", 40),
		"LOG_LEVEL=warn", "LOG_FORMAT=text")
	var procs []*exec.Cmd
	start := func(args []string, extra ...string) {
		c := exec.Command(bin, args...)
		c.Env = append(append([]string{}, env...), extra...)
		c.Stdout, c.Stderr = os.Stderr, os.Stderr
		if err := c.Start(); err != nil {
			log.Fatal(err)
		}
		procs = append(procs, c)
	}
	start([]string{"serve"}, "RUN_WORKERS=0", fmt.Sprintf("PORT=%d", freePort()))
	for range workers {
		start([]string{"worker", "--concurrency", fmt.Sprint(conc)})
	}
	defer func() {
		for _, c := range procs {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range procs {
			_ = c.Wait()
		}
	}()
	// this process plays another API node: it queues the run and executes nothing
	conns, _ := connector.NewRegistry(postgres.New())
	trs, _ := transform.NewRegistry(transform.Builtins()...)
	svc, err := runs.New(runs.Options{Store: st, Connectors: conns, Transforms: trs})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := runs.NewRiver(svc, runs.RiverOptions{}); err != nil {
		log.Fatal(err)
	}
	dataURL := withPath(pgURL, data)
	spec := fmt.Sprintf(`version: 1
name: partitioned-copy
sources:
  - id: src
    type: postgres
    config: {url: %q, table: src, partition: {key: id, chunks: %d}}
destinations:
  - id: dst
    type: postgres
    inputs: [src]
    config: {url: %q, table: dst}
    write: {mode: upsert, key: [id]}
`, dataURL, chunks, dataURL)
	p, err := st.CreatePipeline(ctx, store.Pipeline{Name: "partitioned-copy", Spec: spec, CreatedBy: "bench"})
	if err != nil {
		log.Fatal(err)
	}
	// let every worker register and start polling before the run is queued
	deadline := time.Now().Add(30 * time.Second)
	for {
		ws, err := st.ListWorkers(ctx, time.Now().Add(-time.Minute))
		if err == nil && len(ws) >= workers {
			break
		}
		if time.Now().After(deadline) {
			log.Fatalf("%d workers did not register within 30s", workers)
		}
		time.Sleep(50 * time.Millisecond)
	}
	run, err := svc.Start(ctx, p.ID, 0, "manual", runs.Actor{Name: "bench"})
	if err != nil {
		log.Fatal(err)
	}
	var r store.Run
	for deadline := time.Now().Add(30 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if r, err = st.GetRun(ctx, run.ID); err != nil {
			log.Fatal(err)
		}
		if r.Status.Terminal() {
			break
		}
		if time.Now().After(deadline) {
			log.Fatalf("run %s not finished after 30 minutes", run.ID)
		}
	}
	if r.Status != store.RunSucceeded {
		log.Fatalf("run %s ended %s: %s", r.ID, r.Status, r.Error)
	}
	var n, distinct int64
	if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT COUNT(*), COUNT(DISTINCT id) FROM %s.dst", data)).Scan(&n, &distinct); err != nil {
		log.Fatal(err)
	}
	if n != int64(rows) || distinct != int64(rows) {
		log.Fatalf("dst holds %d rows, %d distinct ids; want %d", n, distinct, rows)
	}
	cs, _ := st.ListChunks(ctx, run.ID)
	by := map[string]int{}
	for _, c := range cs {
		by[c.WorkerID]++
	}
	log.Printf("chunks by worker: %v", by)
	return r.FinishedAt.Sub(*r.StartedAt)
}

func withPath(u, schema string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "search_path=" + schema
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func must[T any](_ T, err error) {
	if err != nil {
		log.Fatal(err)
	}
}
