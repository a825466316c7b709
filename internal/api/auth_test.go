package api

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
)

func TestRefreshRotationAndReuse(t *testing.T) {
	eachBackend(t, testRefreshRotationAndReuse)
}

func testRefreshRotationAndReuse(t *testing.T, opts setupOptions) {
	e := setup(t, opts)
	_, rt1 := e.loginPair("viewer1")

	var pair TokenPair
	r := e.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": rt1})
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	r.decode(t, &pair)
	if pair.RefreshToken == "" || pair.RefreshToken == rt1 || pair.AccessToken == "" || pair.ExpiresIn <= 0 || pair.ExpiresIn > 900 {
		t.Fatalf("refresh did not rotate: %+v", pair)
	}
	// Reusing the spent token revokes the whole family, including rt2.
	r = e.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": rt1})
	if r.status != 401 || !strings.Contains(r.problem(t).Detail, "already used") {
		t.Fatalf("reuse: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": pair.RefreshToken}); r.status != 401 {
		t.Fatalf("refresh with the family's newest token after reuse: %d, want 401", r.status)
	}
	// The revoked session's access token stops working too.
	if r := e.do("GET", "/api/v1/auth/me", pair.AccessToken, nil); r.status != 401 {
		t.Fatalf("access token of a session revoked for reuse: %d, want 401", r.status)
	}
	// Every refresh is audited with its user as the actor, the refused reuse too.
	refreshes := e.auditEntries(store.AuditFilter{Action: "auth.refresh"})
	if len(refreshes) != 3 {
		t.Fatalf("audited %d refreshes, want 3", len(refreshes))
	}
	for _, a := range refreshes {
		if a.ActorName != "viewer1" || a.ActorID == "" {
			t.Errorf("auth.refresh audit entry (%s) has actor %q/%q, want viewer1", a.Result, a.ActorID, a.ActorName)
		}
	}

	// Logout revokes the session's refresh token.
	_, rt3 := e.loginPair("viewer1")
	if r := e.do("POST", "/api/v1/auth/logout", "", map[string]any{"refresh_token": rt3}); r.status != 204 {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": rt3}); r.status != 401 {
		t.Fatalf("refresh after logout: %d, want 401", r.status)
	}
}

func TestPasswordChange(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	tok := e.tokens[auth.RoleExecutor]
	r := e.do("POST", "/api/v1/auth/password", tok, map[string]any{"current_password": "wrong-one", "new_password": "Brand-New-Passw0rd"})
	if r.status != 422 || r.problem(t).Errors[0].Location != "body.current_password" {
		t.Fatalf("wrong current password: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/v1/auth/password", tok, map[string]any{"current_password": testPassword, "new_password": "short"})
	if r.status != 422 || r.problem(t).Errors[0].Location != "body.new_password" {
		t.Fatalf("weak new password: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/auth/password", tok, map[string]any{"current_password": testPassword, "new_password": "Brand-New-Passw0rd"}); r.status != 204 {
		t.Fatalf("change: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/auth/login", "", map[string]any{"login": "executor1", "password": testPassword}); r.status != 401 {
		t.Fatalf("old password still works: %d", r.status)
	}
	e.login("executor1", "Brand-New-Passw0rd")
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	tok := e.tokens[auth.RoleExecutive]
	r := e.do("POST", "/api/v1/auth/tokens", tok, map[string]any{"name": "reporting", "expires_in_days": 30})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created struct {
		APIToken
		Token string `json:"token"`
	}
	r.decode(t, &created)
	if !strings.HasPrefix(created.Token, auth.APITokenPrefix) || created.ExpiresAt == nil || !strings.HasPrefix(created.Token, created.Prefix) {
		t.Fatalf("created token: %+v", created)
	}
	// The token authenticates with the user's role.
	var me struct {
		Username  string `json:"username"`
		Role      string `json:"role"`
		TokenKind string `json:"token_kind"`
	}
	e.do("GET", "/api/v1/auth/me", created.Token, nil).decode(t, &me)
	if me.Username != "executive1" || me.Role != "executive" || me.TokenKind != "api_token" {
		t.Fatalf("me with API token: %+v", me)
	}
	if r := e.do("GET", "/api/v1/users", created.Token, nil); r.status != 403 {
		t.Fatalf("API token exceeded its role: %d", r.status)
	}
	// Listed without the secret, with its last use.
	r = e.do("GET", "/api/v1/auth/tokens", tok, nil)
	if strings.Contains(string(r.body), created.Token) {
		t.Fatal("token list shows the token")
	}
	var list struct {
		Items []APIToken `json:"items"`
	}
	r.decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].LastUsedAt == nil {
		t.Fatalf("list: %+v", list.Items)
	}
	// Another user cannot revoke it.
	if r := e.do("DELETE", "/api/v1/auth/tokens/"+created.ID, e.tokens[auth.RoleAdmin], nil); r.status != 404 {
		t.Fatalf("revoke by another user: %d, want 404", r.status)
	}
	if r := e.do("DELETE", "/api/v1/auth/tokens/"+created.ID, tok, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/auth/me", created.Token, nil); r.status != 401 {
		t.Fatalf("revoked token: %d, want 401", r.status)
	}
}

// TestLoginThrottling: repeated failures lock the account with 429 and
// Retry-After, even for the right password, and every attempt is audited.
func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{authOpts: func(o *auth.Options) {
		o.AccountLimiter = auth.NewMemoryLimiter(auth.LimiterPolicy{MaxFailures: 3, Window: time.Minute, Lockout: 5 * time.Minute}, nil)
	}})
	bad := map[string]any{"login": "designer1", "password": "nope-nope-nope"}
	for i := 1; i <= 2; i++ {
		if r := e.do("POST", "/api/v1/auth/login", "", bad); r.status != 401 {
			t.Fatalf("failure %d: %d %s", i, r.status, r.body)
		}
	}
	r := e.do("POST", "/api/v1/auth/login", "", bad)
	if r.status != 429 {
		t.Fatalf("3rd failure: %d, want 429", r.status)
	}
	r.problem(t)
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 290 || secs > 300 {
		t.Fatalf("Retry-After %q, want about 300", r.header.Get("Retry-After"))
	}
	r = e.do("POST", "/api/v1/auth/login", "", map[string]any{"login": "designer1", "password": testPassword})
	if r.status != 429 {
		t.Fatalf("right password while locked: %d, want 429", r.status)
	}
	// Another account from the same address is not locked.
	e.login("viewer1", testPassword)

	entries := e.auditEntries(store.AuditFilter{Action: "auth.login", Result: "failure"})
	var forDesigner int
	for _, a := range entries {
		if a.ActorName == "designer1" {
			forDesigner++
			if a.IP == "" || a.RequestID == "" || a.UserAgent == "" {
				t.Errorf("failed login entry lacks ip, request id or user agent: %+v", a)
			}
			if strings.Contains(string(a.Details), "nope-nope") {
				t.Errorf("audit details contain the password: %s", a.Details)
			}
		}
	}
	if forDesigner != 4 {
		t.Fatalf("audited %d failed logins for designer1, want 4", forDesigner)
	}
}

func TestDevRoleRefusedInProduction(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	prod, err := auth.NewService(auth.Options{Store: e.store, Secret: strings.Repeat("k", 40), Production: true})
	if err != nil {
		t.Fatal(err)
	}
	e.api.auth = prod
	r := e.do("POST", "/api/v1/auth/login", "", map[string]any{"login": "developer1", "password": testPassword})
	if r.status != http.StatusForbidden || !strings.Contains(r.problem(t).Detail, "ALLOW_DEV_ROLE_IN_PRODUCTION") {
		t.Fatalf("developer login in production: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/auth/me", e.tokens[auth.RoleDeveloper], nil); r.status != http.StatusUnauthorized {
		t.Fatalf("developer token in production: %d, want 401", r.status)
	}
}

func TestLoginAliases(t *testing.T) {
	e := setup(t, setupOptions{})
	for _, body := range []map[string]any{
		{"login": "viewer1", "password": testPassword},
		{"username": "viewer1", "password": testPassword},
		{"email": "viewer1@example.com", "password": testPassword},
		{"login": "viewer1@example.com", "password": testPassword},
	} {
		r := e.do("POST", "/api/v1/auth/login", "", body)
		if r.status != http.StatusOK {
			t.Errorf("login with %v: %d %s", body, r.status, r.body)
			continue
		}
		var out struct {
			User User `json:"user"`
		}
		r.decode(t, &out)
		if out.User.Username != "viewer1" {
			t.Errorf("login with %v signed in %q", body, out.User.Username)
		}
	}
}
