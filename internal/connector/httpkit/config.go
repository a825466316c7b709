package httpkit

import (
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
)

// Auth is how requests authenticate.
type Auth struct {
	Type string // none, basic, bearer, api_key, oauth2
	// basic
	Username, Password string
	// bearer
	Token string
	// api_key
	Name, Value, In string
	// oauth2
	Flow, TokenURL, ClientID, ClientSecret, RefreshToken string
	Scopes                                               []string
	// oauth2 flow jwt_bearer (RFC 7523; connectors that offer it declare these fields themselves):
	// the PEM private key that signs the assertion, its subject (the user) and audience; the
	// issuer is ClientID.
	PrivateKey, Subject, Audience string
}

// Auth types.
const (
	AuthNone   = "none"
	AuthBasic  = "basic"
	AuthBearer = "bearer"
	AuthAPIKey = "api_key"
	AuthOAuth2 = "oauth2"
)

// BindAuth declares the auth object (a tagged union on type) bound to p.
func BindAuth(b *configspec.Builder, p **Auth) {
	configspec.Nested(b, p, "auth", func(a *Auth, b *configspec.Builder) {
		b.String(&a.Type, "type").Default(AuthNone).Enum(AuthNone, AuthBasic, AuthBearer, AuthAPIKey, AuthOAuth2).
			Doc("How requests authenticate.")
		b.String(&a.Username, "username").Doc("Basic authentication user name.")
		b.String(&a.Password, "password").Secret().Doc("Basic authentication password.")
		b.String(&a.Token, "token").Secret().Doc("Bearer token, sent as Authorization: Bearer <token>.")
		b.String(&a.Name, "name").Doc("Name of the header or query parameter that carries the API key.").Example("X-API-Key")
		b.String(&a.Value, "value").Secret().Doc("The API key.")
		b.String(&a.In, "in").Default("header").Enum("header", "query").Doc("Where the API key goes.")
		b.String(&a.Flow, "flow").Default("client_credentials").Enum("client_credentials", "refresh_token").
			Doc("OAuth2 grant: client_credentials, or refresh_token (a refresh token the provider issued; when it rotates, the new one is saved into the connector).")
		b.String(&a.TokenURL, "token_url").Pattern(`^https?://`).Doc("OAuth2 token endpoint.").Example("https://auth.example.com/oauth/token")
		b.String(&a.ClientID, "client_id").Doc("OAuth2 client id.")
		b.String(&a.ClientSecret, "client_secret").Secret().Doc("OAuth2 client secret.")
		b.String(&a.RefreshToken, "refresh_token").Secret().Doc("OAuth2 refresh token (flow refresh_token).")
		b.Strings(&a.Scopes, "scopes").Doc("OAuth2 scopes to request.")
	}).Doc("Authentication: none, basic, bearer, api_key or oauth2.").Variants("type",
		configspec.Variant{Value: AuthNone, Title: "No authentication"},
		configspec.Variant{Value: AuthBasic, Title: "Basic (user name and password)", Fields: []string{"username", "password"}, Required: []string{"username"}},
		configspec.Variant{Value: AuthBearer, Title: "Bearer token", Fields: []string{"token"}, Required: []string{"token"}},
		configspec.Variant{Value: AuthAPIKey, Title: "API key", Fields: []string{"name", "value", "in"}, Required: []string{"name", "value"}},
		configspec.Variant{Value: AuthOAuth2, Title: "OAuth2", Fields: []string{"flow", "token_url", "client_id", "client_secret", "refresh_token", "scopes"},
			Required: []string{"token_url", "client_id"}},
	)
}

// SecretValues lists the credential values of a, to scrub from messages.
func (a *Auth) SecretValues() []string {
	if a == nil {
		return nil
	}
	return []string{a.Password, a.Token, a.Value, a.ClientSecret, a.RefreshToken, a.PrivateKey}
}

// Pagination says how to reach the next page.
type Pagination struct {
	Type       string // none, page, offset, cursor, next_url, link_header
	Param      string // page: the page number; offset: the offset; cursor: the cursor
	Start      int    // page: the first page number
	LimitParam string // offset: the page size parameter
	Limit      int    // offset: the page size
	Path       string // cursor: where the next cursor is in the body; next_url: where the next URL is
	MaxPages   int    // 0: no limit
}

// Pagination types.
const (
	PageNone   = "none"
	PageNumber = "page"
	PageOffset = "offset"
	PageCursor = "cursor"
	PageNext   = "next_url"
	PageLink   = "link_header"
)

// BindPagination declares the pagination object (a tagged union on type) bound to p; a pipeline
// may set it beside a saved connector.
func BindPagination(b *configspec.Builder, p **Pagination) {
	configspec.Nested(b, p, "pagination", func(g *Pagination, b *configspec.Builder) {
		b.String(&g.Type, "type").Default(PageNone).Enum(PageNone, PageNumber, PageOffset, PageCursor, PageNext, PageLink).
			Doc("How to reach the next page.")
		b.String(&g.Param, "param").Doc("Query parameter that carries the page number (page), the offset (offset) or the cursor (cursor).").Example("page")
		b.Int(&g.Start, "start").Default(1).Doc("Number of the first page.")
		b.String(&g.LimitParam, "limit_param").Default("limit").Doc("Query parameter that carries the page size.")
		b.Int(&g.Limit, "limit").Default(100).Min(1).Doc("Page size; a shorter page is the last one.")
		b.String(&g.Path, "path").Doc("Dotted path in the body of the next cursor (cursor) or of the next page's URL (next_url); missing, null or empty ends the read.").Example("meta.next")
		b.Int(&g.MaxPages, "max_pages").Default(0).Min(0).Doc("Stop after this many pages (0: no limit).")
	}).PerPipeline().Doc("Pagination: none, page, offset, cursor, next_url or link_header. A page that repeats the previous one, or a cursor or URL seen before, stops the read with an error.").
		Variants("type",
			configspec.Variant{Value: PageNone, Title: "No pagination"},
			configspec.Variant{Value: PageNumber, Title: "Page number", Fields: []string{"param", "start", "max_pages"}, Required: []string{"param"}},
			configspec.Variant{Value: PageOffset, Title: "Offset and limit", Fields: []string{"param", "limit_param", "limit", "max_pages"}, Required: []string{"param"}},
			configspec.Variant{Value: PageCursor, Title: "Cursor in the body", Fields: []string{"path", "param", "max_pages"}, Required: []string{"path", "param"}},
			configspec.Variant{Value: PageNext, Title: "Next URL in the body", Fields: []string{"path", "max_pages"}, Required: []string{"path"}},
			configspec.Variant{Value: PageLink, Title: "Link header (rel=next)", Fields: []string{"max_pages"}},
		)
}

// Limits are the resilience settings of a Client.
type Limits struct {
	RequestsPerSecond float64
	MaxRetries        int
	RetryBackoffMS    int
	MaxRetryWait      int // seconds: the longest Retry-After honoured
	ConnectTimeout    float64
	ReadTimeout       float64
	MaxResponseBytes  int64
}

// Defaults of the resilience settings.
const (
	DefaultMaxResponseBytes = 64 << 20
	DefaultMaxRetries       = 5
)

// BindLimits declares the resilience settings (top-level, optional: the UI shows them under
// Advanced) bound to l.
func BindLimits(b *configspec.Builder, l *Limits) {
	b.Float(&l.RequestsPerSecond, "requests_per_second").Default(0).Min(0).
		Doc("Most requests per second (0: no limit).")
	b.Int(&l.MaxRetries, "max_retries").Default(DefaultMaxRetries).Min(0).Max(20).
		Doc("Retries of a request that failed with 429, 5xx or a network error.")
	b.Int(&l.RetryBackoffMS, "retry_backoff_ms").Default(500).Min(1).
		Doc("First wait before a retry, in milliseconds; it doubles at each retry (with jitter), up to 30 s. 429 and 503 wait what their Retry-After says.")
	b.Int(&l.MaxRetryWait, "max_retry_wait").Default(300).Min(1).
		Doc("Longest Retry-After honoured, in seconds; a longer one fails the request.")
	b.Float(&l.ConnectTimeout, "connect_timeout").Default(30).Min(0.001).
		Doc("Seconds to wait for a response to start (connection, TLS and headers).")
	b.Float(&l.ReadTimeout, "read_timeout").Default(30).Min(0.001).
		Doc("Seconds without a byte of the body before the request fails.")
	b.Int64(&l.MaxResponseBytes, "max_response_bytes").Default(DefaultMaxResponseBytes).Min(1024).
		Doc("Largest response body read; a larger one fails the request without being read further.")
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
