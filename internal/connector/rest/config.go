package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/httpkit"
)

// Config is the REST connector's configuration.
type Config struct {
	URL         string
	Method      string
	Headers     map[string]string
	Params      map[string]any
	Body        map[string]any
	Auth        *httpkit.Auth
	RecordsPath string
	Pagination  *httpkit.Pagination
	Incremental *Incremental
	Flatten     bool
	Stream      string
	PrimaryKey  []string
	httpkit.Limits
	// destination
	BatchSize         int
	BodyFormat        string
	IdempotencyHeader string
}

// Incremental says how an incremental read asks for what changed.
type Incremental struct {
	CursorField string
	Param       string
	Start       string
}

var spec = configspec.Describe(func(c *Config, b *configspec.Builder) {
	b.String(&c.URL, "url").Required().Pattern(`^https?://`).
		Doc("Endpoint URL. {name} placeholders take the value of params.name (which then stays out of the query string); {cursor} takes the incremental cursor.").
		Example("https://api.example.com/v1/items")
	b.String(&c.Method, "method").Enum("GET", "POST", "PUT", "PATCH").PerPipeline().
		Doc("HTTP method: GET (or POST for search endpoints) for a source; POST, PUT or PATCH for a destination. Default GET for a source, POST for a destination.")
	b.StringMap(&c.Headers, "headers").Doc("Request headers.").Example(map[string]any{"Accept": "application/json"})
	b.AnyMap(&c.Params, "params").PerPipeline().Doc("Query parameters (and values of {placeholders} in the URL).").Example(map[string]any{"limit": 100})
	b.AnyMap(&c.Body, "body").PerPipeline().Doc("Source only: a JSON object sent as the body of every page request (search endpoints that take POST).")
	httpkit.BindAuth(b, &c.Auth)
	b.String(&c.RecordsPath, "records_path").PerPipeline().
		Doc("Dotted path of the records in the response body (an array of objects, or one object); empty: the body itself.").Example("data", "result.items")
	httpkit.BindPagination(b, &c.Pagination)
	configspec.Nested(b, &c.Incremental, "incremental", func(i *Incremental, b *configspec.Builder) {
		b.String(&i.CursorField, "cursor_field").Doc("Field of the records that orders changes (default: the pipeline's sync.cursor_field).").Example("updated_at")
		b.String(&i.Param, "param").Doc("Query parameter the saved cursor is sent as (or use {cursor} in the URL).").Example("updated_since")
		b.String(&i.Start, "start").Doc("Cursor of the first run (before anything was saved).").Example("2024-01-01T00:00:00Z")
	}).PerPipeline().Doc("Incremental reads (sync mode incremental): the highest cursor read is kept in the checkpoint and the next run asks only for what changed after it.")
	b.Bool(&c.Flatten, "flatten").Default(false).PerPipeline().Doc("Lift the fields of nested objects to top-level fields named parent_child (default: a nested object is one json field).")
	b.String(&c.Stream, "stream").PerPipeline().Doc("Stream name shown by Discover (default: the last segment of the URL path).")
	b.Strings(&c.PrimaryKey, "primary_key").PerPipeline().Doc("Fields that identify a record (default: id when the records have one).")
	httpkit.BindLimits(b, &c.Limits)
	b.Int(&c.BatchSize, "batch_size").Default(100).Min(1).Max(100000).PerPipeline().
		Doc("Destination: records per request; 1 sends each record alone as a JSON object.")
	b.String(&c.BodyFormat, "body_format").Default("json").Enum("json", "ndjson").PerPipeline().
		Doc("Destination: a batch is a JSON array (json) or newline-delimited JSON (ndjson).")
	b.String(&c.IdempotencyHeader, "idempotency_header").Default("Idempotency-Key").PerPipeline().
		Doc("Destination: header carrying a key derived from the run and the records, the same when a resumed run sends them again (empty: none).")
})

var placeholder = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_.-]*)\}`)

// decode validates raw and checks what the schema cannot.
func decode(raw map[string]any) (*Config, error) {
	var c Config
	if err := connector.DecodeConfig(Spec(), raw, &c); err != nil {
		return nil, err
	}
	var bad configspec.Errors
	if u, err := url.Parse(c.URL); err != nil || u.Host == "" {
		bad = append(bad, configspec.FieldError{Path: "url", Message: "must be an absolute http or https URL"})
	}
	for _, m := range placeholder.FindAllStringSubmatch(c.URL, -1) {
		if _, ok := c.Params[m[1]]; !ok && m[1] != "cursor" {
			bad = append(bad, configspec.FieldError{Path: "url", Message: fmt.Sprintf("placeholder {%s} is neither a key of params nor {cursor}", m[1])})
		}
	}
	if len(bad) > 0 {
		return nil, connector.ConfigError(bad)
	}
	return &c, nil
}

// paramText is a param value as it goes into a URL.
func paramText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case json.Number:
		return x.String()
	}
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// buildURL puts params into the URL: into its {placeholders} (escaped), the rest into the query;
// cursor fills {cursor} and, with param, the query parameter the cursor is sent as.
func (c *Config) buildURL(cursor string) (string, error) {
	used := map[string]bool{}
	s := placeholder.ReplaceAllStringFunc(c.URL, func(m string) string {
		name := m[1 : len(m)-1]
		if name == "cursor" {
			used[name] = true
			return url.QueryEscape(cursor)
		}
		used[name] = true
		return url.PathEscape(paramText(c.Params[name]))
	})
	u, err := url.Parse(s)
	if err != nil {
		return "", connector.ConfigError(fmt.Errorf("url: %v", err))
	}
	q := u.Query()
	for k, v := range c.Params {
		if !used[k] {
			q.Set(k, paramText(v))
		}
	}
	if c.Incremental != nil && c.Incremental.Param != "" && cursor != "" {
		q.Set(c.Incremental.Param, cursor)
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

func (c *Config) client(ctx context.Context, env connector.Env) (*httpkit.Client, error) {
	h := make(http.Header, len(c.Headers))
	for k, v := range c.Headers {
		h.Set(k, v)
	}
	return httpkit.New(ctx, env, httpkit.Options{Auth: c.Auth, Limits: c.Limits, Header: h})
}
