// Command apiload drives one API route with a fixed number of concurrent
// clients for a fixed time and prints throughput and latency percentiles.
// bench/api.sh starts a server, saves the pipelines and runs it.
//
//	apiload -url http://127.0.0.1:8001/api/v1/pipelines -token T -c 100 -d 20s
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "URL to GET")
	token := flag.String("token", "", "bearer token")
	clients := flag.Int("c", 100, "concurrent clients")
	dur := flag.Duration("d", 20*time.Second, "measurement time (after a 2s warm-up)")
	warm := flag.Duration("warmup", 2*time.Second, "warm-up time, not measured")
	pid := flag.Int("pid", 0, "the server's process id: also print its CPU time (user + sys, from /proc) per measured request")
	flag.Parse()
	if *url == "" || *clients < 1 {
		fmt.Fprintln(os.Stderr, "apiload: -url and -c >= 1 are required")
		os.Exit(2)
	}
	if err := run(*url, *token, *clients, *warm, *dur, *pid); err != nil {
		fmt.Fprintln(os.Stderr, "apiload:", err)
		os.Exit(1)
	}
}

func run(url, token string, clients int, warm, dur time.Duration, pid int) error {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	get := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
		}
		return err
	}
	if err := get(context.Background()); err != nil {
		return err
	}

	start := time.Now()
	measureFrom, end := start.Add(warm), start.Add(warm+dur)
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	lat := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			for {
				t0 := time.Now()
				err := get(ctx)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					errs[i] = err
					return
				}
				if t0.After(measureFrom) {
					lat[i] = append(lat[i], time.Since(t0))
				}
			}
		})
	}
	var cpu0, cpu1 time.Duration
	if pid > 0 {
		time.Sleep(time.Until(measureFrom))
		cpu0 = procCPU(pid)
		time.Sleep(time.Until(end))
		cpu1 = procCPU(pid)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return errors.New("no request completed in the measurement window")
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	fmt.Printf("clients %d, %s: %d requests, %.0f requests/s, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		clients, dur, len(all), float64(len(all))/dur.Seconds(), ms(pct(0.50)), ms(pct(0.95)), ms(pct(0.99)), ms(all[len(all)-1]))
	if pid > 0 && cpu0 >= 0 && cpu1 >= 0 {
		fmt.Printf("  server CPU %.2f s in %s, %.0f us per request\n", (cpu1 - cpu0).Seconds(), dur,
			float64(cpu1-cpu0)/1e3/float64(len(all)))
	}
	return nil
}

// procCPU is the user + system CPU time of process pid so far, -1 when
// /proc cannot tell (not Linux, no such process). /proc/<pid>/stat counts
// in clock ticks, 100 a second on Linux.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
