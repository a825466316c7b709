package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dataaggregator/aggregator/internal/testutil"
)

// TestEventsReachEveryAPINode: two API processes (`serve` with RUN_WORKERS=0) and one worker
// process on one PostgreSQL store; a WebSocket client on each API process subscribed to a run
// receives every event of it (status, progress, log lines) with the same numbers 1, 2, 3, ...
// although another process runs it, and GET /runs/{id} on either shows the live counters of a run
// the worker runs. Once through PostgreSQL LISTEN/NOTIFY, once through Redis.
func TestEventsReachEveryAPINode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts three servers")
	}
	bin := aggregatorBinary(t)
	for _, kind := range []string{"postgres", "redis"} {
		t.Run(kind, func(t *testing.T) { testEventsAcrossProcesses(t, bin, kind) })
	}
}

const e2ePassword = "e2e-Password-1234"

func testEventsAcrossProcesses(t *testing.T, bin, kind string) {
	pg := testutil.Postgres(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	var csv bytes.Buffer
	csv.WriteString("id,name\n")
	for i := 1; i <= 5000; i++ {
		fmt.Fprintf(&csv, "%d,name %d\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "files", "in.csv"), csv.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"DATABASE_URL=" + pg.URL, "DATA_DIR=" + dir, "ADMIN_PASSWORD=" + e2ePassword,
		"SECRET_KEY=" + strings.Repeat("e2e-secret-", 4), "API_RATE_LIMIT=0", "LOG_LEVEL=info", "LOG_FORMAT=json",
		"ALLOWED_OUTBOUND_HOSTS=127.0.0.1"}
	if kind == "redis" {
		env = append(env, "REDIS_URL="+testutil.RedisURL(t).URL)
	}
	api1 := startServer(t, bin, "api1", append(env, "RUN_WORKERS=0"))
	api2 := startServer(t, bin, "api2", append(env, "RUN_WORKERS=0"))
	for _, s := range []*serveProc{api1, api2} {
		if got := s.eventsKind(t); got != kind {
			t.Fatalf("%s serves with the %q event bus, want %q", s.name, got, kind)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	token1, token2 := api1.login(t), api2.login(t)
	var p struct{ ID string }
	api1.call(t, token1, "POST", "/api/v1/pipelines", "application/yaml", `version: 1
name: events-e2e
sources: [{id: in, type: csv, config: {path: in.csv}}]
transforms: [{id: f, type: filter, inputs: [in], config: {expression: "id > 0"}}]
destinations: [{id: out, type: ndjson, inputs: [f], config: {path: out.ndjson}, write: {mode: overwrite}}]
`, &p)
	c1, c2 := dialLive(ctx, t, api1, token1), dialLive(ctx, t, api2, token2)
	c1.subscribe(t, "runs")
	c2.subscribe(t, "runs")
	var run struct{ ID string }
	api1.call(t, token1, "POST", "/api/v1/pipelines/"+p.ID+"/run", "application/json", `{}`, &run)
	c1.subscribe(t, "run:"+run.ID)
	c2.subscribe(t, "run:"+run.ID)
	// No process has workers yet: the run waits, queued, until the worker process starts.
	var r struct{ Status string }
	api2.call(t, token2, "GET", "/api/v1/runs/"+run.ID, "", "", &r)
	if r.Status != "queued" {
		t.Fatalf("before the worker process started the run was %s, want queued (RUN_WORKERS=0 runs nothing)", r.Status)
	}
	worker := startWorker(t, bin, append(env, "RUN_WORKERS=1"))

	got1, got2 := c1.runEvents(t, run.ID), c2.runEvents(t, run.ID)
	if !slices.Equal(got1, got2) {
		t.Fatalf("the API processes pushed different events:\napi1 %q\napi2 %q", got1, got2)
	}
	var logs struct {
		Items []struct{ Level, Message string }
	}
	api2.call(t, token2, "GET", "/api/v1/runs/"+run.ID+"/logs?per_page=200", "", "", &logs)
	var wantLogs []string
	for _, l := range logs.Items {
		wantLogs = append(wantLogs, "run.log "+l.Level+" "+l.Message)
	}
	var gotLogs []string
	types := map[string]int{}
	for _, e := range got1 {
		f := strings.Fields(e)
		types[f[1]]++
		if f[1] == "run.log" {
			gotLogs = append(gotLogs, strings.SplitN(e, " ", 2)[1])
		}
	}
	if !slices.Equal(gotLogs, wantLogs) {
		t.Fatalf("pushed log lines\n%q\nstored\n%q", gotLogs, wantLogs)
	}
	if !strings.HasPrefix(got1[0], "1 run.status queued") || !slices.ContainsFunc(got1, func(e string) bool { return strings.HasSuffix(e, " run.status running") }) ||
		!strings.HasPrefix(got1[len(got1)-1], strconv.Itoa(len(got1))+" run.status succeeded") || types["run.progress"] < 1 {
		t.Fatalf("events %q: want queued, running, progress, succeeded", got1)
	}
	liveCountersOnEveryNode(t, api1, api2, token1, token2, pg.BaseURL)

	t.Logf("%s: %d events pushed by both API processes, the run executed by the worker process (pid %d): %q",
		kind, len(got1), worker.cmd.Process.Pid, got1)
}

// liveCountersOnEveryNode: while a slow run (a PostgreSQL query yielding 1,500 rows at about 500
// rows/s) executes on the worker process, GET /runs/{id} on API 2 — which neither created nor runs
// it — shows its live counters (rows per second, counters_at, node counters) from the bus.
func liveCountersOnEveryNode(t *testing.T, api1, api2 *serveProc, token1, token2, pgURL string) {
	t.Helper()
	var conn struct{ ID string }
	api1.call(t, token1, "POST", "/api/v1/connectors", "application/json", `{"name":"slow-pg","type":"postgres","config":{"url":"`+pgURL+
		`","query":"SELECT g AS id, length(pg_sleep(0.002)::text) AS z FROM generate_series(1, 1500) g"}}`, &conn)
	var p, run struct{ ID string }
	api1.call(t, token1, "POST", "/api/v1/pipelines", "application/yaml", `version: 1
name: events-e2e-slow
sources: [{id: in, connector: slow-pg}]
destinations: [{id: out, type: ndjson, inputs: [in], config: {path: slow.ndjson}, write: {mode: overwrite}}]
`, &p)
	api1.call(t, token1, "POST", "/api/v1/pipelines/"+p.ID+"/run", "application/json", `{}`, &run)
	deadline := time.Now().Add(60 * time.Second)
	seen := false
	for {
		var r struct {
			Status        string
			RowsPerSecond *float64   `json:"rows_per_second"`
			CountersAt    *time.Time `json:"counters_at"`
			Nodes         []struct{ In, Out int64 }
		}
		api2.call(t, token2, "GET", "/api/v1/runs/"+run.ID, "", "", &r)
		moved := slices.ContainsFunc(r.Nodes, func(n struct{ In, Out int64 }) bool { return n.In > 0 || n.Out > 0 })
		if r.Status == "running" && r.RowsPerSecond != nil && r.CountersAt != nil && moved {
			seen = true
		}
		if r.Status != "queued" && r.Status != "running" {
			if r.Status != "succeeded" || !seen {
				t.Fatalf("slow run ended %s; live counters seen on API 2 while it ran: %v", r.Status, seen)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("slow run still %s after 60 s", r.Status)
		}
		time.Sleep(100 * time.Millisecond) // polling a REST resource: there is no event to await here
	}
}

// startWorker starts the worker process: `aggregator worker` when the binary has it (it serves no
// HTTP: the run's events say when it works), else a `serve` with workers.
func startWorker(t *testing.T, bin string, env []string) *serveProc {
	t.Helper()
	if exec.Command(bin, "worker", "--help").Run() != nil {
		return startServer(t, bin, "worker", env)
	}
	cmd := exec.Command(bin, "worker")
	cmd.Env = append(os.Environ(), env...)
	s := &serveProc{name: "worker", cmd: cmd, log: &lockedWriter{}}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, s)
	return s
}

// stopOnCleanup interrupts the process when the test ends (killing it after 20 s) and logs its
// output when the test failed.
func stopOnCleanup(t *testing.T, s *serveProc) chan struct{} {
	exited := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", s.name, s.output())
		}
	})
	return exited
}

// serveProc is an `aggregator serve` (or worker) process.
type serveProc struct {
	name string
	base string
	cmd  *exec.Cmd
	log  *lockedWriter
}

func startServer(t *testing.T, bin, name string, env []string) *serveProc {
	t.Helper()
	port := testutil.FreePort(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), append(env, "PORT="+strconv.Itoa(port))...)
	s := &serveProc{name: name, base: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, log: &lockedWriter{}}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := stopOnCleanup(t, s)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-exited:
			t.Fatalf("%s exited:\n%s", name, s.output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 60 s:\n%s", name, s.output())
		}
	}
}

func (s *serveProc) output() string {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return s.log.buf.String()
}

// eventsKind reads the bus the "serving" log line names.
func (s *serveProc) eventsKind(t *testing.T) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(s.output()))
	for sc.Scan() {
		var l struct{ Msg, Events string }
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "serving" {
			return l.Events
		}
	}
	t.Fatalf("%s: no serving line:\n%s", s.name, s.output())
	return ""
}

func (s *serveProc) login(t *testing.T) string {
	t.Helper()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	s.call(t, "", "POST", "/api/v1/auth/login", "application/json", `{"login":"admin","password":"`+e2ePassword+`"}`, &out)
	return out.AccessToken
}

func (s *serveProc) call(t *testing.T, token, method, path, contentType, body string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s on %s: %d %s", method, path, s.name, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, data)
	}
}

// liveClient is a WebSocket client of GET /api/v1/ws.
type liveClient struct {
	ctx  context.Context
	conn *websocket.Conn
	name string
	kept []liveFrame // frames read while waiting for a confirmation, read again first
}

type liveFrame struct {
	Type    string `json:"type"`
	Channel string `json:"channel"`
	Seq     int64  `json:"seq"`
	Data    struct {
		Type   string `json:"type"`
		RunID  string `json:"run_id"`
		Seq    int64  `json:"seq"`
		Status string `json:"status"`
		Log    *struct {
			Level, Message string
		} `json:"log"`
	} `json:"data"`
}

func dialLive(ctx context.Context, t *testing.T, s *serveProc, token string) *liveClient {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.base, "http")+"/api/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	c := &liveClient{ctx: ctx, conn: conn, name: s.name}
	c.send(t, map[string]string{"type": "auth", "token": token})
	if f := c.read(t); f.Type != "authenticated" {
		t.Fatalf("%s: auth answered %+v", s.name, f)
	}
	return c
}

func (c *liveClient) send(t *testing.T, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := c.conn.Write(c.ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

func (c *liveClient) read(t *testing.T) liveFrame {
	t.Helper()
	if len(c.kept) > 0 {
		f := c.kept[0]
		c.kept = c.kept[1:]
		return f
	}
	_, b, err := c.conn.Read(c.ctx)
	if err != nil {
		t.Fatalf("%s: read: %v", c.name, err)
	}
	var f liveFrame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func (c *liveClient) subscribe(t *testing.T, channel string) {
	t.Helper()
	c.send(t, map[string]string{"type": "subscribe", "channel": channel})
	kept := c.kept
	c.kept = nil
	defer func() { c.kept = kept }()
	for {
		f := c.read(t)
		switch {
		case f.Type == "subscribed" && f.Channel == channel:
			return
		case f.Type == "error":
			t.Fatalf("%s: subscribe %s: %+v", c.name, channel, f)
		default:
			kept = append(kept, f)
		}
	}
}

// runEvents reads until the run ends and returns its events in order as "<seq> <type> <status
// | level message>", from "run:<id>" and, for the queued event published before the run channel
// was subscribed, "runs". It checks that the run channel's numbers grow, that an event seen on both
// channels is the same, and that the numbers leave no gap (1 to the last).
func (c *liveClient) runEvents(t *testing.T, runID string) []string {
	t.Helper()
	bySeq := map[int64]string{}
	var last, end int64
	for end == 0 || int64(len(bySeq)) < end {
		f := c.read(t)
		if f.Type != "event" || f.Data.RunID != runID {
			continue
		}
		if f.Seq != f.Data.Seq {
			t.Fatalf("%s: frame seq %d, event seq %d", c.name, f.Seq, f.Data.Seq)
		}
		desc := fmt.Sprintf("%d %s %s", f.Seq, f.Data.Type, f.Data.Status)
		if f.Data.Log != nil {
			desc = fmt.Sprintf("%d %s %s %s", f.Seq, f.Data.Type, f.Data.Log.Level, f.Data.Log.Message)
		}
		if f.Channel == "run:"+runID {
			if f.Seq <= last {
				t.Fatalf("%s: run channel event %q after seq %d", c.name, desc, last)
			}
			last = f.Seq
		}
		if prev, ok := bySeq[f.Seq]; ok && prev != desc {
			t.Fatalf("%s: seq %d is %q on one channel, %q on the other", c.name, f.Seq, prev, desc)
		}
		bySeq[f.Seq] = desc
		if f.Data.Type == "run.status" && (f.Data.Status == "succeeded" || f.Data.Status == "failed" || f.Data.Status == "cancelled") {
			end = f.Seq
		}
		if end > 0 && f.Seq > end {
			t.Fatalf("%s: %q after the run ended at seq %d", c.name, desc, end)
		}
	}
	out := make([]string, 0, end)
	for seq := int64(1); seq <= end; seq++ {
		d, ok := bySeq[seq]
		if !ok {
			t.Fatalf("%s: no event seq %d of %d: %v", c.name, seq, end, bySeq)
		}
		out = append(out, d)
	}
	return out
}

// lockedWriter is a process's output, written by its stdout and stderr copiers.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}
