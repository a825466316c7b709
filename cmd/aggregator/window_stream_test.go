package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dataaggregator/aggregator/internal/connector/kafka/kafkatest"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// windowEpoch is the event time of sequence number 0; record i happens i x 10 ms later.
var windowEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func windowPayload(i int) []byte {
	return fmt.Appendf(nil, `{"seq":%d,"ts":%q}`, i, windowEpoch.Add(time.Duration(i)*10*time.Millisecond).Format(time.RFC3339Nano))
}

// TestStreamWindowUnderKills is the "done when" as a new user would try it: a YAML pipeline
// streams a Kafka topic into a PostgreSQL table and, beside it, a one-minute windowed count into
// another, while `aggregator run` is killed with SIGKILL at random points and started again. The
// windows stay open through every kill (the watermark allows an hour of out-of-orderness), so their
// counts live only in the checkpoints; in the end every record is in the table once and every
// window counts each of its records exactly once.
func TestStreamWindowUnderKills(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes")
	}
	const n = 30_000 // 300 s of event time: minutes 0..5
	addrs := kafkatest.Cluster(t, "seq", 4)
	prod := kafkatest.Client(t, addrs, kgo.DefaultProduceTopic("seq"), kgo.ProducerLinger(0))
	produce := func(from, to int) {
		var recs []*kgo.Record
		for i := from; i <= to; i++ {
			recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "%d", i), Value: windowPayload(i)})
		}
		kafkatest.Produce(t, prod, recs...)
	}

	pg := testutil.Postgres(t)
	conn, err := pgx.Connect(context.Background(), pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	rig := &streamRig{t: t, dir: t.TempDir(), data: conn}
	rig.file = filepath.Join(rig.dir, "stream.yaml")
	spec := fmt.Sprintf(`version: 1
name: orders-per-minute
sources:
  - id: src
    type: kafka
    config: {brokers: [%q], topics: [seq], group: agg, fields: [{name: seq, type: int}, {name: ts, type: timestamp}], metadata: false, instance_id: agg-1, session_timeout_ms: 6000}
transforms:
  - id: per_minute
    type: window
    inputs: [src]
    config:
      time_field: ts
      size: 1m
      watermark: 1h
      aggregates: [{name: records, function: count}, {name: seq_sum, function: sum, field: seq}]
destinations:
  - id: dst
    type: postgres
    inputs: [src]
    config: {url: %q, table: seq}
    write: {mode: upsert, key: [seq]}
  - id: counts
    type: postgres
    inputs: [per_minute]
    config: {url: %q, table: counts}
    write: {mode: upsert, key: [window_start]}
`, addrs[0], pg.URL, pg.URL)
	if err := os.WriteFile(rig.file, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rig.killAll)

	produce(1, n)
	for kill := range 5 {
		c := rig.start()
		before, _ := rig.count()
		rig.waitRows(c, min(int64(n), before+1+rand.Int64N(int64(n)/10)), 120*time.Second)
		time.Sleep(time.Duration(rand.IntN(50)) * time.Millisecond) // a random point after some commits
		if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-c.exited
		rows, _ := rig.count()
		t.Logf("kill %d: %d rows committed", kill+1, rows)
	}
	c := rig.start()
	rig.waitRows(c, n, 180*time.Second)
	// Every record was read: one record two hours on moves the watermark past every window of 1..n.
	kafkatest.Produce(t, prod, &kgo.Record{Key: []byte("closer"),
		Value: fmt.Appendf(nil, `{"seq":%d,"ts":%q}`, n+1, windowEpoch.Add(2*time.Hour).Format(time.RFC3339Nano))})
	want := map[string]string{}
	for i := int64(1); i <= n; i++ {
		m := windowEpoch.Add(time.Duration(i) * 10 * time.Millisecond).Truncate(time.Minute).Format(time.RFC3339)
		want[m] = ""
	}
	counts, sums := map[string]int64{}, map[string]int64{}
	for i := int64(1); i <= n; i++ {
		m := windowEpoch.Add(time.Duration(i) * 10 * time.Millisecond).Truncate(time.Minute).Format(time.RFC3339)
		counts[m]++
		sums[m] += i
	}
	for m := range want {
		want[m] = fmt.Sprintf("%d records, seq sum %d", counts[m], sums[m])
	}
	got := waitWindows(rig, c, len(want), 120*time.Second)
	rig.interrupt(c)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("windows (-want +got):\n%s", diff)
	}
	missing, extra := rig.missingAndExtra(n + 1)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("missing sequence numbers %v, extra %v", missing, extra)
	}
}

// waitWindows polls the counts table until it holds want windows, and returns them.
func waitWindows(rig *streamRig, c *child, want int, limit time.Duration) map[string]string {
	rig.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got := map[string]string{}
		var exists bool
		if err := rig.data.QueryRow(context.Background(), `SELECT to_regclass('counts') IS NOT NULL`).Scan(&exists); err != nil {
			rig.t.Fatal(err)
		}
		if exists {
			rows, err := rig.data.Query(context.Background(), `SELECT window_start, records, seq_sum FROM counts ORDER BY window_start`)
			if err != nil {
				rig.t.Fatal(err)
			}
			for rows.Next() {
				var start time.Time
				var records, sum int64
				if err := rows.Scan(&start, &records, &sum); err != nil {
					rig.t.Fatal(err)
				}
				got[start.UTC().Format(time.RFC3339)] = fmt.Sprintf("%d records, seq sum %d", records, sum)
			}
			rows.Close()
		}
		if len(got) >= want {
			return got
		}
		select {
		case <-c.exited:
			rig.t.Fatalf("the run exited (%v) with %d of %d windows\n%s", c.err, len(got), want, rig.logs(c))
		default:
		}
		if time.Now().After(deadline) {
			rig.t.Fatalf("%d of %d windows after %s: %v\n%s", len(got), want, limit, got, rig.logs(c))
		}
		time.Sleep(50 * time.Millisecond) // the table is polled: a child process has no event to wait on
	}
}
