package hubspot

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/httpkit"
)

var _ connector.OAuthConnector = (*Connector)(nil)

// OAuthProvider: "Connect with HubSpot" fills the oauth2 auth.
func (*Connector) OAuthProvider() connector.OAuthProvider {
	return connector.OAuthProvider{Name: "HubSpot", AuthType: AuthOAuth2}
}

// OAuthApp is the public app of config: auth.authorize_url, and the token endpoint under base_url.
func (*Connector) OAuthApp(raw map[string]any) (*connector.OAuthApp, error) {
	var c Config
	if err := connector.DecodeConfig(Spec(), raw, &c); err != nil {
		return nil, err
	}
	if c.Auth.Type != AuthOAuth2 {
		return nil, connector.ConfigError(errors.New(`auth.type: "Connect with HubSpot" needs oauth2, not ` + c.Auth.Type))
	}
	var missing []string
	if c.Auth.ClientID == "" {
		missing = append(missing, "auth.client_id: required: the app's client id")
	}
	if c.Auth.ClientSecret == "" {
		missing = append(missing, "auth.client_secret: required: the app's client secret")
	}
	if len(missing) > 0 {
		return nil, connector.ConfigError(errors.New(strings.Join(missing, "; ")))
	}
	return &connector.OAuthApp{AuthorizeURL: c.Auth.AuthorizeURL, TokenURL: TokenURL(c.BaseURL),
		ClientID: c.Auth.ClientID, ClientSecret: c.Auth.ClientSecret, Scopes: c.Auth.Scopes}, nil
}

// tokenInfo is the part of HubSpot's access-token metadata (GET /oauth/v1/access-tokens/{token})
// that names who granted it.
type tokenInfo struct {
	User      string `json:"user"`
	HubDomain string `json:"hub_domain"`
}

// OAuthGranted keeps the refresh token and, as connected_as, the user and portal of the token's
// metadata.
func (*Connector) OAuthGranted(ctx context.Context, env connector.Env, raw map[string]any, g connector.OAuthGrant) (map[string]string, error) {
	if g.RefreshToken == "" {
		return nil, errors.New("hubspot: the token response has no refresh_token")
	}
	out := map[string]string{"auth.refresh_token": g.RefreshToken, "auth.connected_as": ""}
	var c Config
	if err := connector.DecodeConfig(Spec(), raw, &c); err != nil {
		return nil, err
	}
	var info tokenInfo
	u := strings.TrimRight(c.BaseURL, "/") + "/oauth/v1/access-tokens/" + url.PathEscape(g.AccessToken)
	if err := httpkit.GetJSON(ctx, env, u, g.AccessToken, &info); err != nil {
		if env.Logger != nil {
			env.Logger.WarnContext(ctx, "hubspot: who granted the token is unknown: the token metadata lookup failed", "error", err.Error())
		}
		return out, nil
	}
	switch {
	case info.User != "" && info.HubDomain != "":
		out["auth.connected_as"] = info.User + " (" + info.HubDomain + ")"
	default:
		out["auth.connected_as"] = info.User + info.HubDomain
	}
	return out, nil
}
