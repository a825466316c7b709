package api

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// sessionCookieOf returns the aggregator_refresh cookie a response sets, or nil.
func sessionCookieOf(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("bad Set-Cookie %q: %v", line, err)
		}
		if c.Name == SessionCookie {
			return c
		}
	}
	return nil
}

// cookieLogin signs in with the browser form and returns the access token and
// the session cookie.
func (e *env) cookieLogin(login string, headers ...string) (string, *http.Cookie) {
	e.t.Helper()
	r := e.do("POST", "/api/v1/auth/login", "", map[string]any{"login": login, "password": testPassword},
		append([]string{"X-Session", "cookie"}, headers...)...)
	if r.status != 200 {
		e.t.Fatalf("cookie login: %d %s", r.status, r.body)
	}
	var body map[string]any
	r.decode(e.t, &body)
	if _, ok := body["refresh_token"]; ok {
		e.t.Fatalf("the browser form returned the refresh token in the body: %s", r.body)
	}
	c := sessionCookieOf(e.t, r)
	if c == nil || c.Value == "" {
		e.t.Fatalf("no session cookie set: %v", r.header.Values("Set-Cookie"))
	}
	return body["access_token"].(string), c
}

func TestSessionCookieLoginRefreshLogout(t *testing.T) {
	e := setup(t, setupOptions{})
	access, c := e.cookieLogin("viewer1")
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/api/v1/auth" || c.Secure {
		t.Fatalf("cookie attributes: %+v; want HttpOnly, SameSite=Strict, Path=/api/v1/auth, not Secure over plain HTTP", c)
	}
	if c.MaxAge <= 0 || c.MaxAge > int((7*24*time.Hour)/time.Second)+1 {
		t.Fatalf("cookie Max-Age %d, want the refresh lifetime", c.MaxAge)
	}
	if r := e.do("GET", "/api/v1/auth/me", access, nil); r.status != 200 {
		t.Fatalf("access token of the cookie login: %d", r.status)
	}

	// Refresh from the cookie: a new cookie, no refresh token in the body.
	r := e.do("POST", "/api/v1/auth/refresh", "", nil, "X-Session", "cookie", "Cookie", SessionCookie+"="+c.Value,
		"Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin")
	if r.status != 200 {
		t.Fatalf("cookie refresh: %d %s", r.status, r.body)
	}
	var pair TokenPair
	r.decode(t, &pair)
	c2 := sessionCookieOf(t, r)
	if pair.RefreshToken != "" || pair.AccessToken == "" || c2 == nil || c2.Value == "" || c2.Value == c.Value || !c2.HttpOnly {
		t.Fatalf("cookie refresh: body %s, cookie %+v", r.body, c2)
	}
	// The spent cookie is refused, the session revoked and the cookie cleared.
	r = e.do("POST", "/api/v1/auth/refresh", "", nil, "X-Session", "cookie", "Cookie", SessionCookie+"="+c.Value)
	if r.status != 401 || !strings.Contains(r.problem(t).Detail, "already used") {
		t.Fatalf("spent cookie: %d %s", r.status, r.body)
	}
	if cl := sessionCookieOf(t, r); cl == nil || cl.MaxAge >= 0 || cl.Value != "" {
		t.Fatalf("a refused refresh does not clear the cookie: %+v", cl)
	}

	// Logout with the cookie revokes the session and clears the cookie.
	_, c3 := e.cookieLogin("viewer1")
	r = e.do("POST", "/api/v1/auth/logout", "", nil, "X-Session", "cookie", "Cookie", SessionCookie+"="+c3.Value)
	if r.status != 204 {
		t.Fatalf("cookie logout: %d %s", r.status, r.body)
	}
	if cl := sessionCookieOf(t, r); cl == nil || cl.MaxAge >= 0 || cl.Path != "/api/v1/auth" {
		t.Fatalf("logout does not clear the cookie: %v", r.header.Values("Set-Cookie"))
	}
	if r := e.do("POST", "/api/v1/auth/refresh", "", nil, "X-Session", "cookie", "Cookie", SessionCookie+"="+c3.Value); r.status != 401 {
		t.Fatalf("refresh after cookie logout: %d, want 401", r.status)
	}
	// Without a cookie the browser form says to sign in again.
	r = e.do("POST", "/api/v1/auth/refresh", "", nil, "X-Session", "cookie")
	if r.status != 401 || !strings.Contains(r.problem(t).Detail, "sign in again") {
		t.Fatalf("cookie refresh without cookie: %d %s", r.status, r.body)
	}
	// The API form is unchanged: no body and no cookie is a 422 naming the field.
	r = e.do("POST", "/api/v1/auth/refresh", "", nil)
	if r.status != 422 || !strings.Contains(r.problem(t).Detail, "body.refresh_token") {
		t.Fatalf("refresh without token: %d %s", r.status, r.body)
	}
	_, rt := e.loginPair("viewer1")
	if rt == "" {
		t.Fatal("the JSON login lost its refresh token")
	}
}

// A request on the cookie path that a browser marks as cross-site, or that
// lacks the custom header, is refused with a problem and spends nothing.
func TestSessionCookieCrossSiteRefused(t *testing.T) {
	e := setup(t, setupOptions{publicURL: "https://aggregator.example.com"})
	_, c := e.cookieLogin("viewer1", "X-Forwarded-Proto", "https")
	cookie := SessionCookie + "=" + c.Value
	cases := []struct {
		name    string
		headers []string
		want    int
		detail  string
	}{
		{"no custom header", []string{"Cookie", cookie}, 403, "X-Session: cookie"},
		{"cross-site fetch", []string{"X-Session", "cookie", "Cookie", cookie, "Sec-Fetch-Site", "cross-site"}, 403, "cross-site"},
		{"same-site sibling", []string{"X-Session", "cookie", "Cookie", cookie, "Sec-Fetch-Site", "same-site"}, 403, "cross-site"},
		{"foreign origin", []string{"X-Session", "cookie", "Cookie", cookie, "Origin", "https://evil.example"}, 403, "evil.example"},
		{"null origin", []string{"X-Session", "cookie", "Cookie", cookie, "Origin", "null"}, 403, "cross-site"},
		{"http origin of an https host", []string{"X-Session", "cookie", "Cookie", cookie, "Origin", "http://aggregator.example.com"}, 403, "cross-site"},
		// Last: this one spends the token.
		{"public URL origin", []string{"X-Session", "cookie", "Cookie", cookie, "Origin", "https://aggregator.example.com", "Sec-Fetch-Site", "same-origin"}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/auth/refresh", "", nil, tc.headers...)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.want != 200 {
				if p := r.problem(t); !strings.Contains(p.Detail, tc.detail) {
					t.Fatalf("detail %q does not mention %q", p.Detail, tc.detail)
				}
				return
			}
			// PUBLIC_URL is https: the cookie is Secure.
			if nc := sessionCookieOf(t, r); nc == nil || !nc.Secure {
				t.Fatalf("cookie behind an https PUBLIC_URL is not Secure: %v", r.header.Values("Set-Cookie"))
			}
		})
	}
	// Login and logout refuse cross-site requests on the cookie path too.
	r := e.do("POST", "/api/v1/auth/login", "", map[string]any{"login": "viewer1", "password": testPassword},
		"X-Session", "cookie", "Sec-Fetch-Site", "cross-site")
	if r.status != 403 || sessionCookieOf(t, r) != nil {
		t.Fatalf("cross-site cookie login: %d %v", r.status, r.header.Values("Set-Cookie"))
	}
	r = e.do("POST", "/api/v1/auth/logout", "", nil, "X-Session", "cookie", "Cookie", cookie, "Origin", "https://evil.example")
	if r.status != 403 || !strings.Contains(r.problem(t).Detail, "cross-site") {
		t.Fatalf("cross-site cookie logout: %d %s", r.status, r.body)
	}
}

// Over HTTPS (here: a proxy's X-Forwarded-Proto) the cookie is Secure.
func TestSessionCookieSecureBehindHTTPS(t *testing.T) {
	e := setup(t, setupOptions{})
	_, c := e.cookieLogin("viewer1", "X-Forwarded-Proto", "https")
	if !c.Secure {
		t.Fatalf("cookie over https is not Secure: %+v", c)
	}
}
