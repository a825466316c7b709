package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/httpkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Connector is the Salesforce connector.
type Connector struct{}

// New returns the Salesforce connector (type "salesforce").
func New() *Connector { return &Connector{} }

var (
	_ connector.Source     = (*Connector)(nil)
	_ connector.Checker    = (*Connector)(nil)
	_ connector.Discoverer = (*Connector)(nil)
)

// Spec describes the connector.
func (*Connector) Spec() connector.Spec { return Spec() }

// Spec is the Salesforce connector's spec.
func Spec() connector.Spec {
	return connector.Spec{
		Name:        "salesforce",
		Title:       "Salesforce",
		Description: "Reads Salesforce objects with SOQL (REST query API, or Bulk API 2.0 for large objects); incremental by SystemModstamp, deleted records on request.",
		Category:    "api",
		Source:      true,
		Config:      spec,
		Incremental: true,
	}
}

// api is an authenticated client of one org.
type api struct {
	cfg    *Config
	c      *httpkit.Client
	base   string // <instance>/services/data/v<version>
	warned bool
	env    connector.Env
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
	a := &api{cfg: cfg, c: c, env: env}
	instance := cfg.InstanceURL
	if instance == "" {
		tok, err := c.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("salesforce: %w", err)
		}
		if s, _ := tok.Extra("instance_url").(string); s != "" {
			instance = strings.TrimRight(s, "/")
		}
	}
	if u, err := url.Parse(instance); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("salesforce: the token response has no usable instance_url (%q): set instance_url", instance)
	}
	a.base = instance + "/services/data/v" + cfg.APIVersion
	return a, nil
}

// get sends one request (path under the versioned base, or a path from the server such as
// nextRecordsUrl starting with /services/) and returns the response.
func (a *api) send(ctx context.Context, method, path string, body any, accept string) (*httpkit.Response, error) {
	u := a.base + path
	if strings.HasPrefix(path, "/services/") {
		u = a.base[:strings.Index(a.base, "/services/")] + path
	}
	req := httpkit.Request{Method: method, URL: u, Header: http.Header{}}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		req.Body = b
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.c.Do(ctx, req)
	if err != nil {
		return nil, explain(err)
	}
	a.usage(resp.Header.Get("Sforce-Limit-Info"))
	return resp, nil
}

func (a *api) getJSON(ctx context.Context, path string, out any) error {
	resp, err := a.send(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return err
	}
	return a.decodeJSON(resp, out)
}

func (a *api) decodeJSON(resp *httpkit.Response, out any) error {
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("salesforce: %s: the body is not the JSON Salesforce documents: %v", a.c.Redact(resp.URL.String()), err)
	}
	return nil
}

// usage reads Sforce-Limit-Info ("api-usage=18/5000") and warns once when the org has used 90%
// of its daily API requests.
func (a *api) usage(h string) {
	if a.warned || a.env.Logger == nil {
		return
	}
	v, ok := strings.CutPrefix(strings.TrimSpace(h), "api-usage=")
	if !ok {
		return
	}
	used, limit, ok := strings.Cut(v, "/")
	u, err1 := strconv.Atoi(used)
	l, err2 := strconv.Atoi(limit)
	if !ok || err1 != nil || err2 != nil || l <= 0 {
		return
	}
	if u*10 >= l*9 {
		a.warned = true
		a.env.Logger.Warn("the Salesforce org has used most of its daily API requests", "used", u, "limit", l)
	}
}

// sobject is one entry of GET /sobjects.
type sobject struct {
	Name          string `json:"name"`
	Label         string `json:"label"`
	Queryable     bool   `json:"queryable"`
	Replicateable bool   `json:"replicateable"`
	Deprecated    bool   `json:"deprecatedAndHidden"`
}

func (a *api) sobjects(ctx context.Context) ([]sobject, error) {
	var out struct {
		SObjects []sobject `json:"sobjects"`
	}
	if err := a.getJSON(ctx, "/sobjects", &out); err != nil {
		return nil, err
	}
	return out.SObjects, nil
}

// field is one field of a describe answer.
type field struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Nillable  bool   `json:"nillable"`
	Precision int    `json:"precision"`
	Scale     int    `json:"scale"`
}

type describe struct {
	Name   string  `json:"name"`
	Fields []field `json:"fields"`
}

func (a *api) describe(ctx context.Context, object string) (*describe, error) {
	var d describe
	if err := a.getJSON(ctx, "/sobjects/"+url.PathEscape(object)+"/describe", &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// kindOf maps a Salesforce field type to a record kind; false for fields SOQL reads cannot return
// as plain values (compound address and location, base64 bodies).
func kindOf(f field) (record.Kind, bool) {
	switch f.Type {
	case "address", "location", "base64":
		return record.KindNull, false
	case "boolean":
		return record.KindBool, true
	case "int", "long":
		return record.KindInt, true
	case "double", "currency", "percent":
		return record.KindDecimal, true
	case "date":
		return record.KindDate, true
	case "datetime":
		return record.KindTimestamp, true
	}
	return record.KindString, true // id, reference, string, picklist, textarea, email, phone, url, time...
}

// OpField is the field that flags deleted records with include_deleted (as change sources do).
const OpField = "_op"

// schemaOf builds the schema of object d: the fields asked for (all readable ones by default).
func schemaOf(d *describe, want []string, deleted bool) (*record.Schema, []string, error) {
	byName := make(map[string]field, len(d.Fields))
	for _, f := range d.Fields {
		byName[strings.ToLower(f.Name)] = f
	}
	var fields []record.Field
	var names []string
	add := func(f field) error {
		k, ok := kindOf(f)
		if !ok {
			return fmt.Errorf("fields: %s.%s is a %s field, which a query cannot read as a value (read its component fields)", d.Name, f.Name, f.Type)
		}
		if slices.Contains(names, f.Name) {
			return nil
		}
		fl := record.Field{Name: f.Name, Kind: k, Nullable: f.Nillable || f.Name != "Id", Native: f.Type}
		if k == record.KindDecimal && f.Precision > 0 {
			fl.Precision, fl.Scale = f.Precision, f.Scale
		}
		fields = append(fields, fl)
		names = append(names, f.Name)
		return nil
	}
	if len(want) > 0 {
		var missing []string
		for _, n := range want {
			f, ok := byName[strings.ToLower(n)]
			if !ok {
				missing = append(missing, n)
				continue
			}
			if err := add(f); err != nil {
				return nil, nil, connector.ConfigError(err)
			}
		}
		if len(missing) > 0 {
			return nil, nil, connector.ConfigError(fmt.Errorf("fields: %s has no field %s", d.Name, strings.Join(missing, ", ")))
		}
		if f, ok := byName["id"]; ok && !slices.Contains(names, f.Name) {
			_ = add(f) // the key is always read
		}
	} else {
		for _, f := range d.Fields {
			if _, ok := kindOf(f); ok {
				_ = add(f)
			}
		}
	}
	if deleted {
		f, ok := byName["isdeleted"]
		if !ok {
			return nil, nil, connector.ConfigError(fmt.Errorf("include_deleted: %s has no IsDeleted field (it keeps no deleted records)", d.Name))
		}
		_ = add(f)
		fields = append(fields, record.Field{Name: OpField, Kind: record.KindString})
	}
	s, err := record.NewSchema(fields...)
	return s, names, err
}

// cursorField is the field changes are read by: SystemModstamp, else LastModifiedDate.
func cursorField(d *describe) string {
	for _, want := range []string{"SystemModstamp", "LastModifiedDate"} {
		for _, f := range d.Fields {
			if f.Name == want {
				return want
			}
		}
	}
	return ""
}

// Check gets a token, finds the instance and lists the org's objects; with object set it checks
// that the object exists and can be queried.
func (*Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	a, err := open(ctx, env, raw)
	if err != nil {
		return err
	}
	objs, err := a.sobjects(ctx)
	if err != nil {
		return err
	}
	if o := a.cfg.Object; o != "" {
		i := slices.IndexFunc(objs, func(s sobject) bool { return strings.EqualFold(s.Name, o) })
		if i < 0 || !objs[i].Queryable {
			return connector.ConfigError(fmt.Errorf("object: %s is not a queryable object of this org", o))
		}
	}
	return nil
}

// Discover describes the org's queryable, replicateable objects (or those discover_objects
// names): fields with their types, the key Id and the cursor SystemModstamp.
func (*Connector) Discover(ctx context.Context, env connector.Env, raw map[string]any) (*connector.Catalog, error) {
	a, err := open(ctx, env, raw)
	if err != nil {
		return nil, err
	}
	names := a.cfg.DiscoverObjects
	if len(names) == 0 {
		objs, err := a.sobjects(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if o.Queryable && o.Replicateable && !o.Deprecated {
				names = append(names, o.Name)
			}
		}
	}
	cat := &connector.Catalog{}
	for _, n := range names {
		d, err := a.describe(ctx, n)
		if err != nil {
			var se *httpkit.StatusError
			if errors.As(err, &se) && se.Status == http.StatusNotFound {
				return nil, connector.ConfigError(fmt.Errorf("discover_objects: %s is not an object of this org", n))
			}
			return nil, err
		}
		s, _, err := schemaOf(d, nil, false)
		if err != nil {
			return nil, err
		}
		st := connector.Stream{Name: d.Name, Kind: "object", Schema: s}
		if s.Index("Id") >= 0 {
			st.PrimaryKey = []string{"Id"}
		}
		for _, c := range []string{"SystemModstamp", "LastModifiedDate"} {
			if s.Index(c) >= 0 {
				st.CursorCandidates = append(st.CursorCandidates, c)
			}
		}
		cat.Streams = append(cat.Streams, st)
	}
	return cat, nil
}
