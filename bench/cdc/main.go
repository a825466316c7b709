// Command cdc measures PostgreSQL change capture (issue 12, Speed): N inserts into a table, in
// transactions of 1,000 rows, read from a logical replication slot (pgoutput) by a bare pglogrepl
// loop that parses every message (the baseline, a child process of this command) and by an
// `aggregator run` child process of a postgres_cdc -> PostgreSQL (upsert by key) pipeline. Each
// reads its own slot, created before the changes. A run's time is from its start until it has
// seen (baseline) or its destination holds (aggregator) N changes; peak RSS is read from the
// kernel. Slots, publication and schema are dropped at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

func main() {
	n := flag.Int("n", 200_000, "changes")
	bin := flag.String("bin", "bin/aggregator", "aggregator binary")
	pgURL := flag.String("pg", "postgres://root@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL (wal_level = logical)")
	dir := flag.String("dir", "/tmp/aggregator-bench-cdc", "work directory")
	baseline := flag.String("baseline-slot", "", "internal: run the bare pglogrepl loop on this slot")
	pub := flag.String("publication", "", "internal: the baseline's publication")
	flag.Parse()
	var err error
	if *baseline != "" {
		err = loop(*pgURL, *baseline, *pub, *n)
	} else {
		err = run(*n, *bin, *pgURL, *dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/cdc:", err)
		os.Exit(1)
	}
}

func run(n int, bin, pgURL, dir string) error {
	ctx := context.Background()
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	id := os.Getpid()
	schema := fmt.Sprintf("bench_cdc_%d", id)
	base, agg, pub := fmt.Sprintf("bench_cdc_base_%d", id), fmt.Sprintf("bench_cdc_agg_%d", id), fmt.Sprintf("bench_cdc_%d", id)
	defer func() {
		c := context.Background()
		for _, s := range []string{base, agg} {
			for i := 0; i < 100; i++ { // a walsender may hold the slot for a moment after its client left
				if _, err := conn.Exec(c, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", s); err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		_, _ = conn.Exec(c, "DROP PUBLICATION IF EXISTS "+pub)
		_, _ = conn.Exec(c, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	}()
	for _, q := range []string{
		"CREATE SCHEMA " + schema,
		"CREATE TABLE " + schema + ".src (seq bigint PRIMARY KEY, name text NOT NULL, amount numeric(10,2))",
		"CREATE PUBLICATION " + pub + " FOR TABLE " + schema + ".src",
		"SELECT pg_create_logical_replication_slot('" + base + "', 'pgoutput')",
		"SELECT pg_create_logical_replication_slot('" + agg + "', 'pgoutput')",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	start := time.Now()
	for lo := 1; lo <= n; lo += 1000 {
		if _, err := conn.Exec(ctx, "INSERT INTO "+schema+".src SELECT g, 'customer '||g, (g % 1000) + 0.25 FROM generate_series($1::bigint, $2::bigint) g", lo, min(lo+999, n)); err != nil {
			return err
		}
	}
	fmt.Printf("made %d changes (inserts in transactions of 1,000) in %s\n", n, time.Since(start).Round(time.Millisecond))

	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-baseline-slot", base, "-publication", pub, "-n", fmt.Sprint(n), "-pg", pgURL)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	start = time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	report("bare pglogrepl loop (pgoutput)", n, time.Since(start), cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)

	file := filepath.Join(dir, "cdc.yaml")
	spec := fmt.Sprintf(`version: 1
name: bench-cdc
sources: [{id: src, type: postgres_cdc, config: {url: %q, slot: %s, publication: %s, tables: [%s.src], snapshot: never}}]
destinations: [{id: out, type: postgres, inputs: [src], config: {url: %q, schema: %s, table: copy}, write: {mode: upsert, key: [seq]}}]
`, pgURL, agg, pub, schema, pgURL, schema)
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		return err
	}
	run := exec.Command(bin, "run", file, "--progress", "none", "--state", filepath.Join(dir, "state.json"))
	run.Env = append(os.Environ(), "DATA_DIR="+dir, "LOG_LEVEL=warn")
	logf, err := os.Create(filepath.Join(dir, "run.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	run.Stdout, run.Stderr = logf, logf
	start = time.Now()
	if err := run.Start(); err != nil {
		return err
	}
	for {
		var rows int
		if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM "+schema+".copy").Scan(&rows); err != nil {
			rows = 0 // not created yet
		}
		if rows >= n {
			break
		}
		if time.Since(start) > 30*time.Minute {
			_ = run.Process.Kill()
			return fmt.Errorf("%d of %d changes after 30 minutes (see %s)", rows, n, logf.Name())
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	_ = run.Process.Signal(os.Interrupt)
	if err := run.Wait(); err != nil {
		return fmt.Errorf("exit after SIGINT: %v (see %s)", err, logf.Name())
	}
	report("aggregator run postgres_cdc -> postgres", n, took, run.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	return nil
}

// loop is the baseline: it streams the slot and parses every pgoutput message until it has seen n
// inserts, confirming its position every 10 seconds.
func loop(pgURL, slot, pub string, n int) error {
	ctx := context.Background()
	cfg, err := pgconn.ParseConfig(pgURL)
	if err != nil {
		return err
	}
	cfg.RuntimeParams["replication"] = "database"
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if err := pglogrepl.StartReplication(ctx, conn, slot, 0, pglogrepl.StartReplicationOptions{
		Mode: pglogrepl.LogicalReplication, PluginArgs: []string{"proto_version '1'", "publication_names '" + pub + "'"}}); err != nil {
		return err
	}
	var pos pglogrepl.LSN
	next := time.Now().Add(10 * time.Second)
	for seen := 0; seen < n; {
		if time.Now().After(next) {
			if err := pglogrepl.SendStandbyStatusUpdate(ctx, conn, pglogrepl.StandbyStatusUpdate{WALWritePosition: pos}); err != nil {
				return err
			}
			next = time.Now().Add(10 * time.Second)
		}
		rctx, cancel := context.WithDeadline(ctx, next)
		msg, err := conn.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			if pgconn.Timeout(err) {
				continue
			}
			return err
		}
		cd, ok := msg.(*pgproto3.CopyData)
		if !ok || len(cd.Data) == 0 || cd.Data[0] != pglogrepl.XLogDataByteID {
			continue
		}
		x, err := pglogrepl.ParseXLogData(cd.Data[1:])
		if err != nil {
			return err
		}
		m, err := pglogrepl.Parse(x.WALData)
		if err != nil {
			return err
		}
		switch m := m.(type) {
		case *pglogrepl.InsertMessage:
			seen++
		case *pglogrepl.CommitMessage:
			pos = m.TransactionEndLSN
		}
	}
	return pglogrepl.SendStandbyStatusUpdate(ctx, conn, pglogrepl.StandbyStatusUpdate{WALWritePosition: pos})
}

func report(what string, n int, d time.Duration, rssKiB int64) {
	fmt.Printf("%-40s %9d changes in %8s: %9.0f changes/s, peak RSS %d MiB\n", what, n, d.Round(time.Millisecond), float64(n)/d.Seconds(), rssKiB/1024)
}
