package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dataaggregator/aggregator/internal/auth"
)

func (e *env) countUsers() int {
	e.t.Helper()
	n, err := e.store.CountUsers(context.Background(), "", false)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestBadInputIsA4xxProblemAndWritesNothing sends broken requests to write
// routes and checks the status, that the problem names what was wrong, and
// that no user, layout or preference was stored.
func TestBadInputIsA4xxProblemAndWritesNothing(t *testing.T) {
	eachBackend(t, testBadInput)
}

func testBadInput(t *testing.T, opts setupOptions) {
	opts.maxBody = 4096
	e := setup(t, opts)
	admin := e.tokens[auth.RoleAdmin]
	valid := `{"username":"newbie","email":"newbie@example.com","role":"designer","password":"` + testPassword + `"}`
	tests := []struct {
		name     string
		method   string
		path     string
		body     string
		status   int
		mention  string // the problem's detail or one field location/message must contain it
		noWrites bool
	}{
		{"malformed JSON", "POST", "/api/v1/users", `{"username": "x", "password": "` + testPassword + `",`, 400, "", true},
		{"not an object", "POST", "/api/v1/users", `[1,2]`, 422, "object", true},
		{"unknown field", "POST", "/api/v1/users", strings.Replace(valid, `{`, `{"is_superuser":true,`, 1), 422, "is_superuser", true},
		{"wrong type", "POST", "/api/v1/users", strings.Replace(valid, `"role":"designer"`, `"role":7`, 1), 422, "role", true},
		{"bad email", "POST", "/api/v1/users", strings.Replace(valid, "newbie@example.com", "not-an-email", 1), 422, "email", true},
		{"unknown role", "POST", "/api/v1/users", strings.Replace(valid, "designer", "superuser", 1), 422, "role", true},
		{"weak password", "POST", "/api/v1/users", strings.Replace(valid, testPassword, "short", 1), 422, "password", true},
		{"duplicate username", "POST", "/api/v1/users", strings.Replace(valid, `"newbie"`, `"viewer1"`, 1), 409, "username", true},
		{"duplicate email", "POST", "/api/v1/users", strings.Replace(valid, "newbie@example.com", "VIEWER1@example.com", 1), 409, "email", true},
		{"oversized body", "POST", "/api/v1/users", `{"username":"` + strings.Repeat("a", 5000) + `"}`, 413, "too large", true},
		{"empty body", "POST", "/api/v1/users", ``, 400, "body", true},
		{"username with spaces", "POST", "/api/v1/users", strings.Replace(valid, `"newbie"`, `"new bie"`, 1), 422, "username", true},
		{"unknown query parameter", "GET", "/api/v1/users?sort=evil", "", 422, "sort", true},
		{"bad page", "GET", "/api/v1/users?page=0", "", 422, "page", true},
		{"per_page too large", "GET", "/api/v1/users?per_page=100000", "", 422, "per_page", true},
		{"bad active filter", "GET", "/api/v1/users?active=maybe", "", 422, "active", true},
		{"bad audit time", "GET", "/api/v1/audit-logs?from=yesterday", "", 422, "from", true},
		{"audit range reversed", "GET", "/api/v1/audit-logs?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "", 422, "to", true},
		{"empty update", "PATCH", "/api/v1/users/" + e.users[auth.RoleViewer].ID, `{}`, 422, "nothing to update", true},
		{"update unknown user", "PATCH", "/api/v1/users/nope", `{"full_name":"x"}`, 404, "not found", true},
		{"delete unknown user", "DELETE", "/api/v1/users/nope", ``, 404, "not found", true},
		{"bad theme", "PUT", "/api/v1/me/preferences", `{"theme":"neon","language":"en","timezone":"UTC"}`, 422, "theme", true},
		{"bad timezone", "PUT", "/api/v1/me/preferences", `{"theme":"dark","language":"en","timezone":"Mars/Olympus"}`, 422, "timezone", true},
		{"bad language", "PUT", "/api/v1/me/preferences", `{"theme":"dark","language":"!!","timezone":"UTC"}`, 422, "language", true},
		{"layout not an object", "POST", "/api/v1/me/dashboards", `{"name":"x","layout":[1]}`, 422, "layout", true},
		{"layout without name", "POST", "/api/v1/me/dashboards", `{"layout":{}}`, 422, "name", true},
		{"login wrong type", "POST", "/api/v1/auth/login", `{"login":1,"password":"x"}`, 422, "login", true},
		{"login name missing", "POST", "/api/v1/auth/login", `{"password":"x"}`, 422, "login", true},
		{"login and username both", "POST", "/api/v1/auth/login", `{"login":"a","username":"b","password":"x"}`, 422, "only one", true},
		{"token name too long", "POST", "/api/v1/auth/tokens", `{"name":"` + strings.Repeat("n", 101) + `"}`, 422, "name", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users := e.countUsers()
			layouts, _ := e.store.ListDashboardLayouts(context.Background(), e.users[auth.RoleAdmin].ID)
			prefs, _ := e.store.GetPreferences(context.Background(), e.users[auth.RoleAdmin].ID)
			r := e.do(tt.method, tt.path, admin, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", r.status, tt.status, r.body)
			}
			p := r.problem(t)
			text := strings.ToLower(p.Detail)
			for _, d := range p.Errors {
				text += " " + strings.ToLower(d.Location+" "+d.Message)
			}
			if !strings.Contains(text, strings.ToLower(tt.mention)) {
				t.Errorf("problem does not mention %q: %s", tt.mention, r.body)
			}
			if strings.Contains(string(r.body), testPassword) {
				t.Errorf("problem echoes the password: %s", r.body)
			}
			if tt.noWrites {
				if got := e.countUsers(); got != users {
					t.Errorf("users: %d before, %d after", users, got)
				}
				l2, _ := e.store.ListDashboardLayouts(context.Background(), e.users[auth.RoleAdmin].ID)
				if len(l2) != len(layouts) {
					t.Errorf("layouts: %d before, %d after", len(layouts), len(l2))
				}
				p2, _ := e.store.GetPreferences(context.Background(), e.users[auth.RoleAdmin].ID)
				if p2 != prefs {
					t.Errorf("preferences changed: %+v -> %+v", prefs, p2)
				}
			}
		})
	}
}

// TestBadTokensAre401 covers missing, malformed, tampered, expired,
// alg:none and revoked credentials.
func TestBadTokensAre401(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	good := e.tokens[auth.RoleAdmin]
	parts := strings.Split(good, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWT: %q", good)
	}

	// A token signed with the right key an hour ago has expired.
	past, err := auth.NewService(auth.Options{Store: e.store, Secret: strings.Repeat("k", 40), BcryptCost: bcrypt.MinCost,
		Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := past.Login(context.Background(), "admin1", testPassword, auth.ClientInfo{IP: "10.9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	// alg:none with the same claims and no signature.
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	// The payload changed (role claim) but the signature kept.
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), `"role":"admin"`, `"role":"admin","x":1`, 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
	// Another secret.
	other, err := auth.NewService(auth.Options{Store: e.store, Secret: strings.Repeat("z", 40), BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := other.Login(context.Background(), "admin1", testPassword, auth.ClientInfo{IP: "10.9.9.8"})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		header string
	}{
		{"missing", ""},
		{"not bearer", "Basic YWRtaW46YWRtaW4="},
		{"bearer without token", "Bearer "},
		{"garbage", "Bearer not.a.jwt"},
		{"expired", "Bearer " + old.AccessToken},
		{"alg none", "Bearer " + none},
		{"tampered", "Bearer " + tampered},
		{"other secret", "Bearer " + foreign.AccessToken},
		{"unknown api token", "Bearer agg_doesnotexist"},
		{"refresh token as bearer", "Bearer " + old.RefreshToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(http.MethodGet, "/api/v1/auth/me", "", nil, "Authorization", tt.header)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401; body %s", r.status, r.body)
			}
			r.problem(t)
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tt.header != "" && len(tt.header) > 12 && strings.Contains(string(r.body), strings.TrimPrefix(tt.header, "Bearer ")) {
				t.Error("the problem echoes the token")
			}
		})
	}
	// The good token still works, so the failures above are about the tokens.
	if r := e.do(http.MethodGet, "/api/v1/auth/me", good, nil); r.status != http.StatusOK {
		t.Fatalf("good token: %d %s", r.status, r.body)
	}
}
