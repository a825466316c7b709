package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/httpkit"
)

// Config is the Salesforce connector's configuration.
type Config struct {
	Auth            *Auth
	InstanceURL     string
	APIVersion      string
	Object          string
	Fields          []string
	Where           string
	IncludeDeleted  bool
	Bulk            string
	BulkThreshold   int
	BulkPageRecords int
	BulkPoll        float64
	BulkTimeout     float64
	Start           string
	DiscoverObjects []string
	httpkit.Limits
}

// Auth is how the connector gets an access token from Salesforce's OAuth2 token endpoint.
type Auth struct {
	Type         string
	LoginURL     string
	ClientID     string
	ClientSecret string
	RefreshToken string
	Username     string
	PrivateKey   string
	Audience     string
	ConnectedAs  string
}

// Auth types (OAuth2 flows).
const (
	AuthClientCredentials = "client_credentials"
	AuthJWTBearer         = "jwt_bearer"
	AuthRefreshToken      = "refresh_token"
)

// Bulk API choices.
const (
	BulkAuto   = "auto"
	BulkAlways = "always"
	BulkNever  = "never"
)

// DefaultLoginURL is Salesforce's production login address.
const DefaultLoginURL = "https://login.salesforce.com"

var spec = configspec.Describe(func(c *Config, b *configspec.Builder) {
	configspec.Nested(b, &c.Auth, "auth", func(a *Auth, b *configspec.Builder) {
		b.String(&a.Type, "type").Default(AuthRefreshToken).Enum(AuthRefreshToken, AuthClientCredentials, AuthJWTBearer).
			Doc("OAuth2 flow: refresh_token (granted by a user with \"Connect with Salesforce\"), client_credentials (a connected app's run-as user) or jwt_bearer (a certificate uploaded to the connected app).")
		b.String(&a.LoginURL, "login_url").Default(DefaultLoginURL).Pattern(`^https?://`).
			Doc("Where tokens come from: https://login.salesforce.com, https://test.salesforce.com for a sandbox, or your My Domain URL (required for client_credentials).").
			Example("https://acme.my.salesforce.com")
		b.String(&a.ClientID, "client_id").Doc("The connected app's consumer key.")
		b.String(&a.ClientSecret, "client_secret").Secret().Doc("The connected app's consumer secret (refresh_token, client_credentials).")
		b.String(&a.RefreshToken, "refresh_token").Secret().Doc("The refresh token; \"Connect with Salesforce\" in the connector form fills it.")
		b.String(&a.Username, "username").Doc("jwt_bearer: the Salesforce user the token acts as (the assertion's subject).")
		b.String(&a.PrivateKey, "private_key").Secret().Doc("jwt_bearer: the PEM private key (PKCS#1 or PKCS#8) of the certificate uploaded to the connected app.")
		b.String(&a.Audience, "audience").Doc("jwt_bearer: the assertion's audience (default https://login.salesforce.com; https://test.salesforce.com for a sandbox).")
		b.String(&a.ConnectedAs, "connected_as").Doc("refresh_token: the user who granted the token (set by \"Connect with Salesforce\"; for information).")
	}).Required().Doc("Authentication (OAuth2).").Variants("type",
		configspec.Variant{Value: AuthRefreshToken, Title: "Connect with Salesforce (refresh token)", Fields: []string{"login_url", "client_id", "client_secret", "refresh_token", "connected_as"},
			Required: []string{"client_id"}},
		configspec.Variant{Value: AuthClientCredentials, Title: "Client credentials (run-as user)", Fields: []string{"login_url", "client_id", "client_secret"},
			Required: []string{"login_url", "client_id", "client_secret"}},
		configspec.Variant{Value: AuthJWTBearer, Title: "JWT bearer (certificate)", Fields: []string{"login_url", "client_id", "username", "private_key", "audience"},
			Required: []string{"client_id", "username", "private_key"}},
	)
	b.String(&c.InstanceURL, "instance_url").Pattern(`^https?://`).
		Doc("The org's API address (default: the instance_url of the token response).").Example("https://acme.my.salesforce.com")
	b.String(&c.APIVersion, "api_version").Default("62.0").Pattern(`^[0-9]+\.[0-9]$`).Doc("REST API version.")
	b.String(&c.Object, "object").Pattern(`^[A-Za-z][A-Za-z0-9_]*$`).PerPipeline().
		Doc("The object (sObject) to read (default: the pipeline source's stream).").Example("Account", "Opportunity", "Invoice__c")
	b.Strings(&c.Fields, "fields").PerPipeline().Doc("Fields to read (default: every field describe lists, but compound address and location fields and base64 bodies).")
	b.String(&c.Where, "where").PerPipeline().Doc("An extra SOQL condition, ANDed with the incremental one.").Example("IsActive__c = true")
	b.Bool(&c.IncludeDeleted, "include_deleted").Default(false).PerPipeline().
		Doc("Read deleted (recycle bin) records too, through queryAll; each record carries _op: delete when deleted, upsert otherwise (an upsert destination then removes deleted rows).")
	b.String(&c.Bulk, "bulk").Default(BulkAuto).Enum(BulkAuto, BulkAlways, BulkNever).PerPipeline().
		Doc("Bulk API 2.0: auto uses it when a count of the query passes bulk_threshold; always; or never (the REST query API).")
	b.Int(&c.BulkThreshold, "bulk_threshold").Default(100_000).Min(1).PerPipeline().Doc("Records from which bulk auto uses the Bulk API.")
	b.Int(&c.BulkPageRecords, "bulk_page_records").Default(10_000).Min(1).Max(1_000_000).PerPipeline().
		Doc("Records per Bulk API result page (maxRecords); every page must fit in max_response_bytes.")
	b.Float(&c.BulkPoll, "bulk_poll_interval").Default(2).Min(0.001).Doc("Seconds between polls of a Bulk API job.")
	b.Float(&c.BulkTimeout, "bulk_timeout").Default(7200).Min(1).Doc("Seconds a Bulk API job may take before the read fails (the job is aborted).")
	b.String(&c.Start, "start").PerPipeline().Doc("Incremental: the SystemModstamp of the first run, RFC 3339 (default: everything).").Example("2024-01-01T00:00:00Z")
	b.Strings(&c.DiscoverObjects, "discover_objects").Doc("Objects Discover describes (default: every queryable, replicateable object, one describe call each).").Example([]any{"Account", "Contact", "Opportunity"})
	httpkit.BindLimits(b, &c.Limits)
})

var ident = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]*$`)

func decode(raw map[string]any) (*Config, error) {
	var c Config
	if err := connector.DecodeConfig(Spec(), raw, &c); err != nil {
		return nil, err
	}
	var bad configspec.Errors
	for i, f := range c.Fields {
		if !ident.MatchString(f) {
			bad = append(bad, configspec.FieldError{Path: fmt.Sprintf("fields[%d]", i), Message: fmt.Sprintf("%q is not a field name", f)})
		}
	}
	if c.Auth.Type == AuthRefreshToken && c.Auth.RefreshToken == "" {
		bad = append(bad, configspec.FieldError{Path: "auth.refresh_token", Message: `not connected: use "Connect with Salesforce" in the connector form, or set the refresh token`})
	}
	if len(bad) > 0 {
		return nil, connector.ConfigError(bad)
	}
	c.Auth.LoginURL = strings.TrimRight(c.Auth.LoginURL, "/")
	c.InstanceURL = strings.TrimRight(c.InstanceURL, "/")
	return &c, nil
}

// TokenURL is the OAuth2 token endpoint under login.
func TokenURL(login string) string { return strings.TrimRight(login, "/") + "/services/oauth2/token" }

// AuthorizeURL is the OAuth2 authorization endpoint under login.
func AuthorizeURL(login string) string {
	return strings.TrimRight(login, "/") + "/services/oauth2/authorize"
}

func (c *Config) httpAuth() *httpkit.Auth {
	a := &httpkit.Auth{Type: httpkit.AuthOAuth2, Flow: c.Auth.Type, TokenURL: TokenURL(c.Auth.LoginURL), ClientID: c.Auth.ClientID,
		ClientSecret: c.Auth.ClientSecret, RefreshToken: c.Auth.RefreshToken}
	if c.Auth.Type == AuthJWTBearer {
		a.PrivateKey, a.Subject, a.Audience = c.Auth.PrivateKey, c.Auth.Username, c.Auth.Audience
		if a.Audience == "" {
			a.Audience = DefaultLoginURL
		}
	}
	return a
}

func (c *Config) client(ctx context.Context, env connector.Env) (*httpkit.Client, error) {
	return httpkit.New(ctx, env, httpkit.Options{Auth: c.httpAuth(), Limits: c.Limits, Header: http.Header{"Accept": {"application/json"}}})
}

// apiError is one element of Salesforce's error body: [{"message": ..., "errorCode": ...}].
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

// explain turns an HTTP failure into a message that leads with Salesforce's error code.
func explain(err error) error {
	var se *httpkit.StatusError
	if !errors.As(err, &se) {
		return fmt.Errorf("salesforce: %w", err)
	}
	var list []apiError
	if json.Unmarshal([]byte(se.Body), &list) != nil || len(list) == 0 || list[0].ErrorCode == "" {
		return fmt.Errorf("salesforce: %w", err)
	}
	e := list[0]
	switch e.ErrorCode {
	case "REQUEST_LIMIT_EXCEEDED":
		return fmt.Errorf("salesforce: the org's API request limit is spent (REQUEST_LIMIT_EXCEEDED: %s); reads work again when the rolling 24-hour usage falls: %w", e.Message, err)
	case "INVALID_SESSION_ID":
		return fmt.Errorf("salesforce: the access token was refused (INVALID_SESSION_ID: %s): connect again: %w", e.Message, err)
	case "INVALID_FIELD", "INVALID_TYPE", "MALFORMED_QUERY":
		return connector.ConfigError(fmt.Errorf("salesforce: %s: %s (check object, fields and where): %w", e.ErrorCode, e.Message, err))
	}
	return fmt.Errorf("salesforce: %s: %s: %w", e.ErrorCode, e.Message, err)
}
