package httpkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/netguard"
)

// setup serves h on 127.0.0.1 and returns a client whose guard allow-lists it (as
// ALLOWED_OUTBOUND_HOSTS would), with retries that wait a millisecond.
func setup(t *testing.T, h http.HandlerFunc, o Options) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return client(t, o, nil), srv
}

func client(t *testing.T, o Options, save func(context.Context, map[string]string) error) *Client {
	t.Helper()
	g, err := netguard.New(netguard.Options{Allowed: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if o.Limits.RetryBackoffMS == 0 {
		o.Limits.RetryBackoffMS = 1
	}
	if o.Limits.MaxRetries == 0 {
		o.Limits.MaxRetries = 3
	}
	c, err := New(t.Context(), connector.Env{HTTPClient: g.HTTPClient(), SaveCredentials: save}, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func get(t *testing.T, c *Client, u string) (*Response, error) {
	t.Helper()
	return c.Do(t.Context(), Request{URL: u})
}

func TestAuth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		auth *Auth
		ok   func(r *http.Request) bool
	}{
		{"none", nil, func(r *http.Request) bool { return r.Header.Get("Authorization") == "" }},
		{"basic", &Auth{Type: AuthBasic, Username: "ann", Password: "pw"}, func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == "ann" && p == "pw"
		}},
		{"bearer", &Auth{Type: AuthBearer, Token: "tok"}, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer tok" }},
		{"api key in a header", &Auth{Type: AuthAPIKey, Name: "X-API-Key", Value: "k1", In: "header"}, func(r *http.Request) bool { return r.Header.Get("X-API-Key") == "k1" }},
		{"api key in the query", &Auth{Type: AuthAPIKey, Name: "api_key", Value: "k2", In: "query"}, func(r *http.Request) bool {
			return r.URL.Query().Get("api_key") == "k2" && r.URL.Query().Get("q") == "1"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, srv := setup(t, func(w http.ResponseWriter, r *http.Request) {
				if !tc.ok(r) {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				fmt.Fprint(w, `{}`)
			}, Options{Auth: tc.auth})
			if _, err := get(t, c, srv.URL+"/x?q=1"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// tokenServer is an OAuth2 token endpoint: client credentials, and refresh tokens that rotate
// (each refresh_token works once and the answer carries the next one). Tokens expire at once when
// short is set, so every request needs a new one.
type tokenServer struct {
	mu       sync.Mutex
	calls    int
	valid    map[string]bool // refresh tokens that still work
	n        int
	fail     int // status to fail with (0: none)
	short    bool
	accesses map[string]bool
}

func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.calls++
	if ts.fail != 0 {
		w.WriteHeader(ts.fail)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"client secret s3cr3t-value is wrong"}`)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != "app" || secret != "s3cr3t-value" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
		return
	}
	_ = r.ParseForm()
	ts.n++
	out := map[string]any{"access_token": fmt.Sprintf("at-%d", ts.n), "token_type": "Bearer", "expires_in": 3600}
	if ts.short {
		out["expires_in"] = 1 // within x/oauth2's 10 s margin: expired at once
	}
	switch r.Form.Get("grant_type") {
	case "client_credentials":
		if r.Form.Get("scope") != "read write" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
	case "refresh_token":
		rt := r.Form.Get("refresh_token")
		if !ts.valid[rt] {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_grant"}`)
			return
		}
		delete(ts.valid, rt)
		next := fmt.Sprintf("rt-%d", ts.n)
		ts.valid[next] = true
		out["refresh_token"] = next
	default:
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	ts.accesses[out["access_token"].(string)] = true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (ts *tokenServer) api(w http.ResponseWriter, r *http.Request) {
	ts.mu.Lock()
	ok := ts.accesses[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	ts.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	fmt.Fprint(w, `{"ok":true}`)
}

func oauthSetup(t *testing.T, ts *tokenServer) (tokenURL, apiURL string) {
	ts.valid, ts.accesses = map[string]bool{"rt-0": true}, map[string]bool{}
	mux := http.NewServeMux()
	mux.Handle("/token", ts)
	mux.HandleFunc("/api", ts.api)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/token", srv.URL + "/api"
}

func TestOAuth2ClientCredentials(t *testing.T) {
	t.Parallel()
	ts := &tokenServer{}
	tokenURL, api := oauthSetup(t, ts)
	c := client(t, Options{Auth: &Auth{Type: AuthOAuth2, Flow: "client_credentials", TokenURL: tokenURL, ClientID: "app", ClientSecret: "s3cr3t-value", Scopes: []string{"read", "write"}}}, nil)
	for range 3 {
		if _, err := get(t, c, api); err != nil {
			t.Fatal(err)
		}
	}
	if ts.calls != 1 {
		t.Errorf("token requests = %d, want 1 (the token is reused while valid)", ts.calls)
	}
	// A token that expires is fetched again.
	ts.short = true
	c.auth.invalidate()
	for range 2 {
		if _, err := get(t, c, api); err != nil {
			t.Fatal(err)
		}
	}
	if ts.calls != 3 {
		t.Errorf("token requests = %d, want 3 (an expired token is refreshed)", ts.calls)
	}
}

func TestOAuth2RefreshTokenRotationIsSavedBack(t *testing.T) {
	t.Parallel()
	ts := &tokenServer{short: true}
	tokenURL, api := oauthSetup(t, ts)
	var saved []map[string]string
	save := func(_ context.Context, f map[string]string) error { saved = append(saved, f); return nil }
	c := client(t, Options{Auth: &Auth{Type: AuthOAuth2, Flow: "refresh_token", TokenURL: tokenURL, ClientID: "app", ClientSecret: "s3cr3t-value", RefreshToken: "rt-0"}}, save)
	for range 3 {
		if _, err := get(t, c, api); err != nil {
			t.Fatal(err)
		}
	}
	// Each refresh used the token the previous one rotated to, and each new one was saved.
	want := []map[string]string{{"auth.refresh_token": "rt-1"}, {"auth.refresh_token": "rt-2"}, {"auth.refresh_token": "rt-3"}}
	if fmt.Sprint(saved) != fmt.Sprint(want) {
		t.Errorf("saved = %v, want %v", saved, want)
	}
	// Without a saved connector (the CLI) the rotation still works for the run, with a warning.
	ts2 := &tokenServer{short: true}
	tokenURL2, api2 := oauthSetup(t, ts2)
	c2 := client(t, Options{Auth: &Auth{Type: AuthOAuth2, Flow: "refresh_token", TokenURL: tokenURL2, ClientID: "app", ClientSecret: "s3cr3t-value", RefreshToken: "rt-0"}}, nil)
	for range 2 {
		if _, err := get(t, c2, api2); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTokenEndpointFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status    int
		wantCalls int
	}{
		// x/oauth2 tries the client credentials in the Authorization header, then in the form: two
		// requests per attempt until one succeeds.
		{http.StatusUnauthorized, 2},        // the credentials are wrong: no retry
		{http.StatusInternalServerError, 8}, // the provider is down: retried (3 retries)
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			t.Parallel()
			ts := &tokenServer{fail: tc.status}
			tokenURL, api := oauthSetup(t, ts)
			c := client(t, Options{Auth: &Auth{Type: AuthOAuth2, TokenURL: tokenURL, ClientID: "app", ClientSecret: "s3cr3t-value"}}, nil)
			_, err := get(t, c, api)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, want := range []string{"OAuth2 token request to " + tokenURL, fmt.Sprint(tc.status), `"error":"invalid_client"`} {
				if !strings.Contains(msg, want) {
					t.Errorf("err = %s\nwant it to contain %s", msg, want)
				}
			}
			if strings.Contains(msg, "s3cr3t-value") {
				t.Errorf("the error shows the client secret: %s", msg)
			}
			if ts.calls != tc.wantCalls {
				t.Errorf("token requests = %d, want %d", ts.calls, tc.wantCalls)
			}
		})
	}
	// A token URL the guard refuses is said so, not retried.
	c := client(t, Options{Auth: &Auth{Type: AuthOAuth2, TokenURL: "http://169.254.169.254/token", ClientID: "app"}}, nil)
	_, err := get(t, c, "http://127.0.0.1:1/")
	if err == nil || !strings.Contains(err.Error(), "not allowed for any connector") || !strings.Contains(err.Error(), "OAuth2 token request to http://169.254.169.254/token") {
		t.Errorf("err = %v", err)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		answers   []int  // statuses before a 200
		header    string // Retry-After of the first answer
		wantErr   string
		wantCalls int
		minWait   time.Duration
	}{
		{name: "429 honours Retry-After seconds", answers: []int{429}, header: "1", wantCalls: 2, minWait: time.Second},
		{name: "503 honours Retry-After as a date", answers: []int{503}, header: "date", wantCalls: 2, minWait: 500 * time.Millisecond},
		{name: "5xx back off", answers: []int{500, 502, 504}, wantCalls: 4},
		{name: "gives up after max_retries", answers: []int{500, 500, 500, 500, 500}, wantCalls: 4,
			wantErr: "GET %s/x: 500 Internal Server Error (after 4 attempts): {\"error\":\"boom\"}"},
		{name: "a Retry-After above max_retry_wait fails", answers: []int{429}, header: "3600", wantCalls: 1,
			wantErr: "the server asks to retry after 1h0m0s, more than max_retry_wait (300s)"},
		{name: "4xx is not retried", answers: []int{404}, wantCalls: 1, wantErr: "GET %s/x: 404 Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			c, srv := setup(t, func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				if n > len(tc.answers) {
					fmt.Fprint(w, `{"ok":true}`)
					return
				}
				switch {
				case n == 1 && tc.header == "date":
					w.Header().Set("Retry-After", time.Now().Add(1500*time.Millisecond).UTC().Format(http.TimeFormat))
				case n == 1 && tc.header != "":
					w.Header().Set("Retry-After", tc.header)
				}
				w.WriteHeader(tc.answers[n-1])
				fmt.Fprint(w, `{"error":"boom"}`)
			}, Options{})
			start := time.Now()
			_, err := get(t, c, srv.URL+"/x")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), strings.ReplaceAll(tc.wantErr, "%s", srv.URL))):
				t.Fatalf("err = %v\nwant it to contain %q", err, tc.wantErr)
			}
			if int(calls.Load()) != tc.wantCalls {
				t.Errorf("requests = %d, want %d", calls.Load(), tc.wantCalls)
			}
			if d := time.Since(start); d < tc.minWait {
				t.Errorf("retried after %s, want at least %s", d, tc.minWait)
			}
		})
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	t.Parallel()
	c := &Client{lim: Limits{RetryBackoffMS: 100}}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 30: maxBackoff} {
		for range 50 {
			if d := c.backoff(attempt); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", attempt, d, want/2, want)
			}
		}
	}
}

func TestRequestRate(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var times []time.Time
	c, srv := setup(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		fmt.Fprint(w, `{}`)
	}, Options{Limits: Limits{RequestsPerSecond: 20}})
	for range 5 {
		if _, err := get(t, c, srv.URL); err != nil {
			t.Fatal(err)
		}
	}
	if d := times[4].Sub(times[0]); d < 190*time.Millisecond {
		t.Errorf("5 requests at 20/s took %s, want at least 200ms", d)
	}
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	c, srv := setup(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stall-body" {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			fmt.Fprint(w, `{"a":`)
			w.(http.Flusher).Flush()
		}
		select { // a server that never answers (until the test ends or the client leaves)
		case <-release:
		case <-r.Context().Done():
		}
	}, Options{Limits: Limits{ConnectTimeout: 0.2, ReadTimeout: 0.2, MaxRetries: 1}})
	for path, want := range map[string]string{
		"/never":      "no response within connect_timeout (0.2s) (after 2 attempts)",
		"/stall-body": "the body stopped arriving for read_timeout (0.2s)",
	} {
		start := time.Now()
		_, err := get(t, c, srv.URL+path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), srv.URL+path) {
			t.Errorf("%s: err = %v\nwant it to name the URL and contain %q", path, err, want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: gave up after %s", path, d)
		}
	}
}

// A 3 GB response (streamed by the server, never held) stops at max_response_bytes: the client
// reads a bounded amount, the server stops sending, memory stays flat.
func TestSizeCapStopsAHugeResponse(t *testing.T) {
	t.Parallel()
	var sent atomic.Int64
	chunk := []byte(strings.Repeat(`{"id":1234567890,"name":"x"},`, 2048))
	c, srv := setup(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(int64(3)<<30))
		for sent.Load() < 3<<30 {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}, Options{Limits: Limits{MaxResponseBytes: 4 << 20}})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := get(t, c, srv.URL+"/huge")
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "(4194304 bytes); stopped reading") {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if a := after.TotalAlloc - before.TotalAlloc; a > 64<<20 {
		t.Errorf("allocated %d MB reading a capped response", a>>20)
	}
	srv.CloseClientConnections()
	if s := sent.Load(); s > 256<<20 {
		t.Errorf("the server sent %d MB before the client stopped", s>>20)
	}
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	c, srv := setup(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var n int
		fmt.Sscanf(r.URL.Path, "/hop/%d", &n)
		if n == 0 {
			fmt.Fprint(w, `{}`)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
	}, Options{})
	if _, err := get(t, c, srv.URL+"/hop/5"); err != nil {
		t.Errorf("5 redirects: %v", err)
	}
	calls.Store(0)
	_, err := get(t, c, srv.URL+"/hop/9")
	if err == nil || !strings.Contains(err.Error(), "stopped after 5 redirects") {
		t.Errorf("9 redirects: err = %v", err)
	}
	if calls.Load() != 6 {
		t.Errorf("requests = %d, want 6 (a redirect loop is not retried)", calls.Load())
	}
}

func TestErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	c, srv := setup(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"error":"key %s is not allowed; %s"}%s`, r.URL.Query().Get("api_key"), strings.Repeat("x", 1000), "END")
	}, Options{Auth: &Auth{Type: AuthAPIKey, Name: "api_key", Value: "very-secret-key", In: "query"}})
	_, err := get(t, c, srv.URL+"/items?page=2&access_token=tok123")
	msg := err.Error()
	for _, leak := range []string{"very-secret-key", "tok123", "END"} {
		if strings.Contains(msg, leak) {
			t.Errorf("the error contains %q: %s", leak, msg)
		}
	}
	for _, want := range []string{"GET " + srv.URL + "/items?access_token=REDACTED&page=2: 403 Forbidden: ", `{"error":"key REDACTED is not allowed`} {
		if !strings.Contains(msg, want) {
			t.Errorf("err = %s\nwant it to contain %s", msg, want)
		}
	}
	// User info in a URL is hidden too.
	if got := c.Redact("https://bob:pw@api.example.com/x?sig=abc&q=1"); got != "https://REDACTED@api.example.com/x?q=1&sig=REDACTED" {
		t.Errorf("Redact = %s", got)
	}
}

func TestGuardRefusesUnlistedPrivateAddresses(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	t.Cleanup(srv.Close)
	g, _ := netguard.New(netguard.Options{})
	c, err := New(t.Context(), connector.Env{HTTPClient: g.HTTPClient()}, Options{Limits: Limits{MaxRetries: 3, RetryBackoffMS: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{srv.URL, "http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.1]:9/"} {
		_, err := get(t, c, u)
		if !errors.Is(err, netguard.ErrRefused) || !strings.Contains(err.Error(), "refused to connect") {
			t.Errorf("%s: err = %v, want a refusal that says why", u, err)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("the server was reached %d times", calls.Load())
	}
	if _, err := get(t, c, "file:///etc/passwd"); !errors.Is(err, connector.ErrConfig) {
		t.Errorf("file URL: err = %v", err)
	}
}

// A token the provider revoked before it expired (401) is fetched again once, then the request is
// retried.
func TestOAuth2RevokedTokenIsFetchedAgain(t *testing.T) {
	t.Parallel()
	ts := &tokenServer{}
	tokenURL, api := oauthSetup(t, ts)
	c := client(t, Options{Auth: &Auth{Type: AuthOAuth2, TokenURL: tokenURL, ClientID: "app", ClientSecret: "s3cr3t-value", Scopes: []string{"read", "write"}}}, nil)
	if _, err := get(t, c, api); err != nil {
		t.Fatal(err)
	}
	ts.mu.Lock()
	ts.accesses = map[string]bool{} // every token issued so far is revoked
	ts.mu.Unlock()
	if _, err := get(t, c, api); err != nil {
		t.Fatalf("after a revocation: %v", err)
	}
	if ts.calls != 2 {
		t.Errorf("token requests = %d, want 2", ts.calls)
	}
}
