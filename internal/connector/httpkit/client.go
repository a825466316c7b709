package httpkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/internal/rowkit"
	"github.com/dataaggregator/aggregator/internal/netguard"
)

// BodyPrefix is how many bytes of a failed response's body an error quotes.
const BodyPrefix = 256

// maxBackoff caps the exponential backoff between retries.
const maxBackoff = 30 * time.Second

// Options configure a Client.
type Options struct {
	Auth   *Auth
	Limits Limits
	// Header is sent with every request (before authentication headers).
	Header http.Header
	// Secrets are further values to scrub from error messages (the connector's other secrets).
	Secrets []string
	// Throttled, when set, decides about a 429 or 503 before Retry-After does (providers that
	// say in headers or the body how long to wait, or that a quota is spent for the day): ok false
	// leaves the decision to the default rules; retry false fails the request at once.
	Throttled func(resp *Response) (wait time.Duration, retry, ok bool)
}

// Client sends requests with authentication, pacing, retries, timeouts and a size cap.
type Client struct {
	env     connector.Env
	hc      *http.Client
	lim     Limits
	header  http.Header
	auth    *authorizer
	smu     sync.RWMutex
	secrets []string // values scrubbed from messages (grows as tokens are fetched)
	keyName string   // a query parameter that carries the API key
	pace    pacer
	thr     func(resp *Response) (time.Duration, bool, bool)
}

// New builds a client over env's guarded HTTP client. ctx bounds the client's life (OAuth2 token
// requests use it).
func New(ctx context.Context, env connector.Env, o Options) (*Client, error) {
	c := &Client{env: env, hc: env.HTTP(), lim: o.Limits, header: o.Header, thr: o.Throttled}
	if c.lim.MaxResponseBytes <= 0 {
		c.lim.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.lim.RetryBackoffMS <= 0 {
		c.lim.RetryBackoffMS = 500
	}
	if c.lim.MaxRetryWait <= 0 {
		c.lim.MaxRetryWait = 300
	}
	if c.lim.ConnectTimeout <= 0 {
		c.lim.ConnectTimeout = 30
	}
	if c.lim.ReadTimeout <= 0 {
		c.lim.ReadTimeout = 30
	}
	if c.lim.RequestsPerSecond > 0 {
		c.pace.every = time.Duration(float64(time.Second) / c.lim.RequestsPerSecond)
	}
	for _, s := range append(o.Auth.SecretValues(), o.Secrets...) {
		if len(s) >= 3 {
			c.secrets = append(c.secrets, s)
		}
	}
	if o.Auth != nil && o.Auth.Type == AuthAPIKey && o.Auth.In == "query" {
		c.keyName = o.Auth.Name
	}
	a, err := newAuthorizer(ctx, env, o.Auth, c)
	if err != nil {
		return nil, err
	}
	c.auth = a
	return c, nil
}

// Request is one HTTP request.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// Response is a response read whole (within max_response_bytes).
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// URL is the URL that answered (after redirects).
	URL *url.URL
}

// StatusError is a response whose status is not 2xx (after the retries it was worth).
type StatusError struct {
	Method   string
	URL      string // without secrets
	Status   int
	Body     string // the first bytes, secrets scrubbed
	Attempts int
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Errors of a request that are not a status.
var (
	ErrTooLarge       = errors.New("response body exceeds max_response_bytes")
	errConnectTimeout = errors.New("no response within connect_timeout")
	errReadTimeout    = errors.New("the body stopped arriving for read_timeout")
)

// Do sends r: it waits its turn (requests_per_second), authenticates, and retries what is worth
// retrying; the body is read whole, within max_response_bytes. A non-2xx answer is a *StatusError.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, connector.ConfigError(fmt.Errorf("url %q: must be an absolute http or https URL", c.Redact(r.URL)))
	}
	reauth := c.auth != nil && c.auth.canRefresh()
	for attempt := 1; ; attempt++ {
		if err := c.pace.wait(ctx); err != nil {
			return nil, err
		}
		resp, err := c.once(ctx, r, u)
		wait, retry := time.Duration(0), false
		switch {
		case err == nil && resp.Status >= 200 && resp.Status < 300:
			return resp, nil
		case err == nil && resp.Status == http.StatusUnauthorized && reauth:
			// A token the provider revoked early: fetch a new one and send again at once (once; it
			// does not count as a retry).
			reauth = false
			c.auth.invalidate()
			attempt--
			continue
		case err == nil && (resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable):
			retry = true
			if c.thr != nil {
				if w, again, ok := c.thr(resp); ok && !again {
					return nil, c.statusError(r.Method, u, resp, attempt)
				} else if ok {
					wait = w
					break
				}
			}
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), c.env.Now()); ok {
				if ra > time.Duration(c.lim.MaxRetryWait)*time.Second {
					se := c.statusError(r.Method, u, resp, attempt)
					return nil, fmt.Errorf("%w: the server asks to retry after %s, more than max_retry_wait (%ds)", se, ra.Round(time.Second), c.lim.MaxRetryWait)
				}
				wait = ra
			}
		case err == nil && (resp.Status >= 500 || resp.Status == http.StatusRequestTimeout):
			retry = true
		case err == nil:
			return nil, c.statusError(r.Method, u, resp, attempt)
		default:
			retry = retryable(ctx, err)
		}
		if !retry || attempt > c.lim.MaxRetries {
			if err != nil {
				if attempt > 1 {
					err = fmt.Errorf("%w (after %d attempts)", err, attempt)
				}
				return nil, err
			}
			return nil, c.statusError(r.Method, u, resp, attempt)
		}
		if wait == 0 {
			wait = c.backoff(attempt)
		}
		if log := c.env.Logger; log != nil {
			what := ""
			if err != nil {
				what = err.Error()
			} else {
				what = strconv.Itoa(resp.Status)
			}
			log.Warn("retrying an HTTP request", "method", r.Method, "url", c.Redact(u.String()), "attempt", attempt, "after", wait.String(), "reason", what)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// retryable says whether a request error (not a status) is worth retrying: network errors and
// timeouts are; a refusal by the outbound guard, a cancelled run, a size cap or a bad config are not.
func retryable(ctx context.Context, err error) bool {
	switch {
	case ctx.Err() != nil, errors.Is(err, netguard.ErrRefused), errors.Is(err, ErrTooLarge), errors.Is(err, connector.ErrConfig), errors.Is(err, errAuth):
		return false
	}
	var ue *url.Error
	if errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "redirect") {
		return false
	}
	return true
}

func (c *Client) backoff(attempt int) time.Duration {
	d := time.Duration(c.lim.RetryBackoffMS) * time.Millisecond << min(max(attempt-1, 0), 20)
	d = min(d, maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// once sends r one time and reads the body within the cap and the timeouts.
func (c *Client) once(ctx context.Context, r Request, u *url.URL) (*Response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String(), bytes.NewReader(r.Body))
	if err != nil {
		return nil, connector.ConfigError(fmt.Errorf("%s %s: %v", r.Method, c.Redact(u.String()), err))
	}
	if r.Body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, vs := range c.header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	for k, vs := range r.Header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if c.auth != nil {
		if err := c.auth.apply(req); err != nil {
			return nil, err
		}
	}
	fail := func(err error) error {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil && (errors.Is(cause, errConnectTimeout) || errors.Is(cause, errReadTimeout)) {
			err = cause
		}
		return fmt.Errorf("%s %s: %s", r.Method, c.Redact(u.String()), c.scrub(unwrapURLError(err)))
	}
	timer := time.AfterFunc(seconds(c.lim.ConnectTimeout), func() { cancel(fmt.Errorf("%w (%gs)", errConnectTimeout, c.lim.ConnectTimeout)) })
	resp, err := c.hc.Do(req)
	timer.Stop()
	if err != nil {
		return nil, &requestError{msg: fail(err).Error(), err: err}
	}
	defer resp.Body.Close()
	rt := seconds(c.lim.ReadTimeout)
	timer = time.AfterFunc(rt, func() { cancel(fmt.Errorf("%w (%gs)", errReadTimeout, c.lim.ReadTimeout)) })
	defer timer.Stop()
	body, err := io.ReadAll(&idleReader{r: io.LimitReader(resp.Body, c.lim.MaxResponseBytes+1), t: timer, d: rt})
	if err != nil {
		return nil, &requestError{msg: fail(fmt.Errorf("reading the body after %d bytes: %w", len(body), err)).Error(), err: err}
	}
	if int64(len(body)) > c.lim.MaxResponseBytes {
		return nil, fmt.Errorf("%s %s: %w (%d bytes); stopped reading: raise max_response_bytes or ask for smaller pages", r.Method, c.Redact(u.String()), ErrTooLarge, c.lim.MaxResponseBytes)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body, URL: resp.Request.URL}, nil
}

// requestError keeps the cause (for retry decisions) behind a message without secrets.
type requestError struct {
	msg string
	err error
}

func (e *requestError) Error() string { return e.msg }
func (e *requestError) Unwrap() error { return e.err }

// unwrapURLError drops url.Error's "Get \"<url>\":" prefix, which would repeat the URL with its
// secrets; the caller names the redacted URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// idleReader resets the read timeout at every read that returns bytes.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.t.Reset(ir.d)
	}
	return n, err
}

func (c *Client) statusError(method string, u *url.URL, resp *Response, attempts int) *StatusError {
	body := bytes.TrimSpace(resp.Body)
	if len(body) > BodyPrefix {
		body = body[:BodyPrefix]
	}
	return &StatusError{Method: method, URL: c.Redact(u.String()), Status: resp.Status, Body: c.scrub(rowkit.Truncate(string(body), BodyPrefix)), Attempts: attempts}
}

// sensitive are query parameter names whose values are replaced in messages.
var sensitive = []string{"key", "token", "secret", "password", "passwd", "signature", "sig", "auth", "code", "credential"}

// Redact returns raw without user info and with the values of the API key parameter and of query
// parameters that look like credentials replaced, and every configured secret scrubbed.
func (c *Client) Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return c.scrub(raw)
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			lk := strings.ToLower(k)
			if k == c.keyName || containsAny(lk, sensitive) {
				q[k] = []string{"REDACTED"}
			}
		}
		u.RawQuery = q.Encode()
	}
	return c.scrub(u.String())
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// addSecret adds a value to scrub from messages.
func (c *Client) addSecret(v string) {
	if len(v) < 3 {
		return
	}
	c.smu.Lock()
	c.secrets = append(c.secrets, v)
	c.smu.Unlock()
}

func (c *Client) scrub(s any) string {
	msg := fmt.Sprint(s)
	c.smu.RLock()
	defer c.smu.RUnlock()
	for _, v := range c.secrets {
		msg = strings.ReplaceAll(msg, v, "REDACTED")
		if e := url.QueryEscape(v); e != v {
			msg = strings.ReplaceAll(msg, e, "REDACTED")
		}
	}
	return msg
}

// pacer spaces requests at least every apart.
type pacer struct {
	mu    sync.Mutex
	every time.Duration
	next  time.Time
}

func (p *pacer) wait(ctx context.Context) error {
	if p.every <= 0 {
		return ctx.Err()
	}
	p.mu.Lock()
	now := time.Now()
	at := now
	if p.next.After(now) {
		at = p.next
	}
	p.next = at.Add(p.every)
	p.mu.Unlock()
	return sleep(ctx, at.Sub(now))
}

// Token returns the current OAuth2 token, fetching one when there is none or it expired; nil
// without OAuth2. Connectors read provider fields of the token response from it (Salesforce's
// instance_url: tok.Extra("instance_url")).
func (c *Client) Token(ctx context.Context) (*oauth2.Token, error) {
	if c.auth == nil || !c.auth.canRefresh() {
		return nil, nil
	}
	return c.auth.token(ctx)
}

// Logger is env's logger or a discarding one.
func (c *Client) Logger() *slog.Logger {
	if c.env.Logger != nil {
		return c.env.Logger
	}
	return slog.New(slog.DiscardHandler)
}
