package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Saved connectors and connector types. A saved connector's config is
// validated against its type's config spec on every save. Secrets are never
// returned: reads show them as "********", and an update that sends
// "********" (or leaves a secret out) keeps the stored value. The list shows
// no configs at all; reading one config needs connectors:read_config, which
// viewers and executives do not hold.

// Connector is a saved connector. Config is present only on single-item
// responses, with secrets redacted.
type Connector struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Description string         `json:"description"`
	Config      map[string]any `json:"config,omitempty"`
	CreatedBy   string         `json:"created_by"`
	UpdatedBy   string         `json:"updated_by"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

func (s *Server) toConnectorDTO(c store.Connector, withConfig bool) Connector {
	d := Connector{ID: c.ID, Name: c.Name, Type: c.Type, Description: c.Description, CreatedBy: c.CreatedBy,
		UpdatedBy: c.UpdatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if withConfig {
		cfg := map[string]any{}
		_ = json.Unmarshal(c.Config, &cfg)
		if conn, err := s.data.Runs.Connectors().Get(c.Type); err == nil {
			d.Config = conn.Spec().Config.Redact(cfg)
		} else {
			d.Config = map[string]any{} // unknown type: show nothing rather than a secret
		}
	}
	return d
}

type connectorOutput struct {
	Body Connector
}

type listConnectorsInput struct {
	PageQuery
	Search string `query:"search" maxLength:"200" doc:"Substring of the name"`
	Type   string `query:"type" maxLength:"64" doc:"Only connectors of this type"`
}

func (s *Server) listConnectors(ctx context.Context, in *listConnectorsInput) (*struct{ Body Page[Connector] }, error) {
	list, total, err := s.store.ListConnectors(ctx, store.ConnectorFilter{Search: strings.TrimSpace(in.Search), Type: in.Type, Page: in.store()})
	if err != nil {
		return nil, err
	}
	items := make([]Connector, len(list))
	for i, c := range list {
		items[i] = s.toConnectorDTO(c, false)
	}
	return &struct{ Body Page[Connector] }{Body: newPage(items, total, in.PageQuery)}, nil
}

type connectorBody struct {
	Name        string         `json:"name" minLength:"1" maxLength:"128"`
	Type        string         `json:"type" minLength:"1" maxLength:"64" doc:"A connector type (GET /api/v1/connector-types)"`
	Description string         `json:"description,omitempty" maxLength:"2000"`
	Config      map[string]any `json:"config,omitempty"`
}

// checkConnectorConfig validates config against the type's spec.
func (s *Server) checkConnectorConfig(typ string, config map[string]any) (connector.Connector, error) {
	conn, err := s.data.Runs.Connectors().Get(typ)
	if err != nil {
		return nil, invalid("body.type", err.Error(), typ)
	}
	if errs := conn.Spec().Config.Validate(orEmpty(config)); len(errs) > 0 {
		return nil, configError("body.config", errs)
	}
	return conn, nil
}

func (s *Server) createConnector(ctx context.Context, in *struct{ Body connectorBody }) (*connectorOutput, error) {
	b := in.Body
	if _, err := s.checkConnectorConfig(b.Type, b.Config); err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(orEmpty(b.Config))
	if err != nil {
		return nil, invalid("body.config", err.Error(), nil)
	}
	c, err := s.store.CreateConnector(ctx, store.Connector{Name: b.Name, Type: b.Type, Description: b.Description,
		Config: cfg, CreatedBy: principalFrom(ctx).Username})
	if err != nil {
		return nil, err
	}
	infoFrom(ctx).setTarget("connector", c.ID)
	return &connectorOutput{Body: s.toConnectorDTO(c, true)}, nil
}

type connectorIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) getConnector(ctx context.Context, in *connectorIDInput) (*connectorOutput, error) {
	c, err := s.store.GetConnector(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &connectorOutput{Body: s.toConnectorDTO(c, true)}, nil
}

type updateConnectorInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body connectorBody
}

func (s *Server) updateConnector(ctx context.Context, in *updateConnectorInput) (*connectorOutput, error) {
	cur, err := s.store.GetConnector(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	b := in.Body
	config := orEmpty(b.Config)
	if b.Type == cur.Type {
		stored := map[string]any{}
		_ = json.Unmarshal(cur.Config, &stored)
		if conn, err := s.data.Runs.Connectors().Get(b.Type); err == nil {
			config = conn.Spec().Config.MergeSecrets(config, stored)
		}
	}
	if _, err := s.checkConnectorConfig(b.Type, config); err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(config)
	if err != nil {
		return nil, invalid("body.config", err.Error(), nil)
	}
	c, err := s.store.UpdateConnector(ctx, store.Connector{ID: in.ID, Name: b.Name, Type: b.Type, Description: b.Description,
		Config: cfg, UpdatedBy: principalFrom(ctx).Username})
	if err != nil {
		return nil, err
	}
	return &connectorOutput{Body: s.toConnectorDTO(c, true)}, nil
}

func (s *Server) deleteConnector(ctx context.Context, in *connectorIDInput) (*noContent, error) {
	if err := s.store.DeleteConnector(ctx, in.ID, principalFrom(ctx).Username); err != nil {
		return nil, err
	}
	return &noContent{}, nil
}

// savedConnector loads a saved connector with its type and full config.
func (s *Server) savedConnector(ctx context.Context, id string) (connector.Connector, map[string]any, error) {
	c, err := s.store.GetConnector(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	conn, err := s.data.Runs.Connectors().Get(c.Type)
	if err != nil {
		return nil, nil, conflict("connector type " + c.Type + " is not available in this server")
	}
	cfg := map[string]any{}
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		return nil, nil, err
	}
	return conn, cfg, nil
}

// CheckResult says whether a saved connector can connect.
type CheckResult struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

func (s *Server) checkConnector(ctx context.Context, in *connectorIDInput) (*struct{ Body CheckResult }, error) {
	conn, cfg, err := s.savedConnector(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	ch, ok := conn.(connector.Checker)
	if !ok {
		return &struct{ Body CheckResult }{Body: CheckResult{OK: true, Message: "connector type " + conn.Spec().Name + " has no connection to test; its config is valid"}}, nil
	}
	if err := ch.Check(ctx, s.data.Runs.Env(), cfg); err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return &struct{ Body CheckResult }{Body: CheckResult{OK: false, Message: err.Error()}}, nil
	}
	return &struct{ Body CheckResult }{Body: CheckResult{OK: true, Message: "connection works"}}, nil
}

// Catalog is what a connector can read: streams with their fields.
type Catalog struct {
	Streams []Stream `json:"streams"`
}

// Stream is one readable object.
type Stream struct {
	Name             string   `json:"name"`
	Namespace        string   `json:"namespace,omitempty"`
	Kind             string   `json:"kind,omitempty"`
	Fields           []Field  `json:"fields"`
	PrimaryKey       []string `json:"primary_key,omitempty"`
	CursorCandidates []string `json:"cursor_candidates,omitempty"`
	RowEstimate      int64    `json:"row_estimate,omitempty"`
}

func (s *Server) discoverConnector(ctx context.Context, in *connectorIDInput) (*struct{ Body Catalog }, error) {
	conn, cfg, err := s.savedConnector(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	d, ok := conn.(connector.Discoverer)
	if !ok {
		return nil, newProblem(http.StatusUnprocessableEntity, "connector type "+conn.Spec().Name+" cannot list its streams")
	}
	cat, err := d.Discover(ctx, s.data.Runs.Env(), cfg)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, newProblem(http.StatusUnprocessableEntity, "discover failed: "+err.Error())
	}
	out := Catalog{Streams: []Stream{}}
	for _, st := range cat.Streams {
		out.Streams = append(out.Streams, Stream{Name: st.Name, Namespace: st.Namespace, Kind: st.Kind, Fields: toFields(st.Schema),
			PrimaryKey: st.PrimaryKey, CursorCandidates: st.CursorCandidates, RowEstimate: st.RowEstimate})
	}
	return &struct{ Body Catalog }{Body: out}, nil
}

// ConnectorType is a connector type with the JSON Schema of its config
// (secret fields marked); the UI draws its forms from it.
type ConnectorType struct {
	connector.Spec
	ConfigSchema map[string]any `json:"config_schema"`
	Checkable    bool           `json:"checkable"`
	Discoverable bool           `json:"discoverable"`
}

func (s *Server) listConnectorTypes(ctx context.Context, _ *struct{}) (*struct{ Body []ConnectorType }, error) {
	reg := s.data.Runs.Connectors()
	out := []ConnectorType{}
	for _, name := range reg.Names() {
		c, err := reg.Get(name)
		if err != nil {
			return nil, err
		}
		_, checkable := c.(connector.Checker)
		_, discoverable := c.(connector.Discoverer)
		out = append(out, ConnectorType{Spec: c.Spec(), ConfigSchema: c.Spec().Config.JSONSchema(), Checkable: checkable, Discoverable: discoverable})
	}
	return &struct{ Body []ConnectorType }{Body: out}, nil
}
