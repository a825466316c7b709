// Package apiclient is the command line's client of a running server's REST API: a bearer token,
// JSON or YAML bodies, bounded answers, and the API's problem documents turned into errors that
// keep each field's location and message. `aggregator trigger`, `export`, `plan` and `apply` use it.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// MaxAnswer bounds an answer's body.
const MaxAnswer = 16 << 20

// Client calls one server with one token.
type Client struct {
	Base  string // http://localhost:8001, without a trailing slash
	Token string
	Agent string // User-Agent
	HTTP  *http.Client
}

// New returns a client of the server at base.
func New(base, token, agent string) *Client {
	return &Client{Base: strings.TrimRight(base, "/"), Token: token, Agent: agent, HTTP: http.DefaultClient}
}

// Do sends a request without a body and decodes a JSON answer into out (nil: ignore it).
func (c *Client) Do(ctx context.Context, method, path string, out any) error {
	return c.send(ctx, method, path, "", nil, out)
}

// DoJSON sends in as a JSON body.
func (c *Client) DoJSON(ctx context.Context, method, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode the body of %s %s: %w", method, path, err)
	}
	return c.send(ctx, method, path, "application/json", b, out)
}

// DoBody sends body with its content type.
func (c *Client) DoBody(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	return c.send(ctx, method, path, contentType, body, out)
}

func (c *Client) send(ctx context.Context, method, path, ctype string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("User-Agent", c.Agent)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server at %s: %w", c.Base, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, MaxAnswer+1))
	if err != nil {
		return fmt.Errorf("read the answer of %s %s: %w", method, path, err)
	}
	if len(data) > MaxAnswer {
		return fmt.Errorf("the answer of %s %s is larger than %d bytes", method, path, MaxAnswer)
	}
	if res.StatusCode >= 400 {
		e := &Error{Status: res.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Detail == "" {
			e.Detail = http.StatusText(res.StatusCode)
		}
		return e
	}
	if out == nil || res.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the answer of %s %s is not what this version of the CLI expects: %w", method, path, err)
	}
	return nil
}

// Error is an error answer of the API (its problem document).
type Error struct {
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one problem of a refused request: where (body.config.host) and what.
type FieldError struct {
	Location string `json:"location"`
	Message  string `json:"message"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s: %s", e.Status, http.StatusText(e.Status), e.Detail)
	for _, f := range e.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", f.Location, f.Message)
	}
	return b.String()
}
