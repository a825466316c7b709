package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/httpkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Connector is the HubSpot connector.
type Connector struct{}

// New returns the HubSpot connector (type "hubspot").
func New() *Connector { return &Connector{} }

var (
	_ connector.Source     = (*Connector)(nil)
	_ connector.Checker    = (*Connector)(nil)
	_ connector.Discoverer = (*Connector)(nil)
)

// Spec describes the connector.
func (*Connector) Spec() connector.Spec { return Spec() }

// Spec is the HubSpot connector's spec.
func Spec() connector.Spec {
	return connector.Spec{
		Name:        "hubspot",
		Title:       "HubSpot",
		Description: "Reads HubSpot CRM objects (contacts, companies, deals, tickets) with every property; incremental by last-modified date through the search API.",
		Category:    "api",
		Source:      true,
		Config:      spec,
		Incremental: true,
	}
}

// api is an authenticated HubSpot client that honours the rate-limit headers.
type api struct {
	cfg  *Config
	c    *httpkit.Client
	wait time.Time // no request before this (the window's quota was spent)
}

func open(ctx context.Context, env connector.Env, raw map[string]any) (*api, error) {
	cfg, err := decode(raw)
	if err != nil {
		return nil, err
	}
	c, err := cfg.client(ctx, env)
	if err != nil {
		return nil, err
	}
	return &api{cfg: cfg, c: c}, nil
}

// do sends one request to path (under base_url) and decodes the JSON answer into out.
func (a *api) do(ctx context.Context, method, path string, body, out any) error {
	if d := time.Until(a.wait); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	req := httpkit.Request{Method: method, URL: a.cfg.BaseURL + path}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		req.Body, req.Header = b, http.Header{"Content-Type": {"application/json"}}
	}
	resp, err := a.c.Do(ctx, req)
	if err != nil {
		return explain(err)
	}
	a.pace(resp.Header)
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("hubspot: %s %s: the body is not the JSON HubSpot documents: %v", method, a.c.Redact(req.URL), err)
	}
	return nil
}

// pace reads X-HubSpot-RateLimit-Remaining (or -Secondly-Remaining): when a window's quota is
// spent, the next request waits for X-HubSpot-RateLimit-Interval-Milliseconds (one second for the
// secondly limit).
func (a *api) pace(h http.Header) {
	if n, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Remaining")); err == nil && n <= 0 {
		ms, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds"))
		if err != nil || ms <= 0 || ms > 60_000 {
			ms = 10_000
		}
		a.wait = time.Now().Add(time.Duration(ms) * time.Millisecond)
	}
	if n, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Secondly-Remaining")); err == nil && n <= 0 {
		if t := time.Now().Add(time.Second); t.After(a.wait) {
			a.wait = t
		}
	}
}

// property is one property of a CRM object (/crm/v3/properties/{object}).
type property struct {
	Name      string `json:"name"`
	Label     string `json:"label"`
	Type      string `json:"type"`
	FieldType string `json:"fieldType"`
}

func (a *api) properties(ctx context.Context, object string) ([]property, error) {
	var out struct {
		Results []property `json:"results"`
	}
	if err := a.do(ctx, http.MethodGet, "/crm/v3/properties/"+url.PathEscape(object), nil, &out); err != nil {
		return nil, err
	}
	return out.Results, nil
}

// kindOf maps a HubSpot property type to a record kind. HubSpot sends every property value as a
// string; numbers stay exact as decimals.
func kindOf(typ string) record.Kind {
	switch typ {
	case "number":
		return record.KindDecimal
	case "bool":
		return record.KindBool
	case "date":
		return record.KindDate
	case "datetime":
		return record.KindTimestamp
	}
	return record.KindString // string, enumeration, phone_number, and types HubSpot may add
}

// Fixed fields of every record besides its properties.
const (
	fieldID        = "id"
	fieldCreatedAt = "createdAt"
	fieldUpdatedAt = "updatedAt"
	fieldArchived  = "archived"
)

// schemaOf builds an object's schema: id, the properties (all, or the ones named, in that
// order), createdAt, updatedAt and archived.
func schemaOf(object string, props []property, want []string) (*record.Schema, []string, error) {
	byName := make(map[string]property, len(props))
	for _, p := range props {
		byName[p.Name] = p
	}
	fields := []record.Field{{Name: fieldID, Kind: record.KindString, Native: "hs_object_id"}}
	var names []string
	add := func(p property) {
		switch p.Name {
		case fieldID, fieldCreatedAt, fieldUpdatedAt, fieldArchived:
			return
		}
		fields = append(fields, record.Field{Name: p.Name, Kind: kindOf(p.Type), Nullable: true, Native: p.Type})
		names = append(names, p.Name)
	}
	if len(want) > 0 {
		var missing []string
		for _, n := range want {
			p, ok := byName[n]
			if !ok {
				missing = append(missing, n)
				continue
			}
			add(p)
		}
		if len(missing) > 0 {
			return nil, nil, connector.ConfigError(fmt.Errorf("properties: %s has no propert%s %s", object, plural(len(missing), "y", "ies"), strings.Join(missing, ", ")))
		}
	} else {
		for _, p := range props {
			add(p)
		}
	}
	fields = append(fields,
		record.Field{Name: fieldCreatedAt, Kind: record.KindTimestamp, Nullable: true},
		record.Field{Name: fieldUpdatedAt, Kind: record.KindTimestamp, Nullable: true},
		record.Field{Name: fieldArchived, Kind: record.KindBool, Nullable: true})
	s, err := record.NewSchema(fields...)
	return s, names, err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// modifiedProperty is the property the search API filters and sorts changes by.
func modifiedProperty(object string) string {
	if object == "contacts" {
		return "lastmodifieddate"
	}
	return "hs_lastmodifieddate"
}

// Check lists one record of the configured object (contacts when none is set): it proves the
// token and its read scope.
func (*Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	a, err := open(ctx, env, raw)
	if err != nil {
		return err
	}
	object := a.cfg.Object
	if object == "" {
		object = "contacts"
	}
	var out json.RawMessage
	return a.do(ctx, http.MethodGet, "/crm/v3/objects/"+object+"?limit=1&archived=false", nil, &out)
}

// Discover describes the four CRM objects from their properties (or only the configured one).
func (*Connector) Discover(ctx context.Context, env connector.Env, raw map[string]any) (*connector.Catalog, error) {
	a, err := open(ctx, env, raw)
	if err != nil {
		return nil, err
	}
	objects := Objects
	if a.cfg.Object != "" {
		objects = []string{a.cfg.Object}
	}
	cat := &connector.Catalog{}
	for _, o := range objects {
		props, err := a.properties(ctx, o)
		if err != nil {
			return nil, err
		}
		s, _, err := schemaOf(o, props, a.cfg.Properties)
		if err != nil {
			return nil, err
		}
		cat.Streams = append(cat.Streams, connector.Stream{Name: o, Kind: "object", Schema: s, PrimaryKey: []string{fieldID},
			CursorCandidates: []string{fieldUpdatedAt}})
	}
	return cat, nil
}
