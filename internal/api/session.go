package api

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// The browser session: the web app keeps its access token in memory and its
// refresh token in an httpOnly cookie that only the auth routes receive. A
// client asks for it by sending "X-Session: cookie" to /auth/login or
// /auth/refresh; API clients keep the JSON form (refresh_token in the body).
const (
	// SessionCookie is the name of the refresh-token cookie.
	SessionCookie = "aggregator_refresh"
	// sessionCookiePath scopes the cookie to the auth routes (refresh, logout).
	sessionCookiePath = "/api/v1/auth"
	// sessionHeader is the custom header that selects the cookie form. A
	// cross-site page cannot send it without a CORS preflight, which the
	// server refuses (credentials are never allowed cross-origin).
	sessionHeader     = "X-Session"
	sessionHeaderMode = "cookie"
)

// SessionRequest holds what the auth routes need to know about the request to
// decide on the cookie form and to refuse cross-site requests on it. Embed it
// in an input struct; huma fills the headers and calls Resolve.
type SessionRequest struct {
	Session      string      `header:"X-Session" enum:"cookie," doc:"\"cookie\": the browser form; the refresh token travels in an httpOnly cookie, not in the body"`
	Origin       string      `header:"Origin" hidden:"true"`
	SecFetchSite string      `header:"Sec-Fetch-Site" hidden:"true"`
	ForwardProto string      `header:"X-Forwarded-Proto" hidden:"true"`
	Cookie       http.Cookie `cookie:"aggregator_refresh" hidden:"true"`

	tls  bool
	host string
}

// Resolve records the connection facts huma's parameters do not carry.
func (s *SessionRequest) Resolve(ctx huma.Context) []error {
	s.tls = ctx.TLS() != nil
	s.host = ctx.Host()
	return nil
}

// cookieMode reports whether the client asked for the browser form.
func (s *SessionRequest) cookieMode() bool {
	return strings.EqualFold(strings.TrimSpace(s.Session), sessionHeaderMode)
}

// cookieToken is the refresh token of the session cookie ("" when absent).
func (s *SessionRequest) cookieToken() string { return s.Cookie.Value }

// sameOrigin refuses a request on the cookie path that a browser marks as
// coming from another site or origin. publicURL is the server's configured
// public address (PUBLIC_URL), which counts as same origin too (behind a
// proxy the Host header may differ). A request without the custom header is
// refused too: it is what forces a cross-site page into a CORS preflight.
func (s *SessionRequest) sameOrigin(publicURL string) error {
	if !s.cookieMode() {
		return forbidden("the session cookie is accepted only with the header " + sessionHeader + ": " + sessionHeaderMode)
	}
	switch strings.ToLower(s.SecFetchSite) {
	case "", "same-origin", "none":
	default:
		return forbidden("cross-site request refused: Sec-Fetch-Site is " + s.SecFetchSite + "; the session cookie is accepted from this server's own pages only")
	}
	if s.Origin == "" {
		return nil
	}
	o, err := url.Parse(s.Origin)
	if err != nil || o.Host == "" {
		return forbidden("cross-site request refused: Origin " + truncate(s.Origin, 100) + " is not this server")
	}
	if strings.EqualFold(o.Host, s.host) && (o.Scheme == "https") == s.transportSecure() {
		return nil
	}
	if p, err := url.Parse(publicURL); err == nil && p.Host != "" && strings.EqualFold(o.Scheme, p.Scheme) && strings.EqualFold(o.Host, p.Host) {
		return nil
	}
	return forbidden("cross-site request refused: Origin " + truncate(s.Origin, 100) + " is not this server")
}

// transportSecure reports whether the client reached the server over HTTPS:
// the server terminates TLS or a proxy says so in X-Forwarded-Proto. (A
// client that forges X-Forwarded-Proto only makes its own cookie stricter.)
func (s *SessionRequest) transportSecure() bool {
	return s.tls || strings.EqualFold(strings.TrimSpace(s.ForwardProto), "https")
}

// secure reports whether the cookie gets the Secure attribute: the request
// came over HTTPS or PUBLIC_URL is https.
func (s *SessionRequest) secure(publicURL string) bool {
	return s.transportSecure() || strings.HasPrefix(strings.ToLower(publicURL), "https://")
}

// sessionCookie is the Set-Cookie value that stores token until expires; an
// empty token clears the cookie.
func (s *SessionRequest) sessionCookie(publicURL, token string, expires time.Time) string {
	c := &http.Cookie{
		Name: SessionCookie, Value: token, Path: sessionCookiePath,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure(publicURL),
	}
	if token == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
		c.MaxAge = max(1, int(time.Until(expires)/time.Second))
	}
	return c.String()
}
