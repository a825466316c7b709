package httpkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/jwt"

	"github.com/dataaggregator/aggregator/internal/connector"
)

// RefreshTokenField is the config path a rotated OAuth2 refresh token is saved to.
const RefreshTokenField = "auth.refresh_token"

// errAuth marks an authentication failure that a retry cannot fix (the token endpoint refused).
var errAuth = errors.New("authentication failed")

// authorizer applies one Auth to requests; for OAuth2 it holds the access token and refreshes it.
type authorizer struct {
	a   *Auth
	env connector.Env
	ctx context.Context
	c   *Client

	mu      sync.Mutex
	tok     *oauth2.Token
	refresh string // the current refresh token (flow refresh_token)
	warned  bool
}

func newAuthorizer(ctx context.Context, env connector.Env, a *Auth, c *Client) (*authorizer, error) {
	if a == nil || a.Type == "" || a.Type == AuthNone {
		return nil, nil
	}
	z := &authorizer{a: a, env: env, ctx: context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, env.HTTP()), c: c, refresh: a.RefreshToken}
	if a.Type == AuthOAuth2 && a.Flow == "refresh_token" && a.RefreshToken == "" {
		return nil, connector.ConfigError(errors.New("auth.refresh_token: required when flow is refresh_token"))
	}
	return z, nil
}

func (z *authorizer) canRefresh() bool { return z.a.Type == AuthOAuth2 }

// invalidate forgets the access token, so the next request fetches a new one.
func (z *authorizer) invalidate() {
	z.mu.Lock()
	z.tok = nil
	z.mu.Unlock()
}

func (z *authorizer) apply(req *http.Request) error {
	switch z.a.Type {
	case AuthBasic:
		req.SetBasicAuth(z.a.Username, z.a.Password)
	case AuthBearer:
		req.Header.Set("Authorization", "Bearer "+z.a.Token)
	case AuthAPIKey:
		if z.a.In == "query" {
			q := req.URL.Query()
			q.Set(z.a.Name, z.a.Value)
			req.URL.RawQuery = q.Encode()
		} else {
			req.Header.Set(z.a.Name, z.a.Value)
		}
	case AuthOAuth2:
		t, err := z.token(req.Context())
		if err != nil {
			return err
		}
		t.SetAuthHeader(req)
	}
	return nil
}

// token returns a valid access token, fetching one when there is none or it expires within 10 s.
// A refresh token that the provider rotated is saved back through Env.PersistCredentials.
func (z *authorizer) token(ctx context.Context) (*oauth2.Token, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.tok.Valid() {
		return z.tok, nil
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, z.env.HTTP())
	var t *oauth2.Token
	var err error
	switch z.a.Flow {
	case "jwt_bearer":
		jc := jwt.Config{Email: z.a.ClientID, Subject: z.a.Subject, Audience: z.a.Audience, PrivateKey: []byte(z.a.PrivateKey),
			TokenURL: z.a.TokenURL, Scopes: z.a.Scopes, Expires: 3 * time.Minute}
		t, err = jc.TokenSource(octx).Token()
	case "refresh_token":
		conf := oauth2.Config{ClientID: z.a.ClientID, ClientSecret: z.a.ClientSecret, Scopes: z.a.Scopes,
			Endpoint: oauth2.Endpoint{TokenURL: z.a.TokenURL}}
		t, err = conf.TokenSource(octx, &oauth2.Token{RefreshToken: z.refresh}).Token()
	default:
		cc := clientcredentials.Config{ClientID: z.a.ClientID, ClientSecret: z.a.ClientSecret, TokenURL: z.a.TokenURL, Scopes: z.a.Scopes}
		t, err = cc.Token(octx)
	}
	if err != nil {
		return nil, z.tokenError(err)
	}
	if z.a.Flow == "refresh_token" && t.RefreshToken != "" && t.RefreshToken != z.refresh {
		z.refresh = t.RefreshToken
		z.c.addSecret(t.RefreshToken)
		if err := z.env.PersistCredentials(z.ctx, map[string]string{RefreshTokenField: t.RefreshToken}); err != nil {
			if errors.Is(err, connector.ErrCredentialsNotPersisted) {
				if !z.warned {
					z.warned = true
					z.c.Logger().Warn("the OAuth2 provider rotated the refresh token; the new one is used for this run but cannot be saved", "reason", err.Error())
				}
			} else {
				z.c.Logger().Error("the OAuth2 provider rotated the refresh token and saving the new one failed: the next run may fail to authenticate", "error", z.c.scrub(err.Error()))
			}
		}
	}
	z.c.addSecret(t.AccessToken)
	z.tok = t
	return t, nil
}

// tokenError names the token endpoint, the status and the first bytes of its answer.
func (z *authorizer) tokenError(err error) error {
	where := "OAuth2 token request to " + z.c.Redact(z.a.TokenURL)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		se := &StatusError{Method: http.MethodPost, URL: z.c.Redact(z.a.TokenURL), Status: re.Response.StatusCode}
		se.Body = z.c.statusError(http.MethodPost, re.Response.Request.URL, &Response{Status: re.Response.StatusCode, Body: re.Body}, 1).Body
		if re.Response.StatusCode >= 500 || re.Response.StatusCode == http.StatusTooManyRequests {
			return fmt.Errorf("%s failed: %w", where, se)
		}
		return fmt.Errorf("%s failed: %w: %w", where, errAuth, se)
	}
	// x/oauth2 formats transport errors with %v: the chain is lost, the text is all there is.
	msg := fmt.Sprintf("%s failed: %s", where, z.c.scrub(strings.TrimPrefix(err.Error(), "oauth2: ")))
	if strings.Contains(msg, "refused to connect") || strings.Contains(msg, "cannot parse") || strings.Contains(msg, "missing access_token") || strings.Contains(msg, "private key") {
		return fmt.Errorf("%w: %s", errAuth, msg)
	}
	return &requestError{msg: msg, err: err}
}
