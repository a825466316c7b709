package salesforce

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/httpkit"
)

var _ connector.OAuthConnector = (*Connector)(nil)

// OAuthScopes are the scopes "Connect with Salesforce" asks for: the REST and Bulk APIs, and a
// refresh token.
var OAuthScopes = []string{"api", "refresh_token"}

// OAuthProvider: "Connect with Salesforce" fills the refresh_token flow.
func (*Connector) OAuthProvider() connector.OAuthProvider {
	return connector.OAuthProvider{Name: "Salesforce", AuthType: AuthRefreshToken}
}

// OAuthApp is the connected app of config: its authorize and token endpoints under auth.login_url.
func (*Connector) OAuthApp(raw map[string]any) (*connector.OAuthApp, error) {
	var c Config
	if err := connector.DecodeConfig(Spec(), raw, &c); err != nil {
		return nil, err
	}
	if c.Auth.Type != AuthRefreshToken {
		return nil, connector.ConfigError(errors.New(`auth.type: "Connect with Salesforce" needs refresh_token, not ` + c.Auth.Type))
	}
	if c.Auth.ClientID == "" {
		return nil, connector.ConfigError(errors.New("auth.client_id: required: the connected app's consumer key"))
	}
	return &connector.OAuthApp{AuthorizeURL: AuthorizeURL(c.Auth.LoginURL), TokenURL: TokenURL(c.Auth.LoginURL),
		ClientID: c.Auth.ClientID, ClientSecret: c.Auth.ClientSecret, Scopes: OAuthScopes}, nil
}

// identity is the part of Salesforce's identity service answer (the token response's id URL)
// that names the user.
type identity struct {
	Username string `json:"username"`
}

// OAuthGranted keeps the refresh token, the org's instance_url and, as connected_as, the username
// the identity URL (the token response's id) names.
func (*Connector) OAuthGranted(ctx context.Context, env connector.Env, _ map[string]any, g connector.OAuthGrant) (map[string]string, error) {
	if g.RefreshToken == "" {
		return nil, errors.New(`salesforce: the token response has no refresh_token: give the connected app the "refresh_token, offline_access" scope`)
	}
	out := map[string]string{"auth.refresh_token": g.RefreshToken, "auth.connected_as": ""}
	if s, _ := g.Extra("instance_url").(string); isHTTPURL(s) {
		out["instance_url"] = strings.TrimRight(s, "/")
	}
	if id, _ := g.Extra("id").(string); isHTTPURL(id) {
		var who identity
		if err := httpkit.GetJSON(ctx, env, id, g.AccessToken, &who); err != nil {
			if env.Logger != nil {
				env.Logger.WarnContext(ctx, "salesforce: who granted the token is unknown: the identity lookup failed", "error", err.Error())
			}
		} else {
			out["auth.connected_as"] = who.Username
		}
	}
	return out, nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
