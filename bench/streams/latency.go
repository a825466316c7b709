package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// lat configures the latency mode (-latency): records are produced at a fixed rate, each with the
// time it was produced (sent_us, Unix microseconds), and the latency of each is the time it
// appears at the destination minus that time. Beside each aggregator run, a bare franz-go
// consumer loop in this process reads the same records (latency: when PollFetches returns it).
var lat struct {
	on   bool
	rate int
	dur  time.Duration
}

// latency measures Kafka -> NDJSON (a line's time is when this process reads it from the file,
// which it tails every 2 ms) and Kafka -> PostgreSQL upsert (a row's time is when a query of the
// table, every 10 ms, first returns it).
func latency(bin, pgURL, dir string) error {
	ctx := context.Background()
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "lat-ndjson", "lat-postgres"))
	if err != nil {
		return err
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	fields := `fields: [{name: seq, type: int}, {name: name}, {name: amount, type: decimal}, {name: sent_us, type: int}], metadata: false`
	fmt.Printf("latency: %d records/s for %s, 4 partitions; commit interval %s\n", lat.rate, lat.dur, orDefault(commitInterval, "the CLI's default (5s)"))

	if want("ndjson") {
		out := filepath.Join(dir, "lat.ndjson")
		tail := &tailer{path: out, seen: map[int64]time.Duration{}}
		err := latencyRun(bin, dir, addr, "lat-ndjson", fmt.Sprintf(`version: 1
name: lat-ndjson
sources: [{id: k, type: kafka, config: {brokers: [%q], topics: [lat-ndjson], group: lat, %s}}]
destinations: [{id: out, type: ndjson, inputs: [k], config: {path: %q}}]
`, addr, fields, out), 2*time.Millisecond, tail.poll)
		if err != nil {
			return err
		}
	}
	if !want("postgres") {
		return nil
	}
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("bench_latency_%d", os.Getpid())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	// The destination upserts into this table; arrived is not one of its fields, so each new row
	// takes the default, the time of its insertion. The destination's single connection commits
	// its transactions one after the other, so the rows a poll sees for the first time are those
	// whose arrived is later than any seen before: a row's time is that of the first poll (every
	// 10 ms) that sees it, when its transaction has committed.
	if _, err := conn.Exec(ctx, "CREATE TABLE "+schema+".lat (seq bigint PRIMARY KEY, name text, amount numeric, sent_us bigint, arrived timestamptz NOT NULL DEFAULT clock_timestamp())"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE INDEX ON "+schema+".lat (arrived)"); err != nil {
		return err
	}
	seen := map[int64]time.Duration{}
	var last time.Time
	return latencyRun(bin, dir, addr, "lat-postgres", fmt.Sprintf(`version: 1
name: lat-postgres
sources: [{id: k, type: kafka, config: {brokers: [%q], topics: [lat-postgres], group: lat, %s}}]
destinations: [{id: out, type: postgres, inputs: [k], config: {url: %q, schema: %s, table: lat}, write: {mode: upsert, key: [seq]}}]
`, addr, fields, pgURL, schema), 10*time.Millisecond, func() (map[int64]time.Duration, error) {
		rows, err := conn.Query(ctx, "SELECT seq, sent_us, arrived FROM "+schema+".lat WHERE arrived > $1", last)
		if err != nil {
			return nil, err
		}
		now := time.Now().UnixMicro()
		for rows.Next() {
			var seq, sent int64
			var at time.Time
			if err := rows.Scan(&seq, &sent, &at); err != nil {
				return nil, err
			}
			if at.After(last) {
				last = at
			}
			seen[seq] = time.Duration(now-sent) * time.Microsecond
		}
		return seen, rows.Err()
	})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// latencyRun starts the pipeline and a bare consumer of topic, produces record 0 and waits until
// both have it (the group has joined), then produces records 1..rate*duration at the rate, waits
// until poll has seen every one of them (poll returns seq -> latency of the records seen so far)
// and stops the run.
func latencyRun(bin, dir, addr, topic, spec string, every time.Duration, poll func() (map[int64]time.Duration, error)) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := startRun(bin, dir, topic, spec)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			c.kill()
		}
	}()
	bare, err := startBare(ctx, addr, topic)
	if err != nil {
		return err
	}
	p, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer p.Close()
	produce := func(seq int64) {
		now := time.Now().UnixMicro()
		p.Produce(ctx, &kgo.Record{Key: strconv.AppendInt(nil, seq, 10),
			Value: fmt.Appendf(nil, `{"seq":%d,"name":"customer %d","amount":%d.25,"sent_us":%d}`, seq, seq, seq%1000, now)}, nil)
	}

	wait := func(n int, limit time.Duration) (map[int64]time.Duration, error) {
		deadline := time.Now().Add(limit)
		for {
			c.sample()
			got, err := poll()
			if err != nil {
				return nil, err
			}
			if len(got) >= n {
				return got, nil
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%s: %d of %d records at the destination after %s (see %s)", topic, len(got), n, limit, c.log.Name())
			}
			time.Sleep(every)
		}
	}
	produce(0)
	if _, err := wait(1, 2*time.Minute); err != nil {
		return err
	}
	total := int64(lat.rate) * int64(lat.dur/time.Second)
	// the destination is polled while records are produced
	type result struct {
		got map[int64]time.Duration
		err error
	}
	polled := make(chan result, 1)
	go func() {
		got, err := wait(int(total)+1, lat.dur+5*time.Minute)
		polled <- result{got, err}
	}()
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	for seq := int64(1); seq <= total; {
		<-tick.C
		due := min(total, int64(time.Since(start).Seconds()*float64(lat.rate)))
		for ; seq <= due; seq++ {
			produce(seq)
		}
	}
	tick.Stop()
	if err := p.Flush(ctx); err != nil {
		return err
	}
	produced := time.Since(start)
	res := <-polled
	if res.err != nil {
		return res.err
	}
	got := res.got
	cpu, err := c.stop()
	ok = true
	if err != nil {
		return err
	}
	bareLat := bare.stop(total)
	fmt.Printf("%s: produced %d records in %s (%.0f/s)\n", topic, total, produced.Round(time.Millisecond), float64(total)/produced.Seconds())
	printLatency("  bare franz-go consumer loop", bareLat, total)
	dst := make([]time.Duration, 0, total)
	for seq, d := range got {
		if seq > 0 {
			dst = append(dst, d)
		}
	}
	printLatency("  aggregator run "+topic, dst, total)
	fmt.Printf("  aggregator run: peak RSS %d MiB, CPU %.1f s\n", c.hwm/1024, cpu.Seconds())
	return nil
}

func printLatency(what string, ds []time.Duration, want int64) {
	if len(ds) == 0 {
		fmt.Printf("%-40s no records\n", what)
		return
	}
	slices.Sort(ds)
	q := func(f float64) time.Duration { return ds[min(len(ds)-1, int(f*float64(len(ds))))] }
	fmt.Printf("%-40s %d of %d records: p50 %s, p99 %s, max %s\n", what, len(ds), want,
		q(0.50).Round(100*time.Microsecond), q(0.99).Round(100*time.Microsecond), ds[len(ds)-1].Round(100*time.Microsecond))
}

// bareConsumer reads a topic with franz-go alone and notes each record's latency on receipt.
type bareConsumer struct {
	cl   *kgo.Client
	done chan struct{}
	mu   sync.Mutex
	lat  map[int64]time.Duration
}

func startBare(ctx context.Context, addr, topic string) (*bareConsumer, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	b := &bareConsumer{cl: cl, done: make(chan struct{}), lat: map[int64]time.Duration{}}
	go func() {
		defer close(b.done)
		for {
			fs := cl.PollFetches(ctx)
			if fs.IsClientClosed() || ctx.Err() != nil {
				return
			}
			now := time.Now().UnixMicro()
			b.mu.Lock()
			for _, r := range fs.Records() {
				seq, sent, ok := seqSent(r.Value)
				if ok {
					b.lat[seq] = time.Duration(now-sent) * time.Microsecond
				}
			}
			b.mu.Unlock()
		}
	}()
	return b, nil
}

// stop closes the consumer once it has every record (or after 30 s) and returns the latencies.
func (b *bareConsumer) stop(total int64) []time.Duration {
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.mu.Lock()
		n := len(b.lat)
		b.mu.Unlock()
		if int64(n) > total || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.cl.Close()
	<-b.done
	out := make([]time.Duration, 0, len(b.lat))
	for seq, d := range b.lat {
		if seq > 0 {
			out = append(out, d)
		}
	}
	return out
}

func seqSent(line []byte) (seq, sent int64, ok bool) {
	var v struct {
		Seq    *int64 `json:"seq"`
		SentUS *int64 `json:"sent_us"`
	}
	if json.Unmarshal(line, &v) != nil || v.Seq == nil || v.SentUS == nil {
		return 0, 0, false
	}
	return *v.Seq, *v.SentUS, true
}

// tailer reads the lines appended to a file and notes each record's latency when it reads it.
type tailer struct {
	path    string
	off     int64
	partial []byte
	seen    map[int64]time.Duration
	buf     []byte
}

func (t *tailer) poll() (map[int64]time.Duration, error) {
	f, err := os.Open(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return t.seen, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if t.buf == nil {
		t.buf = make([]byte, 1<<20)
	}
	for {
		n, err := f.ReadAt(t.buf, t.off)
		now := time.Now().UnixMicro()
		t.off += int64(n)
		data := append(t.partial, t.buf[:n]...)
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			if seq, sent, ok := seqSent(data[:i]); ok {
				if _, dup := t.seen[seq]; !dup {
					t.seen[seq] = time.Duration(now-sent) * time.Microsecond
				}
			}
			data = data[i+1:]
		}
		t.partial = append(t.partial[:0], data...)
		if err == io.EOF || n == 0 {
			return t.seen, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
