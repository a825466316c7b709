package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/connections"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Saved connectors and connector types: decode, call internal/connections,
// respond. That service validates each save against the type's config spec
// and seals secrets; they are never returned: reads show them as "********",
// and an update that sends "********" (or leaves a secret out) keeps the
// stored value. The list shows no configs at all; reading one config needs
// connectors:read_config, which viewers and executives do not hold.

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
	Managed     *ManagedFrom   `json:"managed,omitempty" doc:"Present when aggregator apply last wrote the connector from a file (lists leave drifted out)"`
}

func toConnectorDTO(c connections.Connector) Connector {
	return Connector{ID: c.ID, Name: c.Name, Type: c.Type, Description: c.Description, Config: c.Config,
		CreatedBy: c.CreatedBy, UpdatedBy: c.UpdatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// connectionsError maps the connections service's errors to problems; others
// pass to the funnel.
func connectionsError(err error) error {
	var ie *connections.InputError
	var de *connections.DiscoverError
	switch {
	case errors.As(err, &ie):
		if len(ie.Errs) > 0 {
			return configError("body."+ie.Field, ie.Errs)
		}
		return invalid("body."+ie.Field, ie.Message, nil)
	case errors.As(err, &de):
		return newProblem(http.StatusUnprocessableEntity, de.Error())
	case errors.Is(err, connections.ErrCannotDiscover), errors.Is(err, connections.ErrCannotTestRequest):
		return newProblem(http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, connections.ErrTypeUnavailable):
		return conflict(err.Error() + " in this server")
	case errors.Is(err, connections.ErrUnknownKey):
		return conflict(err.Error())
	}
	return err
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
	list, total, err := s.data.Connections.List(ctx, store.ConnectorFilter{Search: strings.TrimSpace(in.Search), Type: in.Type, Page: in.store()})
	if err != nil {
		return nil, err
	}
	managed, err := s.store.ListManaged(ctx, store.ManagedConnector)
	if err != nil {
		return nil, err
	}
	items := make([]Connector, len(list))
	for i, c := range list {
		items[i] = toConnectorDTO(c)
		items[i].Managed = listedManaged(managed, c.ID)
	}
	return &struct{ Body Page[Connector] }{Body: newPage(items, total, in.PageQuery)}, nil
}

type connectorBody struct {
	Name        string         `json:"name" minLength:"1" maxLength:"128"`
	Type        string         `json:"type" minLength:"1" maxLength:"64" doc:"A connector type (GET /api/v1/connector-types)"`
	Description string         `json:"description,omitempty" maxLength:"2000"`
	Config      map[string]any `json:"config,omitempty"`
}

func (b connectorBody) input() connections.Input {
	return connections.Input{Name: b.Name, Type: b.Type, Description: b.Description, Config: b.Config}
}

func (s *Server) createConnector(ctx context.Context, in *struct{ Body connectorBody }) (*connectorOutput, error) {
	c, err := s.data.Connections.Create(ctx, in.Body.input(), principalFrom(ctx).Username)
	if err != nil {
		return nil, connectionsError(err)
	}
	infoFrom(ctx).setTarget("connector", c.ID)
	return s.connectorOutput(ctx, c)
}

// connectorOutput renders one connector with its mark of management from a file.
func (s *Server) connectorOutput(ctx context.Context, c connections.Connector) (*connectorOutput, error) {
	d := toConnectorDTO(c)
	m, err := s.managedOne(ctx, store.ManagedConnector, d.ID, connectorDigest(d))
	if err != nil {
		return nil, err
	}
	d.Managed = m
	return &connectorOutput{Body: d}, nil
}

type connectorIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) getConnector(ctx context.Context, in *connectorIDInput) (*connectorOutput, error) {
	c, err := s.data.Connections.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return s.connectorOutput(ctx, c)
}

type updateConnectorInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body connectorBody
}

func (s *Server) updateConnector(ctx context.Context, in *updateConnectorInput) (*connectorOutput, error) {
	c, err := s.data.Connections.Update(ctx, in.ID, in.Body.input(), principalFrom(ctx).Username)
	if err != nil {
		return nil, connectionsError(err)
	}
	return s.connectorOutput(ctx, c)
}

func (s *Server) deleteConnector(ctx context.Context, in *connectorIDInput) (*noContent, error) {
	if err := s.data.Connections.Delete(ctx, in.ID, principalFrom(ctx).Username); err != nil {
		return nil, err
	}
	return &noContent{}, nil
}

// CheckResult says whether a saved connector can connect.
type CheckResult struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

func (s *Server) checkConnector(ctx context.Context, in *connectorIDInput) (*struct{ Body CheckResult }, error) {
	res, err := s.data.Connections.Check(ctx, in.ID)
	if err != nil {
		return nil, connectionsError(err)
	}
	return &struct{ Body CheckResult }{Body: CheckResult{OK: res.OK, Message: res.Message}}, nil
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
	cat, err := s.data.Connections.Discover(ctx, in.ID)
	if err != nil {
		return nil, connectionsError(err)
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
	// Testable says whether the type has a request tester (POST /api/v1/connectors/test-request).
	Testable bool `json:"testable"`
	// OAuth, when set, says that the type has "Connect with <name>" (POST
	// /api/v1/connectors/{id}/oauth/start) for configs whose auth.type is auth_type.
	OAuth *connector.OAuthProvider `json:"oauth,omitempty"`
}

func (s *Server) listConnectorTypes(ctx context.Context, _ *struct{}) (*struct{ Body []ConnectorType }, error) {
	reg := s.data.Connectors
	out := []ConnectorType{}
	for _, name := range reg.Names() {
		c, err := reg.Get(name)
		if err != nil {
			return nil, err
		}
		_, checkable := c.(connector.Checker)
		_, discoverable := c.(connector.Discoverer)
		_, testable := c.(connector.RequestTester)
		ct := ConnectorType{Spec: c.Spec(), ConfigSchema: c.Spec().Config.JSONSchema(), Checkable: checkable, Discoverable: discoverable, Testable: testable}
		if oc, ok := c.(connector.OAuthConnector); ok {
			p := oc.OAuthProvider()
			ct.OAuth = &p
		}
		out = append(out, ct)
	}
	return &struct{ Body []ConnectorType }{Body: out}, nil
}

type testRequestBody struct {
	Type   string         `json:"type" minLength:"1" maxLength:"64" doc:"A connector type whose testable is true (GET /api/v1/connector-types)"`
	Config map[string]any `json:"config,omitempty"`
	// ConnectorID names the saved connector being edited: secrets sent as "********" (or left out)
	// take its stored values.
	ConnectorID string `json:"connector_id,omitempty" maxLength:"64" doc:"The saved connector being edited, whose stored secrets fill those sent as ********"`
	Limit       int    `json:"limit,omitempty" minimum:"1" maximum:"100" doc:"Records to return (default 20)"`
}

// TestRequestResult is what one request with a configuration returned. A request that failed is
// ok: false with the message (the URL without secrets, the status, the first bytes of the body).
type TestRequestResult struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
	// URL is the URL requested, without secrets.
	URL    string `json:"url,omitempty"`
	Status int    `json:"status,omitempty"`
	// Records are the first records of the page; Total how many it has.
	Records []map[string]any `json:"records"`
	Total   int              `json:"total"`
	// Fields is the schema inferred from the page.
	Fields  []Field `json:"fields"`
	HasNext bool    `json:"has_next" doc:"The pagination found a next page"`
}

// testRequestTimeout bounds a test request, retries included.
const testRequestTimeout = 60 * time.Second

func (s *Server) testConnectorRequest(ctx context.Context, in *struct{ Body testRequestBody }) (*struct{ Body TestRequestResult }, error) {
	ctx, cancel := context.WithTimeout(ctx, testRequestTimeout)
	defer cancel()
	res, err := s.data.Connections.TestRequest(ctx, connections.TestRequestInput{ID: in.Body.ConnectorID, Type: in.Body.Type, Config: in.Body.Config, Limit: in.Body.Limit})
	if err != nil {
		return nil, connectionsError(err)
	}
	out := TestRequestResult{OK: res.OK, Message: res.Message, Records: []map[string]any{}, Fields: []Field{}}
	if sm := res.Sample; sm != nil {
		out.URL, out.Status, out.Total, out.HasNext, out.Fields = sm.URL, sm.Status, sm.Total, sm.HasNext, toFields(sm.Schema)
		if sm.Records != nil {
			out.Records = sm.Records
		}
	}
	return &struct{ Body TestRequestResult }{Body: out}, nil
}
