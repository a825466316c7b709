package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dataaggregator/aggregator/internal/connections"
)

// "Connect with Salesforce / HubSpot": the OAuth2 authorization-code flow with PKCE
// (internal/connections does the work). Start returns the provider's authorization URL; the
// provider sends the browser back to the web app's /connectors/oauth/callback page, which posts
// the state and code to the callback route.

// oauthCallbackPath is the web app's page the provider redirects to.
const oauthCallbackPath = "/connectors/oauth/callback"

// OAuthStart is a started "Connect with ..." flow.
type OAuthStart struct {
	AuthorizeURL string    `json:"authorize_url" doc:"Where the browser goes to grant access (the provider's authorization page)"`
	RedirectURI  string    `json:"redirect_uri" doc:"Where the provider sends the browser back; register it in the provider's app"`
	ExpiresAt    time.Time `json:"expires_at" doc:"The flow must complete before this time"`
}

type oauthStartInput struct {
	ID           string `path:"id" maxLength:"64"`
	Origin       string `header:"Origin" hidden:"true"`
	ForwardProto string `header:"X-Forwarded-Proto" hidden:"true"`

	tls  bool
	host string
}

// Resolve records the connection facts huma's parameters do not carry.
func (in *oauthStartInput) Resolve(ctx huma.Context) []error {
	in.tls = ctx.TLS() != nil
	in.host = ctx.Host()
	return nil
}

// origin is the web app's origin: PUBLIC_URL, else the request's Origin, else its scheme and host.
func (in *oauthStartInput) origin(publicURL string) string {
	if publicURL != "" {
		return strings.TrimRight(publicURL, "/")
	}
	if o, err := url.Parse(in.Origin); err == nil && (o.Scheme == "http" || o.Scheme == "https") && o.Host != "" {
		return o.Scheme + "://" + o.Host
	}
	scheme := "http"
	if in.tls || strings.EqualFold(strings.TrimSpace(in.ForwardProto), "https") {
		scheme = "https"
	}
	return scheme + "://" + in.host
}

func (s *Server) startConnectorOAuth(ctx context.Context, in *oauthStartInput) (*struct{ Body OAuthStart }, error) {
	redirect := in.origin(s.publicURL) + oauthCallbackPath
	st, err := s.data.Connections.StartOAuth(ctx, connections.OAuthStartInput{ConnectorID: in.ID, UserID: principalFrom(ctx).UserID, RedirectURI: redirect})
	if err != nil {
		return nil, oauthError(err)
	}
	return &struct{ Body OAuthStart }{Body: OAuthStart{AuthorizeURL: st.AuthorizeURL, RedirectURI: redirect, ExpiresAt: st.ExpiresAt}}, nil
}

type oauthCallbackBody struct {
	State            string `json:"state" minLength:"1" maxLength:"200" doc:"The state the provider sent back"`
	Code             string `json:"code,omitempty" maxLength:"4096" doc:"The authorization code the provider sent back"`
	Error            string `json:"error,omitempty" maxLength:"200" doc:"The provider's error (access_denied), when it sent one instead of a code"`
	ErrorDescription string `json:"error_description,omitempty" maxLength:"2000" doc:"The provider's description of its error"`
}

func (s *Server) completeConnectorOAuth(ctx context.Context, in *struct{ Body oauthCallbackBody }) (*connectorOutput, error) {
	p := principalFrom(ctx)
	c, err := s.data.Connections.CompleteOAuth(ctx, connections.OAuthCallbackInput{State: in.Body.State, Code: in.Body.Code,
		Error: in.Body.Error, ErrorDescription: in.Body.ErrorDescription, UserID: p.UserID, Actor: p.Username})
	if err != nil {
		return nil, oauthError(err)
	}
	infoFrom(ctx).setTarget("connector", c.ID)
	return &connectorOutput{Body: toConnectorDTO(c)}, nil
}

// oauthError maps a refused OAuth step to its status; others go through connectionsError.
func oauthError(err error) error {
	var oe *connections.OAuthError
	if !errors.As(err, &oe) {
		return connectionsError(err)
	}
	switch oe.Kind {
	case connections.OAuthBadState:
		return newProblem(http.StatusBadRequest, oe.Message)
	case connections.OAuthOtherUser:
		return forbidden(oe.Message)
	case connections.OAuthTokenFailed:
		return newProblem(http.StatusBadGateway, oe.Message)
	case connections.OAuthBusy:
		return newProblem(http.StatusServiceUnavailable, oe.Message)
	}
	return newProblem(http.StatusUnprocessableEntity, oe.Message)
}
