package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRESTConnectorInTheServer runs a pipeline that reads an OAuth2 API (refresh tokens that rotate:
// each works once) through a saved rest connector, twice: the second run works only if the first
// saved the rotated refresh token into the connector. URLs at 127.0.0.2 (loopback, not allowed) and
// 169.254.169.254 are refused with a message that says why.
func TestRESTConnectorInTheServer(t *testing.T) {
	var mu sync.Mutex
	valid := map[string]bool{"rt-0": true}
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/token":
			_ = r.ParseForm()
			rt := r.Form.Get("refresh_token")
			if !valid[rt] {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"error":"invalid_grant"}`)
				return
			}
			delete(valid, rt)
			n++
			next := fmt.Sprintf("rt-%d", n)
			valid[next] = true
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("at-%d", n), "token_type": "Bearer", "expires_in": 3600, "refresh_token": next})
		case "/items":
			if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer at-") {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `{"data":[{"id":1,"name":"a"},{"id":2,"name":"b"}]}`)
		}
	}))
	t.Cleanup(srv.Close)

	cfg := testConfig(t)
	cfg.AdminPassword = "Rest-Connector-Passw0rd-1"
	cfg.AllowedOutbound = []string{"127.0.0.1"}
	r := start(t, cfg, Options{})
	s := signIn(t, r, cfg.AdminPassword)

	config := map[string]any{"url": srv.URL + "/items", "records_path": "data",
		"auth": map[string]any{"type": "oauth2", "flow": "refresh_token", "token_url": srv.URL + "/token", "client_id": "app", "client_secret": "cs-123", "refresh_token": "rt-0"}}
	var c struct {
		ID     string
		Config map[string]any
	}
	if st := s.call(http.MethodPost, "/api/v1/connectors", map[string]any{"name": "api", "type": "rest", "config": config}, &c); st != http.StatusCreated {
		t.Fatalf("create connector: %d", st)
	}
	if auth := c.Config["auth"].(map[string]any); auth["refresh_token"] != "********" || auth["client_secret"] != "********" {
		t.Errorf("the connector's secrets come back: %v", auth)
	}
	spec := "version: 1\nname: rest-rotation\nsources:\n  - {id: src, connector: api}\ndestinations:\n  - {id: out, type: ndjson, inputs: [src], config: {path: rest-out.ndjson}}\n"
	var p struct{ ID string }
	if st := s.call(http.MethodPost, "/api/v1/pipelines", spec, &p); st != http.StatusCreated {
		t.Fatalf("create pipeline: %d\n%s", st, s.responses.String())
	}
	for i := 1; i <= 2; i++ {
		var run struct{ ID, Status, Error string }
		if st := s.call(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", nil, &run); st != http.StatusAccepted {
			t.Fatalf("run %d: %d", i, st)
		}
		deadline := time.Now().Add(30 * time.Second)
		for run.Status != "succeeded" && run.Status != "failed" && run.Status != "cancelled" {
			if time.Now().After(deadline) {
				t.Fatalf("run %d still %s after 30s", i, run.Status)
			}
			time.Sleep(20 * time.Millisecond) // bounded poll of the REST status
			s.call(http.MethodGet, "/api/v1/runs/"+run.ID, nil, &run)
		}
		if run.Status != "succeeded" {
			t.Fatalf("run %d: %+v (the second needs the refresh token the first saved)", i, run)
		}
	}
	mu.Lock()
	if !valid["rt-2"] || n != 2 {
		t.Errorf("token exchanges = %d, valid = %v; want rt-0 then rt-1 used", n, valid)
	}
	mu.Unlock()

	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	for url, want := range map[string]string{
		"http://127.0.0.2:" + port + "/items":     "refused to connect to 127.0.0.2:" + port + " (loopback address): not allowed unless ALLOWED_OUTBOUND_HOSTS lists it",
		"http://169.254.169.254/latest/meta-data": "refused to connect to 169.254.169.254:80 (link-local / cloud metadata address): not allowed for any connector",
	} {
		var c struct{ ID string }
		if st := s.call(http.MethodPost, "/api/v1/connectors", map[string]any{"name": "x" + fmt.Sprint(len(want)), "type": "rest", "config": map[string]any{"url": url}}, &c); st != http.StatusCreated {
			t.Fatalf("create connector for %s: %d", url, st)
		}
		var check struct {
			OK      bool
			Message string
		}
		if st := s.call(http.MethodPost, "/api/v1/connectors/"+c.ID+"/check", nil, &check); st != http.StatusOK || check.OK || !strings.Contains(check.Message, want) {
			t.Errorf("check %s: %d %+v\nwant a message containing %q", url, st, check, want)
		}
	}
}
