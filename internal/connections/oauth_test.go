package connections

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/hubspot"
	"github.com/dataaggregator/aggregator/internal/connector/salesforce"
	"github.com/dataaggregator/aggregator/internal/netguard"
)

const (
	oauthClientID     = "3MVG9-consumer-key"
	oauthClientSecret = "consumer-secret-Q7x"
	oauthRedirect     = "https://agg.example.com/connectors/oauth/callback"
)

// authServer is an OAuth2 authorization server as Salesforce and HubSpot document theirs: the
// authorize endpoint checks the client and redirect URI and redirects back with a code bound to
// the PKCE challenge; the token endpoint checks the client credentials, the redirect URI and the
// verifier against that challenge, and issues a refresh token once per code; the identity
// endpoints name the user.
type authServer struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	codes     map[string]pendingCode // code -> what authorize saw
	n         int
	refreshes []string // refresh tokens issued
	tokenHits int
}

type pendingCode struct {
	challenge, redirect string
}

func newAuthServer(t *testing.T) *authServer {
	a := &authServer{t: t, codes: map[string]pendingCode{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /services/oauth2/authorize", a.authorize)
	mux.HandleFunc("GET /oauth/authorize", a.authorize)
	mux.HandleFunc("POST /services/oauth2/token", a.token)
	mux.HandleFunc("POST /oauth/v1/token", a.token)
	mux.HandleFunc("GET /id/00D000000000001/005000000000001", func(w http.ResponseWriter, r *http.Request) {
		if !a.knownAccess(r.Header.Get("Authorization")) {
			http.Error(w, "Bad_OAuth_Token", http.StatusForbidden)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"username": "ada@acme.com", "user_id": "005000000000001"})
	})
	mux.HandleFunc("GET /oauth/v1/access-tokens/{token}", func(w http.ResponseWriter, r *http.Request) {
		if !a.knownAccess("Bearer " + r.PathValue("token")) {
			writeJSON(w, http.StatusNotFound, map[string]any{"status": "error", "message": "token not found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": "ada@acme.com", "hub_domain": "acme.hubspot.com", "hub_id": 62515})
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *authServer) knownAccess(h string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.refreshes {
		if h == fmt.Sprintf("Bearer access-%d", i+1) {
			return true
		}
	}
	return false
}

func (a *authServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("response_type") != "code", q.Get("client_id") != oauthClientID, q.Get("redirect_uri") == "", q.Get("state") == "":
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		http.Error(w, "PKCE S256 challenge required", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	a.n++
	code := fmt.Sprintf("code-%d-aPrx", a.n)
	a.codes[code] = pendingCode{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	a.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	v := back.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (a *authServer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokenHits++
	f := r.PostForm
	if f.Get("grant_type") != "authorization_code" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type"})
		return
	}
	if f.Get("client_id") != oauthClientID || f.Get("client_secret") != oauthClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_description": "invalid client credentials"})
		return
	}
	pc, ok := a.codes[f.Get("code")]
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": "expired authorization code"})
		return
	}
	delete(a.codes, f.Get("code"))
	if f.Get("redirect_uri") != pc.redirect {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": "redirect_uri mismatch"})
		return
	}
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	if f.Get("code_verifier") == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != pc.challenge {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": "invalid code verifier"})
		return
	}
	a.refreshes = append(a.refreshes, fmt.Sprintf("5Aep861-refresh-%d", len(a.refreshes)+1))
	n := len(a.refreshes)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": fmt.Sprintf("access-%d", n), "refresh_token": a.refreshes[n-1],
		"token_type": "Bearer", "instance_url": a.srv.URL, "id": a.srv.URL + "/id/00D000000000001/005000000000001", "expires_in": 1800})
}

// browse follows an authorization URL as the user's browser would, up to the redirect back, and
// returns the query the provider sent to the callback page.
func (a *authServer) browse(t *testing.T, authorizeURL string) url.Values {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != oauthRedirect {
		t.Fatalf("redirected to %s, want %s", got, oauthRedirect)
	}
	return loc.Query()
}

// oauthEnv is a service with the Salesforce and HubSpot connectors, a clock the test moves, and
// the guarded client allowing the test server on 127.0.0.1 (as ALLOWED_OUTBOUND_HOSTS would).
type oauthEnv struct {
	env
	auth *authServer
	now  *atomic.Pointer[time.Time]
}

func setupOAuth(t *testing.T, o setupOpts) oauthEnv {
	t.Helper()
	e := setup(t, o)
	reg, err := connector.NewRegistry(salesforce.New(), hubspot.New(), fakeDB{})
	if err != nil {
		t.Fatal(err)
	}
	guard, err := netguard.New(netguard.Options{Allowed: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	now := &atomic.Pointer[time.Time]{}
	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	now.Store(&start)
	e.svc.conns = reg
	e.svc.env = connector.Env{HTTPClient: guard.HTTPClient(), Clock: func() time.Time { return *now.Load() }}
	return oauthEnv{env: e, auth: newAuthServer(t), now: now}
}

func (o oauthEnv) advance(d time.Duration) {
	t := o.now.Load().Add(d)
	o.now.Store(&t)
}

func (o oauthEnv) salesforce(t *testing.T, name string, auth map[string]any) Connector {
	t.Helper()
	a := map[string]any{"type": "refresh_token", "login_url": o.auth.srv.URL, "client_id": oauthClientID, "client_secret": oauthClientSecret}
	for k, v := range auth {
		a[k] = v
	}
	c, err := o.svc.Create(bg, Input{Name: name, Type: "salesforce", Config: map[string]any{"auth": a}}, "ada")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (o oauthEnv) start(t *testing.T, id, user string) (OAuthStart, url.Values) {
	t.Helper()
	st, err := o.svc.StartOAuth(bg, OAuthStartInput{ConnectorID: id, UserID: user, RedirectURI: oauthRedirect})
	if err != nil {
		t.Fatal(err)
	}
	return st, o.auth.browse(t, st.AuthorizeURL)
}

func TestOAuthConnectSalesforce(t *testing.T) { eachBackend(t, testOAuthConnectSalesforce) }

func testOAuthConnectSalesforce(t *testing.T, o setupOpts) {
	e := setupOAuth(t, o)
	c := e.salesforce(t, "sf", nil)
	st, back := e.start(t, c.ID, "user-1")

	u, err := url.Parse(st.AuthorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/services/oauth2/authorize" || q.Get("client_id") != oauthClientID || q.Get("redirect_uri") != oauthRedirect ||
		q.Get("scope") != "api refresh_token" || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" {
		t.Errorf("authorize URL %s lacks the expected parameters", st.AuthorizeURL)
	}
	if len(q.Get("state")) < 40 || back.Get("state") != q.Get("state") {
		t.Errorf("state %q (back: %q): want 32 random bytes, returned as sent", q.Get("state"), back.Get("state"))
	}
	if strings.Contains(st.AuthorizeURL, oauthClientSecret) {
		t.Error("the authorize URL carries the client secret")
	}
	if want := e.now.Load().Add(OAuthStateTTL); !st.ExpiresAt.Equal(want) {
		t.Errorf("expires at %v, want %v", st.ExpiresAt, want)
	}

	got, err := e.svc.CompleteOAuth(bg, OAuthCallbackInput{State: back.Get("state"), Code: back.Get("code"), UserID: "user-1", Actor: "grace"})
	if err != nil {
		t.Fatal(err)
	}
	auth := got.Config["auth"].(map[string]any)
	if auth["refresh_token"] != configspec.Redacted || auth["connected_as"] != "ada@acme.com" || got.Config["instance_url"] != e.auth.srv.URL {
		t.Errorf("connector after connect: %v", got.Config)
	}
	if got.UpdatedBy != "grace" {
		t.Errorf("updated_by %q, want grace", got.UpdatedBy)
	}
	row, err := e.st.GetConnector(bg, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(row.Config), "5Aep861") || strings.Contains(row.Secrets, "5Aep861") || row.Secrets == "" {
		t.Errorf("the refresh token is not sealed at rest: config %s, secrets %q", row.Config, row.Secrets)
	}
	_, full, err := e.svc.Resolve(bg, "sf")
	if err != nil {
		t.Fatal(err)
	}
	if rt := full["auth"].(map[string]any)["refresh_token"]; rt != "5Aep861-refresh-1" {
		t.Errorf("resolved refresh token %v, want the issued one", rt)
	}
	if full["auth"].(map[string]any)["client_secret"] != oauthClientSecret {
		t.Error("connecting lost the client secret")
	}
}

func TestOAuthConnectHubSpot(t *testing.T) {
	t.Parallel()
	e := setupOAuth(t, setupOpts{})
	c, err := e.svc.Create(bg, Input{Name: "hs", Type: "hubspot", Config: map[string]any{"base_url": e.auth.srv.URL,
		"auth": map[string]any{"type": "oauth2", "client_id": oauthClientID, "client_secret": oauthClientSecret, "authorize_url": e.auth.srv.URL + "/oauth/authorize"}}}, "ada")
	if err != nil {
		t.Fatal(err)
	}
	st, back := e.start(t, c.ID, "user-1")
	if q := mustQuery(t, st.AuthorizeURL); !strings.Contains(q.Get("scope"), "crm.objects.contacts.read") {
		t.Errorf("scope %q lacks the default CRM scopes", q.Get("scope"))
	}
	got, err := e.svc.CompleteOAuth(bg, OAuthCallbackInput{State: back.Get("state"), Code: back.Get("code"), UserID: "user-1", Actor: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	auth := got.Config["auth"].(map[string]any)
	if auth["refresh_token"] != configspec.Redacted || auth["connected_as"] != "ada@acme.com (acme.hubspot.com)" {
		t.Errorf("connector after connect: %v", got.Config)
	}
	_, full, err := e.svc.Resolve(bg, "hs")
	if err != nil {
		t.Fatal(err)
	}
	if rt := full["auth"].(map[string]any)["refresh_token"]; rt != "5Aep861-refresh-1" {
		t.Errorf("resolved refresh token %v", rt)
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func TestOAuthRefusals(t *testing.T) {
	t.Parallel()
	e := setupOAuth(t, setupOpts{})
	for _, tc := range []struct {
		name string
		// run returns the callback to send (after any preparation) and the user who sends it.
		run      func(t *testing.T) OAuthCallbackInput
		kind     OAuthErrorKind
		wantMsg  string
		notInMsg []string
	}{
		{name: "unknown state", kind: OAuthBadState, wantMsg: "unknown OAuth state", run: func(t *testing.T) OAuthCallbackInput {
			return OAuthCallbackInput{State: "made-up", Code: "code-1", UserID: "user-1"}
		}},
		{name: "empty state", kind: OAuthBadState, wantMsg: "unknown OAuth state", run: func(t *testing.T) OAuthCallbackInput {
			return OAuthCallbackInput{Code: "code-1", UserID: "user-1"}
		}},
		{name: "reused state", kind: OAuthBadState, wantMsg: "already used", run: func(t *testing.T) OAuthCallbackInput {
			c := e.salesforce(t, "sf-reuse", nil)
			_, back := e.start(t, c.ID, "user-1")
			in := OAuthCallbackInput{State: back.Get("state"), Code: back.Get("code"), UserID: "user-1"}
			if _, err := e.svc.CompleteOAuth(bg, in); err != nil {
				t.Fatal(err)
			}
			return in
		}},
		{name: "expired state", kind: OAuthBadState, wantMsg: "expired", run: func(t *testing.T) OAuthCallbackInput {
			c := e.salesforce(t, "sf-expired", nil)
			_, back := e.start(t, c.ID, "user-1")
			e.advance(OAuthStateTTL + time.Second)
			return OAuthCallbackInput{State: back.Get("state"), Code: back.Get("code"), UserID: "user-1"}
		}},
		{name: "other user", kind: OAuthOtherUser, wantMsg: "started by another user", run: func(t *testing.T) OAuthCallbackInput {
			c := e.salesforce(t, "sf-other", nil)
			_, back := e.start(t, c.ID, "user-1")
			in := OAuthCallbackInput{State: back.Get("state"), Code: back.Get("code"), UserID: "user-2"}
			t.Cleanup(func() { // the refusal did not spend the state: its owner completes it
				in.UserID = "user-1"
				if _, err := e.svc.CompleteOAuth(bg, in); err != nil {
					t.Errorf("the owner could not complete after another user's attempt: %v", err)
				}
			})
			return in
		}},
		{name: "provider error", kind: OAuthProviderRefused, wantMsg: "the provider refused access: access_denied: end-user denied authorization", run: func(t *testing.T) OAuthCallbackInput {
			c := e.salesforce(t, "sf-denied", nil)
			st, err := e.svc.StartOAuth(bg, OAuthStartInput{ConnectorID: c.ID, UserID: "user-1", RedirectURI: oauthRedirect})
			if err != nil {
				t.Fatal(err)
			}
			return OAuthCallbackInput{State: mustQuery(t, st.AuthorizeURL).Get("state"), Error: "access_denied", ErrorDescription: "end-user denied authorization", UserID: "user-1"}
		}},
		{name: "wrong client secret", kind: OAuthTokenFailed, wantMsg: "/services/oauth2/token failed: 401 Unauthorized: {\"error\":\"invalid_client\"",
			notInMsg: []string{"wrong-secret-Zx9"}, run: func(t *testing.T) OAuthCallbackInput {
				c := e.salesforce(t, "sf-secret", map[string]any{"client_secret": "wrong-secret-Zx9"})
				_, back := e.start(t, c.ID, "user-1")
				return OAuthCallbackInput{State: back.Get("state"), Code: back.Get("code"), UserID: "user-1"}
			}},
		{name: "verifier of another flow", kind: OAuthTokenFailed, wantMsg: "400 Bad Request: {\"error\":\"invalid_grant\",\"error_description\":\"invalid code verifier\"}",
			notInMsg: []string{"code-"}, run: func(t *testing.T) OAuthCallbackInput {
				c := e.salesforce(t, "sf-pkce", nil)
				_, a := e.start(t, c.ID, "user-1")
				_, b := e.start(t, c.ID, "user-1")
				return OAuthCallbackInput{State: a.Get("state"), Code: b.Get("code"), UserID: "user-1"}
			}},
		{name: "token endpoint refused by the outbound guard", kind: OAuthTokenFailed, wantMsg: "refused to connect to 169.254.169.254:80 (link-local / cloud metadata address)", run: func(t *testing.T) OAuthCallbackInput {
			c := e.salesforce(t, "sf-metadata", map[string]any{"login_url": "http://169.254.169.254"})
			st, err := e.svc.StartOAuth(bg, OAuthStartInput{ConnectorID: c.ID, UserID: "user-1", RedirectURI: oauthRedirect})
			if err != nil {
				t.Fatal(err)
			}
			return OAuthCallbackInput{State: mustQuery(t, st.AuthorizeURL).Get("state"), Code: "code-x", UserID: "user-1"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.run(t)
			_, err := e.svc.CompleteOAuth(bg, in)
			var oe *OAuthError
			if !errors.As(err, &oe) || oe.Kind != tc.kind || !strings.Contains(oe.Message, tc.wantMsg) {
				t.Fatalf("error %v (%T), want kind %d with %q", err, err, tc.kind, tc.wantMsg)
			}
			for _, s := range append(tc.notInMsg, oauthClientSecret) {
				if strings.Contains(oe.Message, s) {
					t.Errorf("message shows %q: %s", s, oe.Message)
				}
			}
		})
	}
}

func TestOAuthStartRefusals(t *testing.T) {
	t.Parallel()
	e := setupOAuth(t, setupOpts{})
	cc, err := e.svc.Create(bg, Input{Name: "sf-cc", Type: "salesforce", Config: map[string]any{"auth": map[string]any{"type": "client_credentials",
		"login_url": e.auth.srv.URL, "client_id": oauthClientID, "client_secret": oauthClientSecret}}}, "ada")
	if err != nil {
		t.Fatal(err)
	}
	noID, err := e.svc.Create(bg, Input{Name: "sf-noid", Type: "salesforce", Config: map[string]any{"auth": map[string]any{"type": "refresh_token", "client_id": ""}}}, "ada")
	if err == nil {
		t.Fatalf("a refresh_token config without client_id was saved: %v", noID)
	}
	db, err := e.svc.Create(bg, Input{Name: "db", Type: "fakedb", Config: map[string]any{"host": "h"}}, "ada")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id, want string
	}{
		{cc.ID, `"Connect with Salesforce" needs refresh_token, not client_credentials`},
		{db.ID, "type fakedb has no \"Connect with\" flow"},
	} {
		_, err := e.svc.StartOAuth(bg, OAuthStartInput{ConnectorID: tc.id, UserID: "u", RedirectURI: oauthRedirect})
		var oe *OAuthError
		if !errors.As(err, &oe) || oe.Kind != OAuthUnsupported || !strings.Contains(oe.Message, tc.want) {
			t.Errorf("start: %v, want OAuthUnsupported with %q", err, tc.want)
		}
	}
}
