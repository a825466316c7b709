package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// MaxRedirects is how many redirects the guarded HTTP client follows.
const MaxRedirects = 5

// HTTPClient is the outbound HTTP client every connector uses: it dials through the HTTP policy,
// ignores proxy environment variables (a proxy would hide the real target from the guard), follows
// at most MaxRedirects redirects, each to an http or https URL whose address the guard checks again
// when it is dialed (a literal IP already when the redirect is seen). Timeouts: 10s to connect,
// 10s for the TLS handshake, 30s for response headers; a body streams for as long as the request's
// context allows.
func (g *Guard) HTTPClient() *http.Client {
	d := g.Dialer(HTTP)
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
	}
	return &http.Client{Transport: tr, CheckRedirect: g.checkRedirect}
}

func (g *Guard) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("stopped after %d redirects (the limit)", MaxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return errors.New("redirect to a " + req.URL.Scheme + " URL refused: only http and https are followed")
	}
	if ip, err := netip.ParseAddr(req.URL.Hostname()); err == nil {
		if err := g.Check(HTTP, "", ip); err != nil {
			r := Refusal(err)
			port := req.URL.Port()
			if port == "" {
				port = map[string]string{"http": "80", "https": "443"}[req.URL.Scheme]
			}
			r.Addr = net.JoinHostPort(req.URL.Hostname(), port)
			return r
		}
	}
	return nil
}
