// Command alertlatency measures the time from a failed run to its alert's webhook arriving
// (bench/alerts.sh): against a running server, it saves RUNS pipelines whose source file does not
// exist, a webhook channel pointing at its own receiver on 127.0.0.1 and one run_failed rule over
// every pipeline; then it runs the pipelines one after the other and, for each, measures from the
// run's finished_at (the server's clock, the same machine) to the signed webhook arriving. It prints
// p50, p95 and max.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"time"
)

const secret = "alertlatency-secret"

type payload struct {
	Event string `json:"event"`
	Alert struct {
		PipelineID string `json:"pipeline_id"`
		RunID      string `json:"run_id"`
	} `json:"alert"`
}

type arrival struct {
	p  payload
	at time.Time
}

func main() {
	base := flag.String("base", "http://127.0.0.1:18093", "server URL")
	password := flag.String("password", "", "admin password")
	runs := flag.Int("runs", 50, "failed runs to measure")
	flag.Parse()
	if err := run(*base, *password, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "alertlatency:", err)
		os.Exit(1)
	}
}

func run(base, password string, n int) error {
	arrivals := make(chan arrival, n+8)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			at := time.Now()
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			m := hmac.New(sha256.New, []byte(secret))
			m.Write(body)
			if r.Header.Get("X-Aggregator-Signature") != "sha256="+hex.EncodeToString(m.Sum(nil)) {
				http.Error(w, "bad signature", http.StatusUnauthorized)
				return
			}
			var p payload
			_ = json.Unmarshal(body, &p)
			arrivals <- arrival{p, at}
		}))
	}()
	c := &client{base: base}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.call("POST", "/api/v1/auth/login", map[string]string{"login": "admin", "password": password}, &login); err != nil {
		return err
	}
	c.token = login.AccessToken
	var ch struct{ ID string }
	if err := c.call("POST", "/api/v1/alerts/channels", map[string]any{"name": "latency", "type": "webhook",
		"config": map[string]any{"url": "http://" + ln.Addr().String() + "/hook", "secret": secret}}, &ch); err != nil {
		return err
	}
	if err := c.call("POST", "/api/v1/alerts/rules", map[string]any{"name": "any run failed", "condition": map[string]any{"type": "run_failed"},
		"channels": []string{ch.ID}}, nil); err != nil {
		return err
	}
	var lat []time.Duration
	for i := range n {
		spec := fmt.Sprintf("version: 1\nname: latency-%d\nsources:\n  - {id: in, type: csv, config: {path: missing-%d.csv}}\n"+
			"destinations:\n  - {id: out, type: ndjson, inputs: [in], config: {path: out-%d.ndjson}}\n", i, i, i)
		var p struct{ ID string }
		if err := c.callRaw("POST", "/api/v1/pipelines", "application/yaml", []byte(spec), &p); err != nil {
			return err
		}
		var r struct {
			ID         string
			Status     string
			FinishedAt *time.Time `json:"finished_at"`
		}
		if err := c.call("POST", "/api/v1/pipelines/"+p.ID+"/run", nil, &r); err != nil {
			return err
		}
		var got arrival
		select {
		case got = <-arrivals:
		case <-time.After(60 * time.Second):
			return fmt.Errorf("run %d: no webhook within 60s", i)
		}
		if got.p.Alert.PipelineID != p.ID || got.p.Event != "firing" {
			return fmt.Errorf("run %d: unexpected webhook %+v", i, got.p)
		}
		if err := c.call("GET", "/api/v1/runs/"+r.ID, nil, &r); err != nil {
			return err
		}
		if r.Status != "failed" || r.FinishedAt == nil {
			return fmt.Errorf("run %d: %s", i, r.Status)
		}
		lat = append(lat, got.at.Sub(*r.FinishedAt))
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("failed run -> webhook: %d runs  p50 %s  p95 %s  max %s\n", len(lat), pct(0.50).Round(time.Millisecond),
		pct(0.95).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	return nil
}

type client struct{ base, token string }

func (c *client) call(method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	return c.callRaw(method, path, "application/json", body, out)
}

func (c *client) callRaw(method, path, ctype string, body []byte, out any) error {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, b)
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return errors.Join(fmt.Errorf("%s %s: decode", method, path), err)
	}
	return nil
}
