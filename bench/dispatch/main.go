// Command dispatch measures the run queue (River): how many trivial runs per second go through it
// (queued, claimed, executed, recorded) and the time from trigger to running (a run's created_at to
// its started_at), on SQLite and on PostgreSQL. Each trivial run reads a one-row CSV file and writes
// a one-row CSV file. Runs are triggered in bursts (-runs at once) and one at a time (-single, the
// latency of a trigger on an idle queue).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/transform"
)

func main() {
	dialect := flag.String("db", "sqlite", "sqlite | postgres")
	pgURL := flag.String("pg", "postgres://postgres@127.0.0.1:5432/test", "PostgreSQL URL (a schema is created and dropped)")
	n := flag.Int("runs", 200, "runs triggered at once")
	single := flag.Int("single", 20, "runs triggered one at a time, each after the previous finished")
	workers := flag.Int("workers", 4, "runs executed at once (RUN_WORKERS)")
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "dispatch-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte("id,name\n1,a\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	var st *store.Store
	var listen *pgxpool.Pool
	switch *dialect {
	case "sqlite":
		st, err = store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: filepath.Join(dir, "aggregator.db")})
	case "postgres":
		schema := fmt.Sprintf("dispatch_bench_%d", time.Now().UnixNano())
		conn, err := pgx.Connect(ctx, *pgURL)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			log.Fatal(err)
		}
		defer func() {
			_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(context.Background())
		}()
		url := *pgURL + "?search_path=" + schema
		if st, err = store.Open(ctx, store.Options{Dialect: store.Postgres, DSN: url}); err != nil {
			log.Fatal(err)
		}
		if listen, err = pgxpool.New(ctx, url); err != nil {
			log.Fatal(err)
		}
		defer listen.Close()
	default:
		log.Fatalf("-db %q: want sqlite or postgres", *dialect)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	conns, _ := connector.NewRegistry(csv.New())
	trs, _ := transform.NewRegistry(transform.Builtins()...)
	svc, err := runs.New(runs.Options{Store: st, Connectors: conns, Transforms: trs, Env: connector.Env{FileRoots: []string{dir}}})
	if err != nil {
		log.Fatal(err)
	}
	q, err := runs.NewRiver(svc, runs.RiverOptions{Workers: *workers, ListenerPool: listen})
	if err != nil {
		log.Fatal(err)
	}
	qctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- q.Run(qctx) }()
	defer func() { stop(); <-done }()

	spec := `version: 1
name: trivial
sources: [{id: s, type: csv, config: {path: in.csv}}]
destinations: [{id: d, type: csv, inputs: [s], config: {path: out.csv}, write: {mode: overwrite}}]
policy: {max_concurrent_runs: 100}
`
	p, err := st.CreatePipeline(ctx, store.Pipeline{Name: "trivial", Spec: spec, CreatedBy: "bench"})
	if err != nil {
		log.Fatal(err)
	}
	// warm-up
	waitAll(ctx, st, trigger(ctx, svc, p.ID, 2))

	t0 := time.Now()
	ids := trigger(ctx, svc, p.ID, *n)
	lat := waitAll(ctx, st, ids)
	took := time.Since(t0)
	fmt.Printf("%s burst: %d runs with %d workers in %s: %.1f runs/s; trigger->running p50 %s p90 %s max %s\n",
		*dialect, *n, *workers, took.Round(time.Millisecond), float64(*n)/took.Seconds(), pct(lat, 50), pct(lat, 90), pct(lat, 100))

	var one []time.Duration
	for range *single {
		one = append(one, waitAll(ctx, st, trigger(ctx, svc, p.ID, 1))...)
	}
	fmt.Printf("%s single: %d runs one at a time: trigger->running p50 %s p90 %s max %s\n",
		*dialect, *single, pct(one, 50), pct(one, 90), pct(one, 100))
}

func trigger(ctx context.Context, svc *runs.Service, pipelineID string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		r, err := svc.Start(ctx, pipelineID, 0, "api", runs.Actor{Name: "bench"})
		if err != nil {
			log.Fatal(err)
		}
		ids[i] = r.ID
	}
	return ids
}

// waitAll polls until every run has finished and returns each one's trigger-to-running time.
func waitAll(ctx context.Context, st *store.Store, ids []string) []time.Duration {
	var lat []time.Duration
	deadline := time.Now().Add(5 * time.Minute)
	for _, id := range ids {
		for {
			r, err := st.GetRun(ctx, id)
			if err != nil {
				log.Fatal(err)
			}
			if r.Status.Terminal() {
				if r.Status != store.RunSucceeded {
					log.Fatalf("run %s %s: %s", id, r.Status, r.Error)
				}
				lat = append(lat, r.StartedAt.Sub(r.CreatedAt))
				break
			}
			if time.Now().After(deadline) {
				log.Fatalf("run %s still %s after 5 minutes", id, r.Status)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	return lat
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := min(len(s)-1, len(s)*p/100)
	return s[i].Round(100 * time.Microsecond)
}
