package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/live"
	"github.com/dataaggregator/aggregator/internal/logstore"
	analytics "github.com/dataaggregator/aggregator/internal/metrics"
	"github.com/dataaggregator/aggregator/internal/queries"
	"github.com/dataaggregator/aggregator/internal/ratelimit"
	"github.com/dataaggregator/aggregator/internal/retention"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// testPassword passes the password policy for every test user.
const testPassword = "Tr1cky-Walrus-Lantern"

// env is one running API over a real store.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	api    *Server
	store  *store.Store
	auth   *auth.Service
	logs   *testutil.SyncBuffer
	users  map[auth.Role]store.User
	tokens map[auth.Role]string // access tokens
	data   *testData            // pipelines, runs, files (data_helpers_test.go)
	hub    *live.Hub            // behind GET /api/v1/ws, running until the test ends
	oauth  *tokenServer         // a Salesforce token endpoint, started on first use (connector_oauth_test.go)
	// logWriter keeps the log records in the store (GET /api/v1/system/logs); Close flushes it.
	logWriter *logstore.Writer
}

type setupOptions struct {
	postgres    bool
	ipLimiter   ratelimit.Limiter
	userLimiter ratelimit.Limiter
	// triggerLimiter locks out wrong webhook tokens (the server's default when nil).
	triggerLimiter auth.LoginLimiter
	cors           []string
	publicURL      string
	maxBody        int64
	authOpts       func(*auth.Options)
	// connectors are registered besides the test data's; runOpts adjusts the run service's options.
	connectors []connector.Connector
	runOpts    func(*runs.Options)
	// live configures the hub behind GET /api/v1/ws; liveAuthTimeout and
	// livePing the connection's auth timeout and ping interval (the defaults when zero).
	live            live.Options
	liveAuthTimeout time.Duration
	livePing        time.Duration
	// queryLimits are the analytics queries' limits (the defaults when zero).
	queryLimits queries.Limits
}

// setup starts the API on a fresh store (SQLite in t.TempDir(), or an
// isolated PostgreSQL schema) with one signed-in user per role.
func setup(t *testing.T, opts setupOptions) *env {
	t.Helper()
	so := store.Options{Dialect: store.SQLite}
	if opts.postgres {
		pg := testutil.Postgres(t)
		so = store.Options{Dialect: store.Postgres, DSN: pg.URL, MaxOpenConns: 4}
	}
	st := storetest.Open(t, so)
	ao := auth.Options{Store: st, Secret: strings.Repeat("k", 40), BcryptCost: bcrypt.MinCost}
	if opts.authOpts != nil {
		opts.authOpts(&ao)
	}
	as, err := auth.NewService(ao)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	logWriter := logstore.NewWriter(logstore.Options{})
	logger := slog.New(logstore.NewHandler(ContextHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), logWriter, RequestUser))
	logWriter.Start(st)
	t.Cleanup(func() { _ = logWriter.Close(context.Background()) })
	data := newTestData(t, st, logger, opts)
	lo := opts.live
	lo.Logger = logger
	if lo.Counts == nil {
		lo.Counts = live.StoreCounts(st)
	}
	hub, err := live.New(data.runs.Broker(), lo)
	if err != nil {
		t.Fatal(err)
	}
	ret, err := retention.New(retention.Options{Store: st, UploadDir: data.deps.UploadDir, OutputDir: data.files, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	an, err := analytics.New(analytics.Options{Store: st, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Deps{
		Analytics: an,
		Live:      LiveDeps{Hub: hub, AuthTimeout: opts.liveAuthTimeout, PingInterval: opts.livePing},
		Retention: ret, SecretRefs: data.refs, Logger: logger, Store: st, Auth: as, Metrics: prometheus.NewRegistry(), Data: data.deps, Alerts: data.alerts,
		Queries:   queries.New(st, data.deps.Connections, opts.queryLimits),
		IPLimiter: opts.ipLimiter, UserLimiter: opts.userLimiter, TriggerLimiter: opts.triggerLimiter,
		CORSOrigins: opts.cors, PublicURL: opts.publicURL, MaxBodyBytes: opts.maxBody, Version: "test",
		Commit: "3f2c1e9a0b7d", BuildDate: "2026-12-06T07:00:00Z",
		System: SystemDeps{LogStats: logWriter.Stats, DataDir: t.TempDir(), StartedAt: time.Now()},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	// The hub stops before the server closes: its connections are hijacked,
	// which the server does not wait for.
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- hub.Run(hubCtx) }()
	t.Cleanup(func() {
		stopHub()
		if err := <-hubDone; err != nil {
			t.Errorf("live hub: %v", err)
		}
	})
	e := &env{t: t, srv: hs, api: srv, store: st, auth: as, logs: logs, data: data, hub: hub, logWriter: logWriter,
		users: map[auth.Role]store.User{}, tokens: map[auth.Role]string{}}
	for _, r := range auth.Roles() {
		u := e.createUser(string(r)+"1", r)
		e.users[r] = u
		e.tokens[r] = e.login(u.Username, testPassword)
	}
	return e
}

// createUser adds a user directly through the auth service.
func (e *env) createUser(username string, role auth.Role) store.User {
	e.t.Helper()
	u, err := e.auth.CreateUser(context.Background(), auth.NewUser{
		Username: username, Email: username + "@example.com", Role: role, Password: testPassword,
	})
	if err != nil {
		e.t.Fatalf("create user %s: %v", username, err)
	}
	return u
}

// login signs in over HTTP and returns the access token.
func (e *env) login(login, password string) string {
	e.t.Helper()
	r := e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"login": login, "password": password})
	if r.status != http.StatusOK {
		e.t.Fatalf("login %s: status %d: %s", login, r.status, r.body)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	r.decode(e.t, &out)
	return out.AccessToken
}

// loginPair signs in and returns both tokens.
func (e *env) loginPair(login string) (access, refresh string) {
	e.t.Helper()
	r := e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"login": login, "password": testPassword})
	if r.status != http.StatusOK {
		e.t.Fatalf("login %s: status %d: %s", login, r.status, r.body)
	}
	var out struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	r.decode(e.t, &out)
	return out.AccessToken, out.RefreshToken
}

type response struct {
	status  int
	header  http.Header
	trailer http.Header // the trailers, read after the body
	body    []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem decodes a problem+json body and checks its content type.
func (r response) problem(t *testing.T) problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, r.body)
	}
	var p problem
	r.decode(t, &p)
	if p.Status != r.status || p.Detail == "" {
		t.Fatalf("problem %+v does not match status %d or lacks a detail", p, r.status)
	}
	return p
}

// do sends a request. body may be nil, a string/[]byte (sent raw) or a value
// (sent as JSON).
func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, trailer: res.Trailer, body: raw}
}

// auditEntries returns every audit entry, newest first.
func (e *env) auditEntries(f store.AuditFilter) []store.AuditEntry {
	e.t.Helper()
	f.Page = store.Page{Limit: store.MaxLimit}
	entries, _, err := e.store.ListAudit(context.Background(), f)
	if err != nil {
		e.t.Fatal(err)
	}
	return entries
}

// eachBackend runs f against a SQLite store and an isolated PostgreSQL schema.
func eachBackend(t *testing.T, f func(t *testing.T, opts setupOptions)) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, setupOptions{postgres: pg})
		})
	}
}
