package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/httpkit"
)

// Config is the HubSpot connector's configuration.
type Config struct {
	Auth       *Auth
	Object     string
	Properties []string
	Start      string
	PageSize   int
	BaseURL    string
	httpkit.Limits
}

// Auth is how the connector authenticates: a private app's access token, or OAuth2 (the refresh
// token of an app the portal installed, usually granted with "Connect with HubSpot").
type Auth struct {
	Type         string
	Token        string
	ClientID     string
	ClientSecret string
	RefreshToken string
	ConnectedAs  string
	AuthorizeURL string
	Scopes       []string
}

// Auth types.
const (
	AuthPrivateApp = "private_app"
	AuthOAuth2     = "oauth2"
)

// Objects are the CRM objects the connector reads.
var Objects = []string{"contacts", "companies", "deals", "tickets"}

// DefaultBaseURL is HubSpot's API.
const DefaultBaseURL = "https://api.hubapi.com"

// DefaultAuthorizeURL is where HubSpot users grant an app access.
const DefaultAuthorizeURL = "https://app.hubspot.com/oauth/authorize"

// DefaultScopes are the scopes "Connect with HubSpot" asks for: reading the four CRM objects and
// their properties.
var DefaultScopes = []string{"oauth", "crm.objects.contacts.read", "crm.objects.companies.read", "crm.objects.deals.read", "tickets",
	"crm.schemas.contacts.read", "crm.schemas.companies.read", "crm.schemas.deals.read"}

var spec = configspec.Describe(func(c *Config, b *configspec.Builder) {
	configspec.Nested(b, &c.Auth, "auth", func(a *Auth, b *configspec.Builder) {
		b.String(&a.Type, "type").Default(AuthPrivateApp).Enum(AuthPrivateApp, AuthOAuth2).Doc("private_app (an access token of a private app) or oauth2 (a public app's refresh token).")
		b.String(&a.Token, "token").Secret().Doc("The private app's access token (Settings > Integrations > Private apps).")
		b.String(&a.ClientID, "client_id").Doc("OAuth2: the app's client id.")
		b.String(&a.ClientSecret, "client_secret").Secret().Doc("OAuth2: the app's client secret.")
		b.String(&a.RefreshToken, "refresh_token").Secret().Doc(`OAuth2: the refresh token; "Connect with HubSpot" in the connector form fills it.`)
		b.String(&a.ConnectedAs, "connected_as").Doc(`OAuth2: the account the refresh token was granted by (set by "Connect with HubSpot"; for information).`)
		b.String(&a.AuthorizeURL, "authorize_url").Default(DefaultAuthorizeURL).Pattern(`^https?://`).
			Doc(`OAuth2: where "Connect with HubSpot" sends the user to grant access (change only for a proxy).`)
		b.Strings(&a.Scopes, "scopes").Default(DefaultScopes).
			Doc(`OAuth2: the scopes "Connect with HubSpot" asks for; they must match the scopes the app requires.`)
	}).Required().Doc("Authentication.").Variants("type",
		configspec.Variant{Value: AuthPrivateApp, Title: "Private app token", Fields: []string{"token"}, Required: []string{"token"}},
		configspec.Variant{Value: AuthOAuth2, Title: "OAuth2 (Connect with HubSpot)", Fields: []string{"client_id", "client_secret", "refresh_token", "connected_as", "authorize_url", "scopes"},
			Required: []string{"client_id", "client_secret"}},
	)
	b.String(&c.Object, "object").Enum(Objects...).PerPipeline().
		Doc("The CRM object to read (default: the pipeline source's stream).")
	b.Strings(&c.Properties, "properties").PerPipeline().
		Doc("Properties to read (default: every property of the object, from /crm/v3/properties/{object}).").Example([]any{"email", "firstname", "lastname"})
	b.String(&c.Start, "start").PerPipeline().
		Doc("Incremental: the last-modified time of the first run, RFC 3339 (default: everything).").Example("2024-01-01T00:00:00Z")
	b.Int(&c.PageSize, "page_size").Default(100).Min(1).Max(100).PerPipeline().
		Doc("Records per request (HubSpot allows 100 on lists and searches alike here).")
	b.String(&c.BaseURL, "base_url").Default(DefaultBaseURL).Pattern(`^https?://`).
		Doc("HubSpot's API address (change only for a proxy).")
	httpkit.BindLimits(b, &c.Limits)
})

func decode(raw map[string]any) (*Config, error) {
	var c Config
	if err := connector.DecodeConfig(Spec(), raw, &c); err != nil {
		return nil, err
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Auth.Type == AuthOAuth2 && c.Auth.RefreshToken == "" {
		return nil, connector.ConfigError(errors.New(`auth.refresh_token: not connected: use "Connect with HubSpot" in the connector form, or set the refresh token`))
	}
	return &c, nil
}

// object is the object to read: the config's, else the stream's.
func (c *Config) object(stream string) (string, error) {
	o := c.Object
	if o == "" {
		o = stream
	}
	if o == "" {
		return "", connector.ConfigError(fmt.Errorf("object: required (one of %s), or set the pipeline source's stream", strings.Join(Objects, ", ")))
	}
	if !slices.Contains(Objects, o) {
		return "", connector.ConfigError(fmt.Errorf("object: %q is not one of %s", o, strings.Join(Objects, ", ")))
	}
	return o, nil
}

// TokenURL is HubSpot's OAuth2 token endpoint under base.
func TokenURL(base string) string { return strings.TrimRight(base, "/") + "/oauth/v1/token" }

func (c *Config) client(ctx context.Context, env connector.Env) (*httpkit.Client, error) {
	a := &httpkit.Auth{Type: httpkit.AuthBearer, Token: c.Auth.Token}
	if c.Auth.Type == AuthOAuth2 {
		a = &httpkit.Auth{Type: httpkit.AuthOAuth2, Flow: "refresh_token", TokenURL: TokenURL(c.BaseURL),
			ClientID: c.Auth.ClientID, ClientSecret: c.Auth.ClientSecret, RefreshToken: c.Auth.RefreshToken}
	}
	return httpkit.New(ctx, env, httpkit.Options{Auth: a, Limits: c.Limits, Header: http.Header{"Accept": {"application/json"}}, Throttled: throttled})
}

// errorBody is HubSpot's error shape.
type errorBody struct {
	Status     string `json:"status"`
	Message    string `json:"message"`
	Category   string `json:"category"`
	ErrorType  string `json:"errorType"`
	PolicyName string `json:"policyName"`
}

// throttled reads a 429: a spent daily quota fails at once; the rolling limits wait for their
// interval (X-HubSpot-RateLimit-Interval-Milliseconds, else one second).
func throttled(resp *httpkit.Response) (time.Duration, bool, bool) {
	if resp.Status != http.StatusTooManyRequests {
		return 0, false, false
	}
	var e errorBody
	_ = json.Unmarshal(resp.Body, &e)
	if strings.EqualFold(e.PolicyName, "DAILY") {
		return 0, false, true
	}
	if ms, err := strconv.Atoi(resp.Header.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil && ms > 0 && ms <= 60_000 {
		return time.Duration(ms) * time.Millisecond, true, true
	}
	if resp.Header.Get("Retry-After") != "" {
		return 0, false, false
	}
	return time.Second, true, true
}

// explain turns an HTTP failure into a message that leads with what HubSpot said.
func explain(err error) error {
	var se *httpkit.StatusError
	if !errors.As(err, &se) {
		return err
	}
	var e errorBody
	if json.Unmarshal([]byte(se.Body), &e) != nil || e.Message == "" {
		return fmt.Errorf("hubspot: %w", err)
	}
	switch {
	case se.Status == http.StatusTooManyRequests && strings.EqualFold(e.PolicyName, "DAILY"):
		return fmt.Errorf("hubspot: the portal's daily API limit is spent (%s); reads resume after midnight in the portal's time zone: %w", e.Message, err)
	case se.Status == http.StatusTooManyRequests:
		return fmt.Errorf("hubspot: rate limit %s still exceeded after retries (%s): %w", e.PolicyName, e.Message, err)
	case se.Status == http.StatusUnauthorized:
		return fmt.Errorf("hubspot: the token was refused (%s): check auth.token, or connect again: %w", e.Message, err)
	case se.Status == http.StatusForbidden:
		return fmt.Errorf("hubspot: the token lacks a scope (%s): grant the app crm.objects.<object>.read and crm.schemas.<object>.read: %w", e.Message, err)
	}
	return fmt.Errorf("hubspot: %s (%s): %w", e.Message, e.Category, err)
}
