// Command streams measures stream pipelines (issue 12, Speed): N records in a kfake cluster in this
// process (4 partitions, JSON payloads of about 60 bytes), read by a bare franz-go consumer loop (the
// baseline), then by `aggregator run` child processes: Kafka -> NDJSON file and Kafka -> PostgreSQL
// (upsert by key). A run's time is from its start until its destination holds N records; then it
// is stopped with SIGINT; its peak RSS is its VmHWM, read while it runs, and its CPU time comes
// from the kernel. With -latency, records are produced at a fixed rate instead and the end-to-end
// latency of each is measured at the destination (latency.go).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	n := flag.Int("n", 1_000_000, "records")
	bin := flag.String("bin", "bin/aggregator", "aggregator binary")
	pgURL := flag.String("pg", "postgres://root@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL for the destination (a schema of its own is created)")
	dir := flag.String("dir", "/tmp/aggregator-bench-streams", "work directory")
	flag.StringVar(&runs, "runs", "ndjson,postgres", "which aggregator runs: ndjson, postgres (comma-separated)")
	flag.StringVar(&heapProfile, "heap-profile", "", "with a binary built -tags pprof: save the heap profile of each run (after a GC) to this prefix + run name, when its destination holds every record")
	flag.StringVar(&cpuProfile, "cpu-profile", "", "save a CPU profile of each run (aggregator run --cpu-profile) to this prefix + run name")
	flag.BoolVar(&lat.on, "latency", false, "measure end-to-end latency at a fixed input rate instead of throughput")
	flag.IntVar(&lat.rate, "rate", 10_000, "latency: records produced per second")
	flag.DurationVar(&lat.dur, "duration", 30*time.Second, "latency: how long to produce")
	flag.StringVar(&commitInterval, "commit-interval", "", "aggregator run --commit-interval (default: the CLI's)")
	flag.StringVar(&pgWrite, "pg-write", "{mode: upsert, key: [seq]}", "the PostgreSQL destination's write setting (e.g. {mode: append})")
	flag.StringVar(&progress, "progress", "none", "aggregator run --progress (plain: progress lines in each run's log)")
	flag.Parse()
	if lat.on {
		if err := latency(*bin, *pgURL, *dir); err != nil {
			fmt.Fprintln(os.Stderr, "bench/streams:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*n, *bin, *pgURL, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench/streams:", err)
		os.Exit(1)
	}
}

var runs, heapProfile, cpuProfile, commitInterval, progress, pgWrite string

func want(run string) bool { return slices.Contains(strings.Split(runs, ","), run) }

func run(n int, bin, pgURL, dir string) error {
	ctx := context.Background()
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "bench"))
	if err != nil {
		return err
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	p, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("bench"), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return err
	}
	start := time.Now()
	for lo := 1; lo <= n; lo += 50_000 {
		var recs []*kgo.Record
		for i := lo; i < lo+50_000 && i <= n; i++ {
			recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "%d", i), Value: fmt.Appendf(nil, `{"seq":%d,"name":"customer %d","amount":%d.25}`, i, i, i%1000)})
		}
		if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return err
		}
	}
	p.Close()
	fmt.Printf("produced %d records in %s\n", n, time.Since(start).Round(time.Millisecond))

	// baseline: a bare franz-go consumer loop that counts the records
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("bench"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	start = time.Now()
	for got := 0; got < n; {
		got += len(cl.PollFetches(ctx).Records())
	}
	cl.Close()
	report("bare franz-go consumer loop", n, time.Since(start), 0)

	fields := `fields: [{name: seq, type: int}, {name: name}, {name: amount, type: decimal}], metadata: false`
	out := filepath.Join(dir, "out.ndjson")
	if !want("ndjson") {
		// skipped
	} else if err := stream(bin, dir, "kafka-ndjson", fmt.Sprintf(`version: 1
name: bench-ndjson
sources: [{id: k, type: kafka, config: {brokers: [%q], topics: [bench], group: ndjson, %s}}]
destinations: [{id: out, type: ndjson, inputs: [k], config: {path: %q}}]
`, addr, fields, out), n, (&lineCounter{path: out}).count); err != nil {
		return err
	}

	if !want("postgres") {
		return nil
	}
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("bench_streams_%d", os.Getpid())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	return stream(bin, dir, "kafka-postgres", fmt.Sprintf(`version: 1
name: bench-pg
sources: [{id: k, type: kafka, config: {brokers: [%q], topics: [bench], group: pg, %s}}]
destinations: [{id: out, type: postgres, inputs: [k], config: {url: %q, schema: %s, table: seq}, write: %s}]
`, addr, fields, pgURL, schema, pgWrite), n, func() (int, error) {
		var rows int
		err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM "+schema+".seq").Scan(&rows)
		return rows, err
	})
}

// child is a running `aggregator run` of a pipeline file.
type child struct {
	name   string
	cmd    *exec.Cmd
	log    *os.File
	exited chan error
	hwm    int64 // the child's own peak RSS (KiB), read while it runs
}

func startRun(bin, dir, name, spec string) (*child, error) {
	file := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		return nil, err
	}
	args := []string{"run", file, "--progress", progress, "--state", filepath.Join(dir, name+".state.json")}
	if cpuProfile != "" {
		args = append(args, "--cpu-profile", cpuProfile+name+".pprof")
	}
	if commitInterval != "" {
		args = append(args, "--commit-interval", commitInterval)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DATA_DIR="+dir, "LOG_LEVEL=warn")
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	c := &child{name: name, cmd: cmd, log: logf, exited: make(chan error, 1)}
	go func() { c.exited <- cmd.Wait() }()
	return c, nil
}

// sample reads the child's peak RSS so far.
func (c *child) sample() { c.hwm = max(c.hwm, peakRSS(c.cmd.Process.Pid)) }

// stop sends SIGINT and waits for a clean exit; it returns the CPU time the child used.
func (c *child) stop() (time.Duration, error) {
	defer c.log.Close()
	_ = c.cmd.Process.Signal(os.Interrupt)
	for {
		c.sample()
		select {
		case err := <-c.exited:
			if err != nil {
				return 0, fmt.Errorf("%s: exit after SIGINT: %v (see %s)", c.name, err, c.log.Name())
			}
			return c.cmd.ProcessState.UserTime() + c.cmd.ProcessState.SystemTime(), nil
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// kill stops the child after a failure.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
	c.log.Close()
}

// stream runs the pipeline until the checkpoint it saves after its destination commits covers n
// records (reading the small state file costs the machine less than counting the destination),
// then checks with count that the destination holds them and stops the run with SIGINT.
func stream(bin, dir, name, spec string, n int, count func() (int, error)) error {
	c, err := startRun(bin, dir, name, spec)
	if err != nil {
		return err
	}
	state := filepath.Join(dir, name+".state.json")
	pg0 := postgresCPU()
	start := time.Now()
	type point struct {
		at time.Duration
		n  int
	}
	var commits []point // each checkpoint seen: when, and the records it covers
	for {
		c.sample()
		got, err := committed(state)
		if err != nil {
			c.kill()
			return err
		}
		if got > 0 && (len(commits) == 0 || commits[len(commits)-1].n != got) {
			commits = append(commits, point{time.Since(start), got})
		}
		if got >= n {
			break
		}
		if time.Since(start) > 30*time.Minute {
			c.kill()
			return fmt.Errorf("%s: %d of %d records after 30 minutes (see %s)", name, got, n, c.log.Name())
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	pgCPU := postgresCPU() - pg0
	if heapProfile != "" {
		if err := saveHeap(heapProfile + name + ".pb.gz"); err != nil {
			c.kill()
			return err
		}
	}
	if got, err := count(); err != nil || got != n {
		c.kill()
		return fmt.Errorf("%s: the checkpoint covers %d records but the destination holds %d (%v)", name, n, got, err)
	}
	cpu, err := c.stop()
	if err != nil {
		return err
	}
	report("aggregator run "+name, n, took, c.hwm)
	// Between the first checkpoint and the last one before the final: commits on the row trigger
	// while records keep coming, without the start (process, group join) nor the tail (the last
	// records, fewer than the row trigger, wait for the interval trigger).
	sustained := "-"
	if k := len(commits) - 2; k > 0 {
		sustained = fmt.Sprintf("%.0f", float64(commits[k].n-commits[0].n)/(commits[k].at-commits[0].at).Seconds())
	}
	fmt.Printf("%-36s %d checkpoints, the first after %s; between the first and the last but one %s records/s; CPU %.1f s (%.0f records per CPU second); PostgreSQL server processes' CPU meanwhile %.1f s\n",
		"", len(commits), commits[0].at.Round(time.Millisecond), sustained, cpu.Seconds(), float64(n)/cpu.Seconds(), pgCPU.Seconds())
	return nil
}

// committed sums the Kafka offsets in a run's checkpoint file (the records its destination has
// committed, every partition starting at offset 0).
func committed(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var st struct {
		Sources map[string]struct {
			Offsets map[string]map[string]int64 `json:"offsets"`
		} `json:"sources"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, nil // being replaced: read it again
	}
	n := int64(0)
	for _, src := range st.Sources {
		for _, ps := range src.Offsets {
			for _, o := range ps {
				n += o
			}
		}
	}
	return int(n), nil
}

// postgresCPU is the CPU time used so far by the processes called postgres on this machine (the
// server of the PostgreSQL destination when it runs here; zero elsewhere).
func postgresCPU() time.Duration {
	ents, _ := os.ReadDir("/proc")
	var ticks int64
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime stime: fields 14 and 15, counted after the comm's ')'
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || !bytes.HasSuffix(b[:i], []byte("(postgres")) {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// peakRSS is VmHWM of a running process in KiB (0 once it has exited). The rusage of a waited
// child is no measure: its maxrss counts the memory of this process, which it shared between the
// fork and the exec, and this process holds the kfake cluster with every record.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib
		}
	}
	return 0
}

// saveHeap saves the heap profile (taken after a GC) of a child built with -tags pprof.
func saveHeap(path string) error {
	resp, err := http.Get("http://127.0.0.1:6060/debug/pprof/heap?gc=1")
	if err != nil {
		return fmt.Errorf("heap profile (is the binary built with -tags pprof?): %w", err)
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func report(what string, n int, d time.Duration, rssKiB int64) {
	line := fmt.Sprintf("%-36s %9d records in %8s: %9.0f records/s", what, n, d.Round(time.Millisecond), float64(n)/d.Seconds())
	if rssKiB > 0 {
		line += fmt.Sprintf(", peak RSS %d MiB", rssKiB/1024)
	}
	fmt.Println(line)
}

// lineCounter counts the lines of a growing file, reading only what was added since the last call.
type lineCounter struct {
	path  string
	off   int64
	lines int
	buf   []byte
}

func (c *lineCounter) count() (int, error) {
	f, err := os.Open(c.path)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if c.buf == nil {
		c.buf = make([]byte, 1<<20)
	}
	for {
		n, err := f.ReadAt(c.buf, c.off)
		c.lines += bytes.Count(c.buf[:n], []byte{'\n'})
		c.off += int64(n)
		if err == io.EOF || n == 0 {
			return c.lines, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
