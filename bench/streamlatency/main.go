// Command streamlatency measures the end-to-end latency of a stream pipeline (issue 12, Speed):
// records are produced at a fixed rate into a kfake cluster in this process (4 partitions), each
// carrying the time it was sent; `aggregator run` streams them into an NDJSON file (append), and
// this process tails the file: a record's latency is from its send until its line is in the file
// (the destination's commit makes it visible, so the commit interval bounds it). The baseline, in
// the same run and at the same rate, is a bare franz-go consumer loop: send until PollFetches
// returns the record.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	rate := flag.Int("rate", 5000, "records per second produced")
	dur := flag.Duration("duration", 20*time.Second, "how long each measurement produces")
	bin := flag.String("bin", "bin/aggregator", "aggregator binary")
	dir := flag.String("dir", "/tmp/aggregator-bench-streamlatency", "work directory")
	intervals := flag.String("commit-intervals", "100ms,1s", "the --commit-interval of each aggregator run (comma-separated)")
	flag.Parse()
	if err := run(*rate, *dur, *bin, *dir, strings.Split(*intervals, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "bench/streamlatency:", err)
		os.Exit(1)
	}
}

func run(rate int, dur time.Duration, bin, dir string, intervals []string) error {
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "lat"))
	if err != nil {
		return err
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	p, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("lat"), kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Printf("rate %d records/s for %s each; 4 partitions; payload {\"seq\":n,\"sent\":unix ns}\n", rate, dur)

	// baseline: a bare consumer loop, from the end of the topic
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("lat"), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var base []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				if sent := sentOf(r.Value); sent > 0 {
					base = append(base, now.Sub(time.Unix(0, sent)))
				}
			})
		}
	}()
	time.Sleep(time.Second) // let the consumer join before the measured records
	seq := produce(p, rate, dur, 0)
	time.Sleep(time.Second)
	cancel()
	<-done
	cl.Close()
	report("bare franz-go consumer loop", base, seq)

	for _, iv := range intervals {
		lats, sent, err := viaAggregator(p, bin, dir, addr, iv, rate, dur, &seq)
		if err != nil {
			return err
		}
		report("aggregator run, --commit-interval "+iv, lats, sent)
	}
	return nil
}

// produce sends rate records a second for dur, stamped with their send time: every 10 ms it sends
// the records due by then (so a late tick does not lower the rate); it returns the last sequence
// number.
func produce(p *kgo.Client, rate int, dur time.Duration, seq int) int {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start, first := time.Now(), seq
	total := int(float64(rate) * dur.Seconds())
	for now := range tick.C {
		due := min(total, int(float64(rate)*now.Sub(start).Seconds()))
		for ; seq-first < due; seq++ {
			p.Produce(context.Background(), &kgo.Record{Key: fmt.Appendf(nil, "%d", seq+1),
				Value: fmt.Appendf(nil, `{"seq":%d,"sent":%d}`, seq+1, time.Now().UnixNano())}, nil)
		}
		if seq-first >= total {
			break
		}
	}
	_ = p.Flush(context.Background())
	return seq
}

// viaAggregator starts `aggregator run` (Kafka -> NDJSON append) with the commit interval, waits
// until it delivers, produces at the rate, and returns the latency of every measured record.
func viaAggregator(p *kgo.Client, bin, dir, addr, interval string, rate int, dur time.Duration, seq *int) (lats []time.Duration, sent int, err error) {
	name := "lat-" + interval
	out := filepath.Join(dir, name+".ndjson")
	spec := fmt.Sprintf(`version: 1
name: %s
sources: [{id: k, type: kafka, config: {brokers: [%q], topics: [lat], group: %s, start: latest, fields: [{name: seq, type: int}, {name: sent, type: int}], metadata: false}}]
destinations: [{id: out, type: ndjson, inputs: [k], config: {path: %q}, write: {mode: append}}]
`, name, addr, name, out)
	file := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		return nil, 0, err
	}
	cmd := exec.Command(bin, "run", file, "--progress", "none", "--state", filepath.Join(dir, name+".state.json"), "--commit-interval", interval)
	cmd.Env = append(os.Environ(), "DATA_DIR="+dir, "LOG_LEVEL=warn")
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, 0, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	t := &tail{path: out}
	// warm up: records sent with sent = 0 until one is in the file (the group has joined)
	for deadline := time.Now().Add(60 * time.Second); ; {
		*seq++
		p.Produce(context.Background(), &kgo.Record{Value: fmt.Appendf(nil, `{"seq":%d,"sent":0}`, *seq)}, nil)
		lines, err := t.read()
		if err != nil {
			return nil, 0, err
		}
		if len(lines) > 0 {
			break
		}
		if time.Now().After(deadline) {
			return nil, 0, fmt.Errorf("%s: nothing delivered after 60s (see %s)", name, logf.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the last warm-up records
	ctx, cancel := context.WithCancel(context.Background())
	var seen atomic.Int64
	done := make(chan error, 1)
	go func() {
		for {
			lines, err := t.read()
			if err != nil {
				done <- err
				return
			}
			now := time.Now()
			for _, l := range lines {
				if at := sentOf(l); at > 0 {
					lats = append(lats, now.Sub(time.Unix(0, at)))
					seen.Add(1)
				}
			}
			select {
			case <-ctx.Done():
				done <- nil
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	first := *seq
	*seq = produce(p, rate, dur, *seq)
	sent = *seq - first
	// every measured record in the file, or 30 s (lats is read by the tail goroutine until done)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && int(seen.Load()) < sent; {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		return nil, 0, err
	}
	_ = cmd.Process.Signal(os.Interrupt)
	return lats, sent, nil
}

// tail reads the lines appended to a file.
type tail struct {
	path string
	f    *os.File
	r    *bufio.Reader
	part []byte
}

func (t *tail) read() ([][]byte, error) {
	if t.f == nil {
		f, err := os.Open(t.path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		t.f, t.r = f, bufio.NewReaderSize(f, 1<<20)
	}
	var out [][]byte
	for {
		b, err := t.r.ReadBytes('\n')
		t.part = append(t.part, b...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, bytes.Clone(t.part))
		t.part = t.part[:0]
	}
}

// sentOf reads "sent":N from a payload or an NDJSON line.
func sentOf(b []byte) int64 {
	_, after, ok := bytes.Cut(b, []byte(`"sent":`))
	if !ok {
		return 0
	}
	end := bytes.IndexAny(after, ",}")
	if end < 0 {
		return 0
	}
	v, _ := strconv.ParseInt(string(after[:end]), 10, 64)
	return v
}

func report(what string, lats []time.Duration, sent int) {
	if len(lats) == 0 {
		fmt.Printf("%-40s no records measured\n", what)
		return
	}
	slices.Sort(lats)
	q := func(p float64) time.Duration {
		return lats[min(len(lats)-1, int(p*float64(len(lats))))].Round(100 * time.Microsecond)
	}
	fmt.Printf("%-40s %7d of %7d records: p50 %8s  p90 %8s  p99 %8s  max %8s\n", what, len(lats), sent, q(0.50), q(0.90), q(0.99), lats[len(lats)-1].Round(100*time.Microsecond))
}
