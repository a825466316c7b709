package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/ratelimit"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

func TestRequestIDAcceptedGeneratedAndLogged(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	r := e.do("GET", "/api/v1/auth/me", e.tokens[auth.RoleViewer], nil, "X-Request-ID", "client-req-42")
	if got := r.header.Get("X-Request-ID"); got != "client-req-42" {
		t.Fatalf("X-Request-ID %q, want the client's", got)
	}
	for _, bad := range []string{"", "has spaces", strings.Repeat("x", 200), "semi;colon"} {
		r := e.do("GET", "/healthz", "", nil, "X-Request-ID", bad)
		got := r.header.Get("X-Request-ID")
		if got == "" || got == bad || len(got) != 36 {
			t.Errorf("for %q the server returned id %q, want a generated UUID", bad, got)
		}
	}
	// The access log line carries the id.
	var found bool
	for _, line := range strings.Split(e.logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec["msg"] == "request" && rec["request_id"] == "client-req-42" && rec["route"] == "GET /api/v1/auth/me" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no access log line with the request id:\n%s", e.logs.String())
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	for _, path := range []string{"/healthz", "/api/v1/auth/me", "/docs", "/api/v1/nothing-here"} {
		r := e.do("GET", path, "", nil)
		h := r.header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	// Unknown API paths are problems too.
	r := e.do("GET", "/api/v1/nothing-here", "", nil)
	if r.status != 404 {
		t.Fatalf("unknown path: %d", r.status)
	}
	r.problem(t)
}

func TestCORS(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{cors: []string{"https://app.example.com"}})
	// Preflight from an allowed origin.
	r := e.do("OPTIONS", "/api/v1/users", "", nil, "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("allowed preflight: %d %v", r.status, r.header)
	}
	if r.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials allowed")
	}
	// Simple request from an allowed origin.
	r = e.do("GET", "/api/v1/auth/me", e.tokens[auth.RoleViewer], nil, "Origin", "https://app.example.com")
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "X-Request-ID") {
		t.Fatalf("allowed request: %v", r.header)
	}
	// Other origins get no CORS headers; their preflight is refused.
	r = e.do("OPTIONS", "/api/v1/users", "", nil, "Origin", "https://evil.example.com", "Access-Control-Request-Method", "DELETE")
	if r.status != 403 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign preflight: %d %v", r.status, r.header)
	}
	r = e.do("GET", "/api/v1/auth/me", e.tokens[auth.RoleViewer], nil, "Origin", "https://evil.example.com")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin allowed: %v", r.header)
	}
}

func TestRateLimitPerIPAndPerUser(t *testing.T) {
	t.Parallel()
	ipLim, _ := ratelimit.NewMemory(ratelimit.Rule{Limit: 1000, Window: time.Minute}, nil)
	userLim, _ := ratelimit.NewMemory(ratelimit.Rule{Limit: 3, Window: time.Minute}, nil)
	e := setup(t, setupOptions{ipLimiter: ipLim, userLimiter: userLim})
	tok := e.tokens[auth.RoleViewer]
	for i := range 3 {
		if r := e.do("GET", "/api/v1/auth/me", tok, nil); r.status != 200 {
			t.Fatalf("request %d: %d", i+1, r.status)
		}
	}
	r := e.do("GET", "/api/v1/auth/me", tok, nil)
	if r.status != 429 {
		t.Fatalf("4th request: %d, want 429", r.status)
	}
	r.problem(t)
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Another user is not limited.
	if r := e.do("GET", "/api/v1/auth/me", e.tokens[auth.RoleExecutive], nil); r.status != 200 {
		t.Fatalf("other user: %d", r.status)
	}

	// Per IP: anonymous requests count too, and health checks never do.
	ipTight, _ := ratelimit.NewMemory(ratelimit.Rule{Limit: 2, Window: time.Minute}, nil)
	e.api.ipLimiter = ipTight
	got := []int{
		e.do("GET", "/api/v1/auth/me", "", nil).status,
		e.do("POST", "/api/v1/auth/login", "", map[string]any{"login": "x", "password": "y"}).status,
		e.do("GET", "/api/v1/auth/me", e.tokens[auth.RoleAdmin], nil).status,
		e.do("GET", "/healthz", "", nil).status,
	}
	if want := []int{401, 401, 429, 200}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
}

// TestRateLimitSharedThroughRedis: two API servers with Redis limiters on the
// same prefix share one budget, as two nodes behind a load balancer would.
func TestRateLimitSharedThroughRedis(t *testing.T) {
	rd := testutil.RedisURL(t)
	opt, err := redis.ParseURL(rd.URL)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	a := setup(t, setupOptions{})
	b := setup(t, setupOptions{})
	newLim := func() ratelimit.Limiter {
		l, err := ratelimit.NewRedis(client, rd.Prefix+"ip:", ratelimit.Rule{Limit: 4, Window: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a.api.ipLimiter, b.api.ipLimiter = newLim(), newLim()
	statuses := []int{
		a.do("GET", "/api/v1/auth/me", a.tokens[auth.RoleViewer], nil).status,
		b.do("GET", "/api/v1/auth/me", b.tokens[auth.RoleViewer], nil).status,
		a.do("GET", "/api/v1/auth/me", a.tokens[auth.RoleViewer], nil).status,
		b.do("GET", "/api/v1/auth/me", b.tokens[auth.RoleViewer], nil).status,
		a.do("GET", "/api/v1/auth/me", a.tokens[auth.RoleViewer], nil).status,
		b.do("GET", "/api/v1/auth/me", b.tokens[auth.RoleViewer], nil).status,
	}
	want := []int{200, 200, 200, 200, 429, 429}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("statuses %v, want %v", statuses, want)
		}
	}
	// Health checks are not rate limited.
	if r := a.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Fatalf("healthz while limited: %d", r.status)
	}
}

// failingLimiter stands for an unreachable Redis.
type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("dial tcp 127.0.0.1:6379: connection refused")
}

func TestRateLimiterOutageFailsOpen(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{ipLimiter: failingLimiter{}, userLimiter: failingLimiter{}})
	if r := e.do("GET", "/api/v1/auth/me", e.tokens[auth.RoleViewer], nil); r.status != 200 {
		t.Fatalf("status %d with the limiter down, want 200", r.status)
	}
	if !strings.Contains(e.logs.String(), "rate limiter unavailable") {
		t.Fatal("limiter outage not logged")
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	e.do("GET", "/api/v1/users/"+e.users[auth.RoleViewer].ID, e.tokens[auth.RoleAdmin], nil)
	e.do("GET", "/api/v1/users/does-not-exist", e.tokens[auth.RoleAdmin], nil)
	r := e.do("GET", "/metrics", "", nil)
	body := string(r.body)
	for _, want := range []string{
		`aggregator_http_requests_total{method="GET",route="GET /api/v1/users/{id}",status="200"} 1`,
		`aggregator_http_requests_total{method="GET",route="GET /api/v1/users/{id}",status="404"} 1`,
		`aggregator_http_request_duration_seconds_bucket{method="GET",route="GET /api/v1/users/{id}"`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestAuditTrail(t *testing.T) {
	eachBackend(t, testAuditTrail)
}

func testAuditTrail(t *testing.T, opts setupOptions) {
	e := setup(t, opts)
	start := time.Now().Add(-time.Second)
	admin := e.tokens[auth.RoleAdmin]
	r := e.do("POST", "/api/v1/users", admin, map[string]any{"username": "dana", "email": "dana@example.com", "role": "designer", "password": testPassword},
		"X-Request-ID", "create-dana", "User-Agent", "audit-test/1.0")
	var dana User
	r.decode(t, &dana)
	danaTok := e.login("dana", testPassword)
	e.do("GET", "/api/v1/users", danaTok, nil, "X-Request-ID", "dana-lists")
	e.do("POST", "/api/v1/auth/login", "", map[string]any{"login": "dana", "password": "wrong-password!"})

	var page Page[AuditEntry]
	e.do("GET", "/api/v1/audit-logs?from="+start.UTC().Format(time.RFC3339)+"&per_page=200", admin, nil).decode(t, &page)
	find := func(pred func(AuditEntry) bool) *AuditEntry {
		for i := range page.Items {
			if pred(page.Items[i]) {
				return &page.Items[i]
			}
		}
		return nil
	}
	create := find(func(a AuditEntry) bool { return a.RequestID == "create-dana" })
	if create == nil || create.Action != "user.create" || create.ActorName != "admin1" || create.TargetType != "user" ||
		create.TargetID != dana.ID || create.Result != "success" || create.IP != "127.0.0.1" || create.UserAgent != "audit-test/1.0" {
		t.Fatalf("create entry: %+v", create)
	}
	if strings.Contains(string(create.Details), testPassword) {
		t.Fatal("audit details hold the password")
	}
	denied := find(func(a AuditEntry) bool { return a.RequestID == "dana-lists" })
	if denied == nil || denied.Result != "denied" || denied.ActorID != dana.ID || denied.Action != "list-users" {
		t.Fatalf("denied entry: %+v", denied)
	}
	if find(func(a AuditEntry) bool {
		return a.Action == "auth.login" && a.ActorID == dana.ID && a.Result == "success"
	}) == nil || find(func(a AuditEntry) bool {
		return a.Action == "auth.login" && a.ActorName == "dana" && a.Result == "failure"
	}) == nil {
		t.Fatal("login success and failure not both audited")
	}
	// Reading the log is not itself audited, and filters work.
	e.do("GET", "/api/v1/audit-logs?actor="+dana.ID, admin, nil).decode(t, &page)
	if page.Total != 2 { // the login and the refused listing
		t.Fatalf("filter by actor: total %d, want 2: %+v", page.Total, page.Items)
	}
	e.do("GET", "/api/v1/audit-logs?actor="+dana.ID+"&action=auth.", admin, nil).decode(t, &page)
	if page.Total != 1 || page.Items[0].Action != "auth.login" {
		t.Fatalf("filter by actor and action prefix: total %d, want 1: %+v", page.Total, page.Items)
	}
	e.do("GET", "/api/v1/audit-logs?target_type=user&target_id="+dana.ID+"&result=success&to="+start.UTC().Format(time.RFC3339), admin, nil).decode(t, &page)
	if page.Total != 0 {
		t.Fatalf("time range upper bound ignored: %+v", page.Items)
	}
	// No route changes or deletes entries.
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		if r := e.do(m, "/api/v1/audit-logs", admin, nil); r.status != 404 && r.status != 405 {
			t.Fatalf("%s /api/v1/audit-logs: %d", m, r.status)
		}
	}
}

func TestReadyzRefusesPendingSchema(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	if r := e.do("GET", "/readyz", "", nil); r.status != 200 {
		t.Fatalf("readyz: %d %s", r.status, r.body)
	}
	// A fresh, unmigrated database behind the same server.
	empty, err := store.Open(context.Background(), store.Options{Dialect: store.SQLite, DSN: t.TempDir() + "/empty.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	e.api.store = empty
	r := e.do("GET", "/readyz", "", nil)
	if r.status != 503 || !strings.Contains(r.problem(t).Detail, "migrate up") {
		t.Fatalf("readyz on a pending schema: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Fatalf("healthz: %d", r.status)
	}
}

// TestInternalErrorsAreNotLeaked: a store failure is a 500 naming only the
// request id; the log has the cause with the same id.
func TestInternalErrorsAreNotLeaked(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	broken, err := store.Open(context.Background(), store.Options{Dialect: store.SQLite, DSN: t.TempDir() + "/broken.db"})
	if err != nil {
		t.Fatal(err)
	}
	broken.Close()
	e.api.store = broken
	r := e.do("GET", "/api/v1/users", e.tokens[auth.RoleAdmin], nil, "X-Request-ID", "boom-1")
	if r.status != 500 {
		t.Fatalf("status %d, want 500: %s", r.status, r.body)
	}
	p := r.problem(t)
	if !strings.Contains(p.Detail, "boom-1") || strings.Contains(strings.ToLower(string(r.body)), "sql") || len(p.Errors) != 0 {
		t.Fatalf("500 body leaks or lacks the request id: %s", r.body)
	}
	if !strings.Contains(e.logs.String(), `"request_id":"boom-1"`) || !strings.Contains(e.logs.String(), "sql: database is closed") {
		t.Fatalf("the log lacks the cause with the request id:\n%s", e.logs.String())
	}
}

func TestPanicIsA500Problem(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	h := requestID(e.api.recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret detail") })))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/x", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret detail") || !strings.Contains(rec.Header().Get("Content-Type"), "problem+json") {
		t.Fatalf("panic response: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(e.logs.String(), "secret detail") {
		t.Fatal("panic not logged")
	}
}

func TestDocsAndOpenAPI(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	r := e.do("GET", "/api/v1/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	r.decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") || len(doc.Paths) < 10 {
		t.Fatalf("openapi %q with %d paths", doc.OpenAPI, len(doc.Paths))
	}
	if r := e.do("GET", "/docs", "", nil); r.status != 200 || !strings.Contains(string(r.body), "/docs/assets/swagger-ui-bundle.js") {
		t.Fatalf("/docs: %d", r.status)
	}
	for _, asset := range []string{"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/init.js"} {
		if r := e.do("GET", asset, "", nil); r.status != 200 || len(r.body) == 0 {
			t.Fatalf("%s: %d", asset, r.status)
		}
	}
	if r := e.do("GET", "/docs/assets/LICENSE", "", nil); r.status != 404 {
		t.Fatalf("unlisted asset served: %d", r.status)
	}
}

func TestStatusWriterPassesFlushAndUnwrap(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	sw := &statusWriter{ResponseWriter: rec}
	var w http.ResponseWriter = &statusWriter{ResponseWriter: sw} // two layers, as in the chain
	f, ok := w.(http.Flusher)
	if !ok {
		t.Fatal("statusWriter is not an http.Flusher")
	}
	_, _ = w.Write([]byte("event: x\n\n"))
	f.Flush()
	if !rec.Flushed {
		t.Fatal("Flush did not reach the underlying writer")
	}
	if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Second)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		t.Fatalf("ResponseController through the wrappers: %v", err)
	}
}

func TestRootLeadsToDocsWithoutUI(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/docs" {
		t.Fatalf("GET / = %d Location %q, want 302 to /docs", res.StatusCode, res.Header.Get("Location"))
	}
	if r := e.do("GET", "/not-a-page", "", nil); r.status != http.StatusNotFound {
		t.Fatalf("GET /not-a-page = %d, want 404", r.status)
	}
}
