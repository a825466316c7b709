// Command wsfanout measures the live-update fan-out of a running server (issue 9, Speed): it opens
// -conns WebSockets to GET /api/v1/ws, each authenticated and subscribed to "runs", starts -runs
// runs of a CSV -> CSV pipeline (in.csv under the server's DATA_DIR/files), and reports
//
//   - delivery latency of every run.status and run.progress frame on every connection: the time
//     the frame was read minus the event's time (stamped by the server when it was published; the
//     client and the server share the machine's clock), p50 / p90 / p99 / max;
//   - server memory per connection: the server's resident set (process_resident_memory_bytes) and
//     Go heap in use (go_memstats_heap_inuse_bytes) from its /metrics, before the connections and
//     after they are all subscribed, divided by -conns; and its goroutines per connection.
//
// bench/ws.sh starts the server and runs it:
//
//	wsfanout -base http://127.0.0.1:18092 -password P -conns 1000 -runs 10
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

func main() {
	base := flag.String("base", "http://127.0.0.1:18092", "server URL")
	login := flag.String("login", "admin", "user to sign in as")
	password := flag.String("password", "", "password of -login")
	conns := flag.Int("conns", 1000, "WebSocket connections (the server's WS_MAX_CONNECTIONS_PER_USER must allow them)")
	nruns := flag.Int("runs", 10, "concurrent runs (the server needs RUN_WORKERS >= runs)")
	input := flag.String("input", "in.csv", "CSV file under the server's DATA_DIR/files each run reads")
	source := flag.String("source", "", "the source node of each run as a YAML flow mapping with id in (default: a csv source of -input)")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after")
	flag.Parse()
	if *password == "" || *conns < 1 || *nruns < 1 {
		fmt.Fprintln(os.Stderr, "wsfanout: -password, -conns >= 1 and -runs >= 1 are required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if *source == "" {
		*source = "{id: in, type: csv, config: {path: " + *input + "}}"
	}
	if err := run(ctx, *base, *login, *password, *source, *conns, *nruns); err != nil {
		fmt.Fprintln(os.Stderr, "wsfanout:", err)
		os.Exit(1)
	}
}

type frame struct {
	Type    string `json:"type"`
	Channel string `json:"channel"`
	Seq     int64  `json:"seq"`
	Data    struct {
		Type   string    `json:"type"`
		RunID  string    `json:"run_id"`
		Status string    `json:"status"`
		Time   time.Time `json:"time"`
	} `json:"data"`
}

func run(ctx context.Context, base, login, password, source string, nconns, nruns int) error {
	token, err := signIn(ctx, base, login, password)
	if err != nil {
		return err
	}
	before, err := metrics(ctx, base)
	if err != nil {
		return err
	}

	// Connect and subscribe, 50 at a time.
	conns := make([]*websocket.Conn, nconns)
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/ws"
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	var connErr atomic.Value
	for i := range conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := connect(ctx, wsURL, token)
			if err != nil {
				connErr.CompareAndSwap(nil, fmt.Errorf("connection %d: %w", i, err))
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	if err, _ := connErr.Load().(error); err != nil {
		return err
	}
	defer func() {
		for _, c := range conns {
			_ = c.CloseNow()
		}
	}()
	// Let the server settle (goroutines parked, buffers allocated) before reading its memory.
	time.Sleep(2 * time.Second)
	after, err := metrics(ctx, base)
	if err != nil {
		return err
	}

	// Read every connection; record the latency of the run events.
	type result struct {
		lat    []time.Duration
		frames int
		err    error
	}
	results := make([]result, nconns)
	ended := make(chan string, nruns*nconns)
	rctx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	var readers sync.WaitGroup
	for i, c := range conns {
		readers.Go(func() {
			r := &results[i]
			for {
				_, b, err := c.Read(rctx)
				now := time.Now()
				if err != nil {
					if rctx.Err() == nil {
						r.err = err
					}
					return
				}
				if !bytes.HasPrefix(b, []byte(`{"type":"event"`)) {
					continue
				}
				// The event's time is the last "time" of the frame (data.time; a log line's comes
				// before it): read it without decoding the frame, to keep the load generator light.
				t, err := lastTime(b)
				if err != nil {
					r.err = err
					return
				}
				r.frames++
				r.lat = append(r.lat, now.Sub(t))
				if i == 0 && bytes.Contains(b, []byte(`"type":"run.status"`)) {
					var f frame
					if err := json.Unmarshal(b, &f); err != nil {
						r.err = err
						return
					}
					if s := f.Data.Status; s == "succeeded" || s == "failed" || s == "cancelled" {
						ended <- f.Data.RunID + " " + s
					}
				}
			}
		})
	}

	started := time.Now()
	ids, err := startRuns(ctx, base, token, source, nruns)
	if err != nil {
		return err
	}
	statuses := map[string]string{}
	for len(statuses) < len(ids) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("runs not finished: %w", ctx.Err())
		case s := <-ended:
			id, status, _ := strings.Cut(s, " ")
			if slices.Contains(ids, id) {
				statuses[id] = status
			}
		}
	}
	elapsed := time.Since(started)
	// The other connections get the last frames a moment after connection 0.
	time.Sleep(time.Second)
	stopReading()
	readers.Wait()

	var all []time.Duration
	frames, failed := 0, 0
	for i, r := range results {
		if r.err != nil {
			failed++
			if failed == 1 {
				fmt.Fprintf(os.Stderr, "wsfanout: connection %d ended: %v\n", i, r.err)
			}
		}
		frames += r.frames
		all = append(all, r.lat...)
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(float64(len(all))*p))]
	}
	for id, s := range statuses {
		if s != "succeeded" {
			return fmt.Errorf("run %s ended %s", id, s)
		}
	}
	n := float64(nconns)
	fmt.Printf("connections %d, runs %d (%.1fs), event frames delivered %d (%.0f/s), connections ended early %d\n",
		nconns, nruns, elapsed.Seconds(), frames, float64(frames)/elapsed.Seconds(), failed)
	fmt.Printf("delivery latency p50 %s, p90 %s, p99 %s, max %s\n",
		ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.99)), ms(pct(1)))
	fmt.Printf("server RSS %.1f -> %.1f MiB: %.1f KiB per connection; Go heap in use %.1f -> %.1f MiB: %.1f KiB per connection; goroutines %d -> %d (%.1f per connection)\n",
		before.rss/(1<<20), after.rss/(1<<20), (after.rss-before.rss)/n/1024,
		before.heap/(1<<20), after.heap/(1<<20), (after.heap-before.heap)/n/1024,
		int(before.goroutines), int(after.goroutines), (after.goroutines-before.goroutines)/n)
	fmt.Printf("load generator: %d cores, %s\n", runtime.NumCPU(), runtime.Version())
	if failed > 0 {
		return fmt.Errorf("%d connections ended before the runs did", failed)
	}
	return nil
}

// lastTime reads the value of the last "time" field of an encoded frame.
func lastTime(b []byte) (time.Time, error) {
	const key = `"time":"`
	i := bytes.LastIndex(b, []byte(key))
	if i < 0 {
		return time.Time{}, fmt.Errorf("frame without a time: %s", b)
	}
	v := b[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j < 0 {
		return time.Time{}, fmt.Errorf("frame with a broken time: %s", b)
	}
	return time.Parse(time.RFC3339Nano, string(v[:j]))
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
}

func connect(ctx context.Context, url, token string) (*websocket.Conn, error) {
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	send := func(v any) error {
		b, _ := json.Marshal(v)
		return c.Write(ctx, websocket.MessageText, b)
	}
	expect := func(typ string) error {
		_, b, err := c.Read(ctx)
		if err != nil {
			return err
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil || f.Type != typ {
			return fmt.Errorf("got %s, want a %s frame", b, typ)
		}
		return nil
	}
	if err := send(map[string]string{"type": "auth", "token": token}); err != nil {
		return nil, err
	}
	if err := expect("authenticated"); err != nil {
		return nil, err
	}
	if err := send(map[string]string{"type": "subscribe", "channel": "runs"}); err != nil {
		return nil, err
	}
	if err := expect("subscribed"); err != nil {
		return nil, err
	}
	return c, nil
}

func do(ctx context.Context, method, url, token, ctype string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func signIn(ctx context.Context, base, login, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"login": login, "password": password})
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := do(ctx, http.MethodPost, base+"/api/v1/auth/login", "", "application/json", body, &out); err != nil {
		return "", err
	}
	return out.AccessToken, nil
}

// startRuns saves one pipeline per run (each writes its own output) and starts them all.
func startRuns(ctx context.Context, base, token, source string, n int) ([]string, error) {
	stamp := time.Now().UTC().Format("20060102T150405")
	var ids []string
	for i := range n {
		spec := fmt.Sprintf("version: 1\nname: wsfanout-%s-%d\nsources:\n  - %s\n"+
			"destinations:\n  - {id: out, type: csv, inputs: [in], config: {path: wsfanout-out-%d.csv}, write: {mode: overwrite}}\n",
			stamp, i, source, i)
		var p struct {
			ID string `json:"id"`
		}
		if err := do(ctx, http.MethodPost, base+"/api/v1/pipelines", token, "application/yaml", []byte(spec), &p); err != nil {
			return nil, err
		}
		var r struct {
			ID string `json:"id"`
		}
		if err := do(ctx, http.MethodPost, base+"/api/v1/pipelines/"+p.ID+"/run", token, "", nil, &r); err != nil {
			return nil, err
		}
		ids = append(ids, r.ID)
	}
	return ids, nil
}

type serverMetrics struct{ rss, heap, goroutines float64 }

// metrics reads the server's resident set, Go heap in use and goroutines from /metrics.
func metrics(ctx context.Context, base string) (serverMetrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return serverMetrics{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return serverMetrics{}, err
	}
	defer resp.Body.Close()
	var m serverMetrics
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var dst *float64
		switch name {
		case "process_resident_memory_bytes":
			dst = &m.rss
		case "go_memstats_heap_inuse_bytes":
			dst = &m.heap
		case "go_goroutines":
			dst = &m.goroutines
		default:
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return m, fmt.Errorf("/metrics %s: %w", name, err)
		}
		*dst = v
		found++
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if found != 3 {
		return m, errors.New("/metrics lacks process_resident_memory_bytes, go_memstats_heap_inuse_bytes or go_goroutines")
	}
	return m, nil
}
