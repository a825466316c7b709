package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connections"
	"github.com/dataaggregator/aggregator/internal/store"
)

// tokenServer is a Salesforce token endpoint that grants any code with a PKCE verifier (the
// flow's checks are tested in internal/connections), and refuses the code "refused".
type tokenServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	form []url.Values
}

// oauthTokenServer returns the env's token server, started on first use.
func (e *env) oauthTokenServer() *tokenServer {
	if e.oauth != nil {
		return e.oauth
	}
	ts := &tokenServer{}
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ts.mu.Lock()
		ts.form = append(ts.form, r.PostForm)
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("code") == "refused" || r.PostForm.Get("code_verifier") == "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"expired authorization code"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at-1", "refresh_token": "rt-granted-1", "token_type": "Bearer"})
	}))
	e.t.Cleanup(ts.srv.Close)
	e.oauth = ts
	return ts
}

// fixtureSalesforce saves a salesforce connector (refresh_token auth, not connected) whose login
// URL is the env's token server.
func (e *env) fixtureSalesforce() store.Connector {
	e.t.Helper()
	cfg := fmt.Sprintf(`{"auth":{"type":"refresh_token","login_url":%q,"client_id":"cid-1"}}`, e.oauthTokenServer().srv.URL)
	c, err := e.store.CreateConnector(context.Background(), store.Connector{Name: uniq("sf"), Type: "salesforce", Config: json.RawMessage(cfg)})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// startOAuth starts a flow for user on a new salesforce connector and returns its state.
func (e *env) startOAuth(user store.User) (store.Connector, string) {
	e.t.Helper()
	c := e.fixtureSalesforce()
	st, err := e.data.deps.Connections.StartOAuth(context.Background(), connections.OAuthStartInput{ConnectorID: c.ID, UserID: user.ID,
		RedirectURI: "http://localhost/connectors/oauth/callback"})
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := url.Parse(st.AuthorizeURL)
	if err != nil {
		e.t.Fatal(err)
	}
	return c, u.Query().Get("state")
}

func TestConnectorOAuthRoutes(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	editor := e.users["developer"]
	tok := e.tokens["developer"]
	c := e.fixtureSalesforce()

	// The redirect URI is the request's origin + the web app's callback page.
	res := e.do(http.MethodPost, "/api/v1/connectors/"+c.ID+"/oauth/start", tok, nil, "Origin", "https://agg.example.com")
	if res.status != http.StatusOK {
		t.Fatalf("start: %d %s", res.status, res.body)
	}
	var st OAuthStart
	res.decode(t, &st)
	q := mustParseQuery(t, st.AuthorizeURL)
	if st.RedirectURI != "https://agg.example.com/connectors/oauth/callback" || q.Get("redirect_uri") != st.RedirectURI ||
		!strings.HasPrefix(st.AuthorizeURL, e.oauthTokenServer().srv.URL+"/services/oauth2/authorize?") || q.Get("code_challenge_method") != "S256" {
		t.Fatalf("start: %+v", st)
	}

	// Completed by its user: the connector is connected, the response has no secret, the audit
	// log names the connector.
	res = e.do(http.MethodPost, "/api/v1/connectors/oauth/callback", tok, map[string]any{"state": q.Get("state"), "code": "good-code"})
	if res.status != http.StatusOK || strings.Contains(string(res.body), "rt-granted-1") {
		t.Fatalf("callback: %d %s", res.status, res.body)
	}
	var got Connector
	res.decode(t, &got)
	if a := got.Config["auth"].(map[string]any); a["refresh_token"] != "********" || got.UpdatedBy != editor.Username {
		t.Errorf("connected connector: %+v", got)
	}
	ts := e.oauthTokenServer()
	ts.mu.Lock()
	last := ts.form[len(ts.form)-1]
	ts.mu.Unlock()
	if last.Get("redirect_uri") != st.RedirectURI || last.Get("grant_type") != "authorization_code" || last.Get("client_id") != "cid-1" {
		t.Errorf("token request %v", last)
	}
	entries := e.auditEntries(store.AuditFilter{Action: "connector.oauth_connect"})
	if len(entries) != 1 || entries[0].TargetID != c.ID || entries[0].Result != "success" || entries[0].ActorID != editor.ID {
		t.Errorf("audit entries %+v, want one success on connector %s", entries, c.ID)
	}

	// PUBLIC_URL, when set, is the origin of the redirect URI.
	pub := setup(t, setupOptions{publicURL: "https://public.example.com/"})
	res = pub.do(http.MethodPost, "/api/v1/connectors/"+pub.fixtureSalesforce().ID+"/oauth/start", pub.tokens["admin"], nil, "Origin", "https://other.example.com")
	res.decode(t, &st)
	if st.RedirectURI != "https://public.example.com/connectors/oauth/callback" {
		t.Errorf("redirect URI %q behind PUBLIC_URL", st.RedirectURI)
	}

	for _, tc := range []struct {
		name   string
		body   func() map[string]any
		token  string
		status int
		detail string
	}{
		{"unknown state", func() map[string]any { return map[string]any{"state": "nope", "code": "x"} }, tok, http.StatusBadRequest, "unknown OAuth state"},
		{"reused state", func() map[string]any { return map[string]any{"state": q.Get("state"), "code": "good-code"} }, tok, http.StatusBadRequest, "already used"},
		{"other user", func() map[string]any {
			_, s := e.startOAuth(editor)
			return map[string]any{"state": s, "code": "good-code"}
		}, e.tokens["admin"], http.StatusForbidden, "started by another user"},
		{"provider error", func() map[string]any {
			_, s := e.startOAuth(editor)
			return map[string]any{"state": s, "error": "access_denied", "error_description": "end-user denied authorization"}
		}, tok, http.StatusUnprocessableEntity, "the provider refused access: access_denied: end-user denied authorization"},
		{"token endpoint failure", func() map[string]any {
			_, s := e.startOAuth(editor)
			return map[string]any{"state": s, "code": "refused"}
		}, tok, http.StatusBadGateway, `/services/oauth2/token failed: 400 Bad Request: {"error":"invalid_grant"`},
		{"no state", func() map[string]any { return map[string]any{"code": "x"} }, tok, http.StatusUnprocessableEntity, "state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(http.MethodPost, "/api/v1/connectors/oauth/callback", tc.token, tc.body())
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			if p := res.problem(t); !strings.Contains(p.Detail+fmt.Sprint(p.Errors), tc.detail) {
				t.Errorf("detail %q, want %q", p.Detail, tc.detail)
			}
		})
	}

	// A connector type without the flow, and a missing connector.
	res = e.do(http.MethodPost, "/api/v1/connectors/"+e.fixtureConnector().ID+"/oauth/start", tok, nil)
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.problem(t).Detail, `has no "Connect with" flow`) {
		t.Errorf("start on a csv connector: %d %s", res.status, res.body)
	}
	res = e.do(http.MethodPost, "/api/v1/connectors/0190f0a0-0000-7000-8000-000000000000/oauth/start", tok, nil)
	if res.status != http.StatusNotFound {
		t.Errorf("start on a missing connector: %d %s", res.status, res.body)
	}
}

func mustParseQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
