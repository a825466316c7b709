// Command bus measures the run event buses (issue 10, Speed):
//
//   - -mode throughput: events per second through a bus, from one instance to another in this
//     process (two connections, as two processes would have): -events log events of one run are
//     published with at most -window in flight (so that the outbox never overflows), and the
//     time until the last arrives gives events/s. -bus memory | postgres | redis.
//   - -mode latency: publish-to-WebSocket latency across processes: this process publishes
//     -events log events through the bus of a running server's store (-dsn for PostgreSQL,
//     -redis for Redis, with the server's key prefix "aggregator:") at -rate per second, while a
//     WebSocket client of the server (-base, signed in as -login/-password) subscribed to the
//     run's channel reads them; latency = time read - time published (one machine, one clock),
//     p50 / p99 / max, and how many were lost.
//
// bench/bus.sh starts the server and runs every mode.
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
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/dataaggregator/aggregator/internal/bus"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

func main() {
	mode := flag.String("mode", "throughput", "throughput | latency")
	kind := flag.String("bus", "postgres", "memory | postgres | redis")
	dsn := flag.String("dsn", "", "PostgreSQL URL of the store (with its search_path)")
	redisURL := flag.String("redis", "redis://127.0.0.1:6379/0", "Redis URL")
	prefix := flag.String("prefix", "aggregator:", "Redis key prefix (the server's)")
	events := flag.Int("events", 20000, "events to publish")
	window := flag.Int("window", 2000, "throughput: events in flight at most")
	rate := flag.Int("rate", 1000, "latency: events per second")
	base := flag.String("base", "http://127.0.0.1:18093", "latency: server URL")
	login := flag.String("login", "admin", "latency: user")
	password := flag.String("password", "", "latency: password of -login")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	switch *mode {
	case "throughput":
		err = throughput(ctx, *kind, *dsn, *redisURL, *prefix, *events, *window)
	case "latency":
		err = latency(ctx, *kind, *dsn, *redisURL, *prefix, *events, *rate, *base, *login, *password)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bus:", err)
		os.Exit(1)
	}
}

// open returns a new bus instance of kind (memory: the same broker every time).
func open(ctx context.Context, kind, dsn, redisURL, prefix string, memory *runs.Broker) (runs.Bus, func(), error) {
	switch kind {
	case "memory":
		return memory, func() {}, nil
	case "postgres":
		b, err := bus.NewPostgres(ctx, bus.PostgresOptions{DSN: dsn})
		if err != nil {
			return nil, nil, err
		}
		return b, b.Close, nil
	case "redis":
		opt, err := redis.ParseURL(redisURL)
		if err != nil {
			return nil, nil, err
		}
		c := redis.NewClient(opt)
		b, err := bus.NewRedis(ctx, bus.RedisOptions{Client: c, Prefix: prefix})
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		return b, func() { b.Close(); c.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unknown -bus %q", kind)
}

func event(run string, i int) runs.Event {
	return runs.Event{Type: runs.EventLog, RunID: run, PipelineID: "bench", Status: store.RunRunning,
		Log:  &runs.LogLine{Level: "info", Message: fmt.Sprintf("line %d of the benchmark, about as long as a real one", i), Time: time.Now()},
		Time: time.Now()}
}

func throughput(ctx context.Context, kind, dsn, redisURL, prefix string, n, window int) error {
	memory := runs.NewBroker()
	pub, closePub, err := open(ctx, kind, dsn, redisURL, prefix, memory)
	if err != nil {
		return err
	}
	defer closePub()
	sub, closeSub, err := open(ctx, kind, dsn, redisURL, prefix, memory)
	if err != nil {
		return err
	}
	defer closeSub()
	run := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	ch, stop := sub.Subscribe(runs.ForRun(run), window*2)
	defer stop()
	start := time.Now()
	sent, got := 0, 0
	var last int64
	gaps := 0
	for got < n {
		for sent < n && sent-got < window {
			pub.Publish(event(run, sent))
			sent++
		}
		select {
		case e := <-ch:
			if last != 0 && e.Seq != last+1 {
				gaps++
			}
			last = e.Seq
			got++
		case <-ctx.Done():
			return fmt.Errorf("%d of %d events arrived: %w", got, n, ctx.Err())
		}
	}
	d := time.Since(start)
	fmt.Printf("bus=%s mode=throughput events=%d window=%d seconds=%.2f events_per_second=%.0f gaps=%d\n",
		kind, n, window, d.Seconds(), float64(n)/d.Seconds(), gaps)
	return nil
}

func latency(ctx context.Context, kind, dsn, redisURL, prefix string, n, rate int, base, login, password string) error {
	token, err := signIn(ctx, base, login, password)
	if err != nil {
		return err
	}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/ws", nil)
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	run := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	for _, f := range []map[string]string{{"type": "auth", "token": token}, {"type": "subscribe", "channel": "run:" + run}} {
		b, _ := json.Marshal(f)
		if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
			return err
		}
	}
	for ready := false; !ready; {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		var f struct{ Type string }
		_ = json.Unmarshal(b, &f)
		if f.Type == "error" {
			return fmt.Errorf("server: %s", b)
		}
		ready = f.Type == "subscribed"
	}
	pub, closePub, err := open(ctx, kind, dsn, redisURL, prefix, runs.NewBroker())
	if err != nil {
		return err
	}
	defer closePub()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := range n {
			<-tick.C
			pub.Publish(event(run, i))
		}
	}()
	var lat []time.Duration
	var last int64
	gaps := 0
read:
	for len(lat) < n {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, b, err := conn.Read(rctx)
		cancel()
		if err != nil {
			select {
			case <-done: // all published; what did not come in 5 s is lost
				break read
			default:
				return err
			}
		}
		now := time.Now()
		var f struct {
			Type string
			Seq  int64
			Data struct{ Time time.Time }
		}
		if json.Unmarshal(b, &f) != nil || f.Type != "event" {
			continue
		}
		if last != 0 && f.Seq != last+1 {
			gaps++
		}
		last = f.Seq
		lat = append(lat, now.Sub(f.Data.Time))
	}
	<-done
	if len(lat) == 0 {
		return errors.New("no event arrived")
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("bus=%s mode=latency events=%d rate=%d/s received=%d gaps=%d p50=%v p99=%v max=%v\n",
		kind, n, rate, len(lat), gaps, q(0.50).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
	return nil
}

func signIn(ctx context.Context, base, login, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"login": login, "password": password})
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("sign in: %d %s", resp.StatusCode, data)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	return out.AccessToken, json.Unmarshal(data, &out)
}
