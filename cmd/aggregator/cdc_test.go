package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/testutil"
)

// TestCDCDeliveryUnderKills is the delivery test for change capture: a PostgreSQL table changes
// (inserts, then updates of every tenth row, then inserts deleted again: over N changes in small
// transactions, after a snapshot of N/10 rows) while a postgres_cdc -> PostgreSQL upsert run is
// killed with SIGKILL at random points ten times and started again; in the end the copy equals the
// table: every change applied, nothing missing, nothing extra. N is 20,000 here (the children run
// under -race); bench/cdc.sh runs 100,000.
func TestCDCDeliveryUnderKills(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes ten times")
	}
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("AGG_CDC_DELIVERY_N")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	src := testutil.Postgres(t)
	conn, err := pgx.Connect(ctx, src.URL)
	if err != nil {
		t.Fatal(err)
	}
	var level string
	if err := conn.QueryRow(ctx, "SHOW wal_level").Scan(&level); err != nil || level != "logical" {
		testutil.Unavailable(t, "PostgreSQL with wal_level = logical", fmt.Errorf("wal_level %q (%v)", level, err))
	}
	slot := testutil.Name("cdc")
	t.Cleanup(func() { dropSlot(t, src.BaseURL, slot) })
	exec := func(c *pgx.Conn, sql string, args ...any) error {
		_, err := c.Exec(ctx, sql, args...)
		return err
	}
	if err := exec(conn, "CREATE TABLE src (seq bigint PRIMARY KEY, payload text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	snap := n / 10
	if err := exec(conn, "INSERT INTO src SELECT g, 'record '||g FROM generate_series(1, $1::bigint) g", snap); err != nil {
		t.Fatal(err)
	}
	source := fmt.Sprintf("type: postgres_cdc\n    config: {url: %q, slot: %s, tables: [%s.src], max_wait_ms: 50, status_interval: 2}", src.BaseURL, slot, src.Schema)
	rig := newStreamRig(t, source, "upsert", nil)

	// the changes, in transactions of 200 rows, while the runs are killed
	produced := make(chan error, 1)
	go func() {
		c, err := pgx.Connect(ctx, src.URL)
		if err != nil {
			produced <- err
			return
		}
		defer c.Close(ctx)
		const tx = 200
		for from := snap + 1; from <= n && err == nil; from += tx {
			err = exec(c, "INSERT INTO src SELECT g, 'record '||g FROM generate_series($1::bigint, $2::bigint) g", from, min(from+tx-1, n))
		}
		for from := 1; from <= n && err == nil; from += 10 * tx {
			err = exec(c, "UPDATE src SET payload = payload || ' updated' WHERE seq % 10 = 0 AND seq BETWEEN $1 AND $2", from, from+10*tx-1)
		}
		for from := n + 1; from <= n+n/20 && err == nil; from += tx {
			err = exec(c, "INSERT INTO src SELECT g, 'doomed' FROM generate_series($1::bigint, $2::bigint) g", from, from+tx-1)
			if err == nil {
				err = exec(c, "DELETE FROM src WHERE seq BETWEEN $1 AND $2", from, from+tx-1)
			}
		}
		produced <- err
	}()
	diff := func() int64 {
		var d int64
		if err := rig.data.QueryRow(ctx, `SELECT count(*) FROM `+src.Schema+`.src s FULL JOIN seq d USING (seq) WHERE s.payload IS DISTINCT FROM d.payload`).Scan(&d); err != nil {
			return -1 // the copy is not created yet
		}
		return d
	}
	for kill := range 10 {
		c := rig.start()
		before, _ := rig.count()
		rig.waitRows(c, min(int64(n), before+1+rand.Int64N(int64(n)/15)), 180*time.Second)
		time.Sleep(time.Duration(rand.IntN(50)) * time.Millisecond)
		if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-c.exited
		rows, _ := rig.count()
		t.Logf("kill %d: %d rows committed", kill+1, rows)
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	c := rig.start()
	deadline := time.Now().Add(time.Duration(max(180, n/500)) * time.Second)
	// the copy may be complete already: wait until this run streams (its signal handler is set)
	for !strings.Contains(rig.logs(c), "streaming: runs until") {
		if time.Now().After(deadline) {
			t.Fatalf("the last run did not start streaming\n%s", rig.logs(c))
		}
		time.Sleep(20 * time.Millisecond) // a child process's output: no event to wait on
	}
	for d := diff(); d != 0; d = diff() {
		if time.Now().After(deadline) {
			t.Fatalf("%d rows differ between the table and its copy\n%s", d, rig.logs(c))
		}
		time.Sleep(50 * time.Millisecond) // polls the copy: a child process has no event to wait on
	}
	rig.interrupt(c)
	missing, extra := rig.missingAndExtra(n)
	if len(missing) > 0 {
		t.Errorf("missing sequence numbers (first 20): %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("extra sequence numbers (first 20): %v", extra)
	}
	if d := diff(); d != 0 {
		t.Errorf("%d rows differ after the clean stop", d)
	}
}

// dropSlot drops a replication slot (a slot left behind keeps WAL on the shared server), waiting
// for a walsender of a killed run to let go of it.
func dropSlot(t *testing.T, url, slot string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Logf("drop slot %s: %v", slot, err)
		return
	}
	defer c.Close(context.Background())
	for {
		_, err := c.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Logf("drop slot %s: %v", slot, err)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := c.Exec(ctx, "DROP PUBLICATION IF EXISTS "+slot); err != nil {
		t.Logf("drop publication %s: %v", slot, err)
	}
}
