package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/httpkit"
	"github.com/dataaggregator/aggregator/internal/connector/internal/jsonrec"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Connector is the REST connector.
type Connector struct{}

// New returns the REST connector (type "rest").
func New() *Connector { return &Connector{} }

var (
	_ connector.Source        = (*Connector)(nil)
	_ connector.Destination   = (*Connector)(nil)
	_ connector.Checker       = (*Connector)(nil)
	_ connector.Discoverer    = (*Connector)(nil)
	_ connector.RequestTester = (*Connector)(nil)
)

// Spec describes the connector.
func (*Connector) Spec() connector.Spec { return Spec() }

// Spec is the REST connector's spec.
func Spec() connector.Spec {
	return connector.Spec{
		Name:        "rest",
		Title:       "REST API",
		Description: "Reads records from a JSON HTTP API (auth, pagination, rate limits, retries, incremental cursor) and sends records to one (POST, PUT or PATCH, one by one or in batches, with idempotency keys).",
		Category:    "api",
		Source:      true,
		Destination: true,
		Config:      spec,
		WriteModes:  []connector.WriteMode{connector.Append},
		Incremental: true,
	}
}

// page is one fetched page.
type page struct {
	url  string // as requested (without authentication)
	resp *httpkit.Response
	objs [][]byte // records (each a JSON object, flattened when asked)
	bad  []string // per record: why it is not a record ("" for a good one)
}

// fetch requests one page and extracts its records.
func fetch(ctx context.Context, c *httpkit.Client, cfg *Config, u string) (*page, error) {
	method := cfg.Method
	if method == "" {
		method = http.MethodGet
	}
	req := httpkit.Request{Method: method, URL: u, Header: http.Header{}}
	if cfg.Body != nil {
		b, err := json.Marshal(cfg.Body)
		if err != nil {
			return nil, connector.ConfigError(fmt.Errorf("body: %v", err))
		}
		req.Body = b
		req.Header.Set("Content-Type", "application/json")
	}
	if cfg.Headers["Accept"] == "" && cfg.Headers["accept"] == "" {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	p := &page{url: u, resp: resp}
	if err := httpkit.CheckJSON(c.Redact(u), resp.Body); err != nil {
		return nil, err
	}
	var flat []byte
	err = httpkit.Records(resp.Body, cfg.RecordsPath, func(obj []byte, reason string) error {
		if cfg.Flatten && reason == "" {
			start := len(flat)
			flat = httpkit.Flatten(flat, obj, "_")
			obj = flat[start:len(flat):len(flat)]
		}
		p.objs = append(p.objs, obj)
		p.bad = append(p.bad, reason)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("response of %s: %w", c.Redact(u), err)
	}
	return p, nil
}

// infer infers a schema from sample records, with overrides by name.
func infer(objs [][]byte, bad []string, overrides map[string]record.Kind) (*record.Schema, error) {
	inf := jsonrec.NewInferrer()
	for i, o := range objs {
		if bad[i] == "" {
			_ = inf.Observe(o)
		}
	}
	return record.NewSchema(inf.Fields(overrides)...)
}

// Check requests the first page and checks that its body holds records where records_path says.
func (*Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	_, err := sample(ctx, env, raw)
	return err
}

// TestRequest runs the first request of a read with raw and returns what it found (the request
// tester of the connector form).
func (*Connector) TestRequest(ctx context.Context, env connector.Env, raw map[string]any, limit int) (*connector.RequestSample, error) {
	return sampleN(ctx, env, raw, limit)
}

func sample(ctx context.Context, env connector.Env, raw map[string]any) (*connector.RequestSample, error) {
	return sampleN(ctx, env, raw, 0)
}

func sampleN(ctx context.Context, env connector.Env, raw map[string]any, limit int) (*connector.RequestSample, error) {
	cfg, err := decode(raw)
	if err != nil {
		return nil, err
	}
	c, err := cfg.client(ctx, env)
	if err != nil {
		return nil, err
	}
	cursor := ""
	if cfg.Incremental != nil {
		cursor = cfg.Incremental.Start
	}
	u, err := cfg.buildURL(cursor)
	if err != nil {
		return nil, err
	}
	pg := httpkit.NewPager(cfg.Pagination, c.Redact)
	if u, err = pg.First(u); err != nil {
		return nil, connector.ConfigError(fmt.Errorf("url: %v", err))
	}
	p, err := fetch(ctx, c, cfg, u)
	if err != nil {
		return nil, err
	}
	s := &connector.RequestSample{URL: c.Redact(u), Status: p.resp.Status, Total: len(p.objs)}
	if s.Schema, err = infer(p.objs, p.bad, nil); err != nil {
		return nil, err
	}
	if next, err := pg.Next(u, p.resp, len(p.objs)); err == nil && next != "" {
		s.HasNext = true
	}
	for i, o := range p.objs {
		if limit > 0 && i >= limit {
			break
		}
		var m map[string]any
		if p.bad[i] != "" || json.Unmarshal(o, &m) != nil {
			m = map[string]any{"_error": p.bad[i], "_raw": string(o)}
		}
		s.Records = append(s.Records, m)
	}
	return s, nil
}

// Discover infers the one stream's schema from the first page.
func (*Connector) Discover(ctx context.Context, env connector.Env, raw map[string]any) (*connector.Catalog, error) {
	s, err := sample(ctx, env, raw)
	if err != nil {
		return nil, err
	}
	cfg, _ := decode(raw)
	st := connector.Stream{Name: cfg.Stream, Kind: "endpoint", Schema: s.Schema, PrimaryKey: cfg.PrimaryKey}
	if st.Name == "" {
		st.Name = streamName(cfg.URL)
	}
	if len(st.PrimaryKey) == 0 && s.Schema.Index("id") >= 0 {
		st.PrimaryKey = []string{"id"}
	}
	for _, f := range s.Schema.Fields {
		n := strings.ToLower(f.Name)
		if f.Kind == record.KindTimestamp || f.Kind == record.KindDate || strings.Contains(n, "updated") || strings.Contains(n, "modified") {
			st.CursorCandidates = append(st.CursorCandidates, f.Name)
		}
	}
	return &connector.Catalog{Streams: []connector.Stream{st}}, nil
}

// streamName is the last segment of the URL's path without placeholders.
func streamName(u string) string {
	u = placeholder.ReplaceAllString(u, "")
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	segs := slices.DeleteFunc(strings.Split(u, "/"), func(s string) bool { return s == "" })
	if len(segs) <= 1 {
		return "records"
	}
	return segs[len(segs)-1]
}
