package connector

import "context"

// OAuthConnector is an optional capability of a connector whose users grant it access with the
// OAuth2 authorization-code flow ("Connect with Salesforce" in the web app). The flow itself (the
// state, PKCE, the code exchange through the guarded client, saving the grant) lives in
// internal/connections; the connector only says where its provider's endpoints are and what of a
// grant to keep.
type OAuthConnector interface {
	// OAuthProvider names the provider and the config value that selects the flow.
	OAuthProvider() OAuthProvider
	// OAuthApp returns the OAuth2 client of a (saved, possibly not yet connected) config. A config
	// that does not use the flow, or lacks what it needs (a client id), is an error saying what.
	OAuthApp(config map[string]any) (*OAuthApp, error)
	// OAuthGranted returns the config fields to save from a grant, by dotted path: the refresh
	// token (a secret field), and what the provider says about the account (connected_as, an
	// instance address). It may ask the provider who granted (through env's guarded client); a
	// failure of that lookup leaves the field out rather than failing the grant.
	OAuthGranted(ctx context.Context, env Env, config map[string]any, grant OAuthGrant) (map[string]string, error)
}

// OAuthProvider describes a connector type's authorization-code flow to the UI.
type OAuthProvider struct {
	// Name is shown as "Connect with <Name>".
	Name string `json:"name"`
	// AuthType is the value of the config's auth.type that uses the flow.
	AuthType string `json:"auth_type"`
}

// OAuthApp is an OAuth2 client: the provider's endpoints and the app's credentials.
type OAuthApp struct {
	AuthorizeURL string
	TokenURL     string
	ClientID     string
	// ClientSecret is empty for a public client (PKCE alone).
	ClientSecret string
	Scopes       []string
	// AuthParams are further query parameters of the authorization URL.
	AuthParams map[string]string
}

// OAuthGrant is a token response of the code exchange.
type OAuthGrant struct {
	AccessToken  string
	RefreshToken string
	// Extra returns another field of the token response (instance_url, id), or nil.
	Extra func(key string) any
}
