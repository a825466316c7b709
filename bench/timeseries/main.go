// Command timeseries measures GET /api/v1/analytics/timeseries over a large metrics history
// (docs/benchmarks.md, "Metrics history"). It starts `aggregator serve` on a fresh store (SQLite in
// -dir, or the PostgreSQL store of -pg), saves -pipelines pipelines through the API, writes -days days
// of 1-minute points for every pipeline straight into metric_points (with their 1-hour and 1-day
// rollups, as the recorder would have written them), then calls each query -n times one after the
// other and prints p50, p95 and max of the wall time of the HTTP call.
//
//	go run ./bench/timeseries -bin bin/aggregator [-pg 'postgres://...&search_path=bench_ts'] [-n 50]
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

const password = "bench-Password-1234"

func main() {
	bin := flag.String("bin", "bin/aggregator", "aggregator binary")
	dir := flag.String("dir", "/tmp/aggregator-bench-timeseries", "work directory (DATA_DIR; emptied first)")
	pg := flag.String("pg", "", "PostgreSQL store URL (DATABASE_URL; its search_path schema is dropped and recreated); empty: SQLite")
	pipelines := flag.Int("pipelines", 100, "pipelines")
	days := flag.Int("days", 30, "days of 1-minute points")
	n := flag.Int("n", 50, "calls of each query (after 3 warm-up calls)")
	flag.Parse()
	log.SetFlags(0)

	if err := os.RemoveAll(*dir); err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		log.Fatal(err)
	}
	if *pg != "" {
		resetSchema(*pg)
	}
	port := freePort()
	cmd := exec.Command(*bin, "serve")
	cmd.Env = append(os.Environ(), "DATA_DIR="+*dir, fmt.Sprintf("PORT=%d", port), "ADMIN_PASSWORD="+password,
		"API_RATE_LIMIT=0", "RUN_WORKERS=0", "LOG_LEVEL=warn")
	if *pg != "" {
		cmd.Env = append(cmd.Env, "DATABASE_URL="+*pg)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitReady(base)
	token := login(base)

	example, err := os.ReadFile("examples/customers-clean.yaml")
	if err != nil {
		log.Fatal(err)
	}
	name := regexp.MustCompile(`(?m)^name: .*$`)
	ids := make([]string, 0, *pipelines)
	for i := range *pipelines {
		spec := name.ReplaceAll(example, fmt.Appendf(nil, "name: ts-%03d", i))
		var p struct{ ID string }
		call(base, token, http.MethodPost, "/api/v1/pipelines", "application/yaml", spec, &p)
		ids = append(ids, p.ID)
	}

	start := time.Now()
	rows := seed(*pg, *dir, *days)
	log.Printf("seeded %d pipelines x %d days: %d metric_points rows in %s", *pipelines, *days, rows, time.Since(start).Round(time.Millisecond))

	from := url.QueryEscape(time.Now().Add(-time.Duration(*days) * 24 * time.Hour).UTC().Format(time.RFC3339))
	queries := []struct{ name, q string }{
		{"rows_in, all pipelines (auto step: 1h)", "metric=rows_in&from=" + from},
		{"rows_per_second, all pipelines", "metric=rows_per_second&from=" + from},
		{"duration_ms_avg, all pipelines", "metric=duration_ms_avg&from=" + from},
		{"rows_out, group_by=pipeline (top 10)", "metric=rows_out&group_by=pipeline&from=" + from},
		{"rows_out, group_by=pipeline, limit=100", "metric=rows_out&group_by=pipeline&limit=100&from=" + from},
		{"rows_in, one pipeline", "metric=rows_in&pipeline_id=" + ids[0] + "&from=" + from},
		{"rows_in, last 24 h (1m step), all pipelines", "metric=rows_in"},
	}
	store := "SQLite"
	if *pg != "" {
		store = "PostgreSQL"
	}
	fmt.Printf("| store | query (%d pipelines, %d days) | points | p50 | p95 | max |\n|---|---|---:|---:|---:|---:|\n", *pipelines, *days)
	for _, q := range queries {
		var times []time.Duration
		points := 0
		for i := range *n + 3 {
			var ts struct {
				Series []struct{ Points []json.RawMessage }
			}
			t0 := time.Now()
			call(base, token, http.MethodGet, "/api/v1/analytics/timeseries?"+q.q, "", nil, &ts)
			d := time.Since(t0)
			points = 0
			for _, s := range ts.Series {
				points += len(s.Points)
			}
			if i >= 3 {
				times = append(times, d)
			}
		}
		slices.Sort(times)
		pct := func(p float64) time.Duration { return times[min(len(times)-1, int(p*float64(len(times))))] }
		fmt.Printf("| %s | %s | %d | %s | %s | %s |\n", store, q.name, points, ms(pct(0.5)), ms(pct(0.95)), ms(times[len(times)-1]))
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("\n%d calls of each query after 3 warm-up calls; load average %s\n", *n, strings.Join(strings.Fields(string(load))[:3], " "))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// seed writes the 1-minute points of every pipeline for the last days days, then their 1-hour and
// 1-day rollups (sums; stream_lag the largest), and returns the number of rows of metric_points.
func seed(pg, dir string, days int) int64 {
	driver, dsn := "sqlite", "file:"+filepath.Join(dir, "aggregator.db")+"?_pragma=busy_timeout(30000)"
	if pg != "" {
		driver, dsn = "pgx", pg
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	end := time.Now().Unix() / 60 * 60
	begin := end - int64(days)*86400
	minutes := `WITH RECURSIVE m(b) AS (SELECT $1 UNION ALL SELECT b + 60 FROM m WHERE b + 60 < $2)`
	if pg != "" {
		minutes = `WITH m(b) AS (SELECT generate_series($1::bigint, $2::bigint - 60, 60))`
	}
	// Every pipeline reads 0-996 rows a minute, writes most of them, rejects a few; a run finishes
	// every 15 minutes; lag 0-499.
	stmts := []string{
		minutes + `
		INSERT INTO metric_points (step, bucket, pipeline_id, rows_in, rows_out, rows_rejected, bytes, runs_started,
			runs_succeeded, runs_failed, duration_ms_sum, duration_count, dead_letters, stream_lag)
		SELECT 60, m.b, p.id, (m.b / 60 * 7 + LENGTH(p.id)) % 997, (m.b / 60 * 7 + LENGTH(p.id)) % 997 - (m.b / 60) % 5,
			(m.b / 60) % 5, ((m.b / 60 * 7) % 997) * 120,
			CASE WHEN (m.b / 60) % 15 = 0 THEN 1 ELSE 0 END, CASE WHEN (m.b / 60) % 15 = 14 THEN 1 ELSE 0 END,
			CASE WHEN (m.b / 60) % 150 = 14 THEN 1 ELSE 0 END,
			CASE WHEN (m.b / 60) % 15 = 14 THEN 40000 + (m.b / 60) % 20000 ELSE 0 END, CASE WHEN (m.b / 60) % 15 = 14 THEN 1 ELSE 0 END,
			(m.b / 60) % 5, (m.b / 60 * 13) % 500
		FROM m CROSS JOIN pipelines p`,
	}
	for _, step := range []int{3600, 86400} {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO metric_points (step, bucket, pipeline_id, rows_in, rows_out, rows_rejected, bytes,
			runs_started, runs_succeeded, runs_failed, duration_ms_sum, duration_count, dead_letters, stream_lag)
		SELECT %[1]d, bucket - bucket %% %[1]d, pipeline_id, SUM(rows_in), SUM(rows_out), SUM(rows_rejected), SUM(bytes),
			SUM(runs_started), SUM(runs_succeeded), SUM(runs_failed), SUM(duration_ms_sum), SUM(duration_count), SUM(dead_letters), MAX(stream_lag)
		FROM metric_points WHERE step = 60 GROUP BY bucket - bucket %% %[1]d, pipeline_id`, step))
	}
	for i, s := range stmts {
		args := []any{}
		if i == 0 {
			args = []any{begin, end}
		}
		if _, err := db.ExecContext(ctx, s, args...); err != nil {
			log.Fatalf("seed: %v", err)
		}
	}
	if pg != "" {
		if _, err := db.ExecContext(ctx, `ANALYZE metric_points`); err != nil {
			log.Fatal(err)
		}
	} else if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		log.Fatal(err)
	}
	var rows int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM metric_points`).Scan(&rows); err != nil {
		log.Fatal(err)
	}
	return rows
}

func resetSchema(pg string) {
	u, err := url.Parse(pg)
	if err != nil {
		log.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	if schema == "" || schema == "public" {
		log.Fatal("-pg needs a search_path of its own (it is dropped and recreated)")
	}
	db, err := sql.Open("pgx", pg)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(fmt.Sprintf(`DROP SCHEMA IF EXISTS %[1]s CASCADE; CREATE SCHEMA %[1]s`, schema)); err != nil {
		log.Fatal(err)
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitReady(base string) {
	for range 600 {
		if r, err := http.Get(base + "/readyz"); err == nil {
			_ = r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	log.Fatal("the server did not become ready in 60 s")
}

func login(base string) string {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := json.Marshal(map[string]string{"login": "admin", "password": password})
	call(base, "", http.MethodPost, "/api/v1/auth/login", "application/json", body, &out)
	return out.AccessToken
}

func call(base, token, method, path, ctype string, body []byte, out any) {
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	if resp.StatusCode >= 300 {
		log.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			log.Fatalf("%s %s: %v", method, path, err)
		}
	}
}
