package connections

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
)

// The OAuth2 authorization-code flow with PKCE ("Connect with Salesforce"): StartOAuth keeps a
// random state with the connector, the user and the PKCE verifier, and returns the provider's
// authorization URL; CompleteOAuth takes the state and code the provider sent back, exchanges the
// code at the token endpoint through the guarded client and saves the grant into the connector.
//
// States live in this process's memory: a callback must reach the API node that started its flow.

const (
	// OAuthStateTTL is how long a started flow may wait for its callback.
	OAuthStateTTL = 10 * time.Minute
	// maxOAuthFlows bounds the flows kept (started, or finished and remembered to explain a reuse).
	maxOAuthFlows = 10_000
	// oauthExchangeTimeout bounds the code exchange and the lookup of who granted.
	oauthExchangeTimeout = 30 * time.Second
	// oauthBodyPrefix is how many bytes of a failed token response an error quotes.
	oauthBodyPrefix = 256
)

// OAuthErrorKind says why an OAuth step was refused.
type OAuthErrorKind int

// Kinds of OAuthError.
const (
	// OAuthUnsupported: the connector's type or config does not use the flow (or lacks a client id).
	OAuthUnsupported OAuthErrorKind = iota + 1
	// OAuthBadState: the state is unknown, expired or already used.
	OAuthBadState
	// OAuthOtherUser: the flow was started by another user.
	OAuthOtherUser
	// OAuthProviderRefused: the provider sent the user back with an error (access denied).
	OAuthProviderRefused
	// OAuthTokenFailed: the token endpoint refused the code or could not be reached.
	OAuthTokenFailed
	// OAuthBusy: too many flows are waiting for their callback.
	OAuthBusy
)

// OAuthError is a refused OAuth step; its message says what and never shows a secret.
type OAuthError struct {
	Kind    OAuthErrorKind
	Message string
}

func (e *OAuthError) Error() string { return e.Message }

func oauthErr(kind OAuthErrorKind, format string, args ...any) error {
	return &OAuthError{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// oauthFlow is one started flow.
type oauthFlow struct {
	connectorID string
	userID      string
	verifier    string
	redirectURI string
	expires     time.Time
	used        bool
}

// oauthFlows holds the started flows by state. Expired and used flows are remembered until
// OAuthStateTTL after their expiry, to tell "expired" and "already used" from "unknown".
type oauthFlows struct {
	mu sync.Mutex
	m  map[string]*oauthFlow
}

// prune forgets flows past their memory; the caller holds mu.
func (f *oauthFlows) prune(now time.Time) {
	for k, v := range f.m {
		if now.After(v.expires.Add(OAuthStateTTL)) {
			delete(f.m, k)
		}
	}
}

// OAuthStartInput starts a flow for a saved connector.
type OAuthStartInput struct {
	ConnectorID string
	// UserID is the user who starts it; only they may complete it.
	UserID string
	// RedirectURI is where the provider sends the user back (the web app's callback page).
	RedirectURI string
}

// OAuthStart is a started flow.
type OAuthStart struct {
	// AuthorizeURL is where the browser goes to grant access.
	AuthorizeURL string
	ExpiresAt    time.Time
}

// oauthConnector returns the saved connector id's type as an OAuthConnector, its full config and
// its OAuth2 client.
func (s *Service) oauthConnector(ctx context.Context, id string) (connector.OAuthConnector, map[string]any, *connector.OAuthApp, error) {
	c, err := s.st.GetConnector(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	conn, cfg, err := s.saved(ctx, c)
	if err != nil {
		return nil, nil, nil, err
	}
	oc, ok := conn.(connector.OAuthConnector)
	if !ok {
		return nil, nil, nil, oauthErr(OAuthUnsupported, "connector %q: type %s has no \"Connect with\" flow", c.Name, c.Type)
	}
	app, err := oc.OAuthApp(cfg)
	if err != nil {
		return nil, nil, nil, oauthErr(OAuthUnsupported, "connector %q: %s", c.Name, scrub(err.Error(), conn.Spec().Config.Params, cfg))
	}
	return oc, cfg, app, nil
}

func oauthConfig(app *connector.OAuthApp, redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: app.ClientID, ClientSecret: app.ClientSecret, RedirectURL: redirectURI, Scopes: app.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: app.AuthorizeURL, TokenURL: app.TokenURL, AuthStyle: oauth2.AuthStyleInParams}}
}

// StartOAuth starts the authorization-code flow for a saved connector whose type supports it and
// returns the provider's authorization URL, with a random state and a PKCE S256 challenge.
func (s *Service) StartOAuth(ctx context.Context, in OAuthStartInput) (OAuthStart, error) {
	if in.UserID == "" || in.RedirectURI == "" {
		return OAuthStart{}, errors.New("start OAuth: a user and a redirect URI are required")
	}
	_, _, app, err := s.oauthConnector(ctx, in.ConnectorID)
	if err != nil {
		return OAuthStart{}, err
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	state := base64.RawURLEncoding.EncodeToString(b)
	verifier := oauth2.GenerateVerifier()
	now := s.env.Now()
	flow := &oauthFlow{connectorID: in.ConnectorID, userID: in.UserID, verifier: verifier, redirectURI: in.RedirectURI, expires: now.Add(OAuthStateTTL)}

	s.flows.mu.Lock()
	if s.flows.m == nil {
		s.flows.m = map[string]*oauthFlow{}
	}
	if len(s.flows.m) >= maxOAuthFlows {
		s.flows.prune(now)
	}
	if len(s.flows.m) >= maxOAuthFlows {
		s.flows.mu.Unlock()
		return OAuthStart{}, oauthErr(OAuthBusy, "too many connections in progress (%d); try again in a few minutes", maxOAuthFlows)
	}
	s.flows.m[state] = flow
	s.flows.mu.Unlock()

	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	for _, k := range slices.Sorted(maps.Keys(app.AuthParams)) {
		opts = append(opts, oauth2.SetAuthURLParam(k, app.AuthParams[k]))
	}
	return OAuthStart{AuthorizeURL: oauthConfig(app, in.RedirectURI).AuthCodeURL(state, opts...), ExpiresAt: flow.expires}, nil
}

// OAuthCallbackInput is what the provider sent back to the callback page, and who posts it.
type OAuthCallbackInput struct {
	State string
	Code  string
	// Error and ErrorDescription are the provider's refusal (error=access_denied).
	Error            string
	ErrorDescription string
	UserID           string
	// Actor names the user in the connector's updated_by.
	Actor string
}

// takeFlow checks state for userID and marks it used; it returns the flow.
func (s *Service) takeFlow(state, userID string) (*oauthFlow, error) {
	now := s.env.Now()
	s.flows.mu.Lock()
	defer s.flows.mu.Unlock()
	f, ok := s.flows.m[state]
	switch {
	case state == "" || !ok:
		return nil, oauthErr(OAuthBadState, "unknown OAuth state: this connection was not started here (with several API nodes, the callback must reach the node that started it) or was forgotten; start again with \"Connect\"")
	case f.used:
		return nil, oauthErr(OAuthBadState, "this OAuth state was already used: each connection attempt completes once; start again with \"Connect\"")
	case now.After(f.expires):
		return nil, oauthErr(OAuthBadState, "this OAuth state expired: a connection must complete within %s of \"Connect\"; start again", OAuthStateTTL)
	case f.userID != userID:
		// Not spent: the user who started it may still complete it.
		return nil, oauthErr(OAuthOtherUser, "this connection was started by another user; only they can complete it")
	}
	f.used = true
	return f, nil
}

// CompleteOAuth completes a flow: it checks the state (known, not expired, not used, started by
// this user), exchanges the code with the PKCE verifier at the token endpoint through the guarded
// client, and saves the refresh token (sealed) and what the provider says about the account into
// the connector. It returns the connector, secrets redacted.
func (s *Service) CompleteOAuth(ctx context.Context, in OAuthCallbackInput) (Connector, error) {
	flow, err := s.takeFlow(in.State, in.UserID)
	if err != nil {
		return Connector{}, err
	}
	if in.Error != "" {
		msg := "the provider refused access: " + clip(in.Error, 100)
		if in.ErrorDescription != "" {
			msg += ": " + clip(in.ErrorDescription, 300)
		}
		return Connector{}, &OAuthError{Kind: OAuthProviderRefused, Message: msg}
	}
	if in.Code == "" {
		return Connector{}, oauthErr(OAuthProviderRefused, "the provider sent no code: start again with \"Connect\"")
	}
	oc, cfg, app, err := s.oauthConnector(ctx, flow.connectorID)
	if err != nil {
		return Connector{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, oauthExchangeTimeout)
	defer cancel()
	conf := oauthConfig(app, flow.redirectURI)
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, s.env.HTTP()), in.Code, oauth2.VerifierOption(flow.verifier))
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return Connector{}, ctx.Err()
		}
		return Connector{}, tokenFailure(app, err, in.Code, flow.verifier, app.ClientSecret)
	}
	grant := connector.OAuthGrant{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Extra: tok.Extra}
	fields, err := oc.OAuthGranted(ctx, s.envFor(flow.connectorID), cfg, grant)
	if err != nil {
		return Connector{}, oauthErr(OAuthTokenFailed, "%s", scrubValues(err.Error(), tok.AccessToken, tok.RefreshToken, app.ClientSecret))
	}
	return s.saveGrant(ctx, flow.connectorID, fields, in.Actor)
}

// tokenFailure explains a failed code exchange: the token URL, the status and the first bytes of
// the answer, or the transport error (an outbound-guard refusal says why), without secrets.
func tokenFailure(app *connector.OAuthApp, err error, secretValues ...string) error {
	where := "the token request to " + app.TokenURL + " failed"
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		body := strings.TrimSpace(string(re.Body))
		if len(body) > oauthBodyPrefix {
			body = body[:oauthBodyPrefix]
			for !utf8.ValidString(body) {
				body = body[:len(body)-1]
			}
			body += "..."
		}
		msg := fmt.Sprintf("%s: %d %s", where, re.Response.StatusCode, http.StatusText(re.Response.StatusCode))
		if body != "" {
			msg += ": " + body
		}
		return &OAuthError{Kind: OAuthTokenFailed, Message: scrubValues(msg, secretValues...)}
	}
	return &OAuthError{Kind: OAuthTokenFailed, Message: scrubValues(where+": "+strings.TrimPrefix(err.Error(), "oauth2: "), secretValues...)}
}

// saveGrant sets fields (dotted config paths) in the saved connector id, seals its secrets again
// and records actor as its last editor.
func (s *Service) saveGrant(ctx context.Context, id string, fields map[string]string, actor string) (Connector, error) {
	cur, err := s.st.GetConnector(ctx, id)
	if err != nil {
		return Connector{}, err
	}
	conn, cfg, err := s.saved(ctx, cur)
	if err != nil {
		return Connector{}, err
	}
	spec := conn.Spec().Config
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if _, ok := spec.ParamAt(name); !ok || !configspec.SetValueAt(cfg, name, fields[name]) {
			return Connector{}, fmt.Errorf("save the grant of connector %q: %q is not a field of type %s", cur.Name, name, cur.Type)
		}
	}
	if _, err := s.validate(cur.Type, cfg); err != nil {
		return Connector{}, fmt.Errorf("save the grant of connector %q: %w", cur.Name, err)
	}
	rec, err := s.seal(spec, id, cfg)
	if err != nil {
		return Connector{}, err
	}
	rec.Name, rec.Type, rec.Description, rec.UpdatedBy = cur.Name, cur.Type, cur.Description, actor
	c, err := s.st.UpdateConnector(ctx, rec)
	if err != nil {
		return Connector{}, fmt.Errorf("save the grant of connector %q: %w", cur.Name, err)
	}
	return s.view(c, true), nil
}

// scrubValues replaces each value (3 characters or more) in msg.
func scrubValues(msg string, values ...string) string {
	for _, v := range values {
		if len(v) >= 3 {
			msg = strings.ReplaceAll(msg, v, configspec.Redacted)
		}
	}
	return msg
}

// clip cuts s to n bytes (on a rune boundary).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "..."
}
