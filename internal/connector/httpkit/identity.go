package httpkit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
)

// identityTimeout bounds an identity lookup.
const identityTimeout = 15 * time.Second

// GetJSON sends one GET with a bearer token through env's guarded client (no retries, 1 MiB at
// most, 15 s) and decodes the JSON answer into dst: the "who granted this token" lookups of the
// OAuth2 authorization-code flow. Errors name the URL without secrets, never the token.
func GetJSON(ctx context.Context, env connector.Env, rawURL, bearer string, dst any) error {
	ctx, cancel := context.WithTimeout(ctx, identityTimeout)
	defer cancel()
	c, err := New(ctx, env, Options{Auth: &Auth{Type: AuthBearer, Token: bearer},
		Limits: Limits{MaxRetries: 0, MaxResponseBytes: 1 << 20, ConnectTimeout: 10, ReadTimeout: 10},
		Header: http.Header{"Accept": {"application/json"}}})
	if err != nil {
		return err
	}
	resp, err := c.Do(ctx, Request{Method: http.MethodGet, URL: rawURL})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.Body, dst); err != nil {
		return fmt.Errorf("GET %s: the answer is not JSON: %w", c.Redact(rawURL), err)
	}
	return nil
}
