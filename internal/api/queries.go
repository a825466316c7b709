package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dataaggregator/aggregator/internal/connections"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/export"
	"github.com/dataaggregator/aggregator/internal/queries"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Analytics queries: run a read-only SQL statement on a saved database connector, keep saved
// queries with their chart, export a result (docs/analytics.md). Decode, call internal/queries,
// respond. The database refuses writes; its own message comes back as a 422.

// QuerySource is a saved connector a query can run on (never its config).
type QuerySource struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type" doc:"postgres, mysql or sqlserver"`
}

// QueryRunBody is an ad-hoc query to run.
type QueryRunBody struct {
	ConnectorID    string  `json:"connector_id" maxLength:"64" doc:"The saved database connector to run on"`
	SQL            string  `json:"sql" maxLength:"100000" doc:"One SQL statement; it runs read-only"`
	MaxRows        int     `json:"max_rows,omitempty" minimum:"0" doc:"Rows returned at most (default 1000, at most 10000); truncated says when there were more"`
	TimeoutSeconds float64 `json:"timeout_seconds,omitempty" minimum:"0" doc:"Statement timeout (default 30, at most 300)"`
}

// QueryColumn is one column of a result.
type QueryColumn struct {
	Name   string `json:"name"`
	Type   string `json:"type" doc:"The value type: bool, int, float, decimal, string, bytes, date, timestamp, json"`
	Native string `json:"native" doc:"The database's own type"`
}

// QueryResult is the result of a run.
type QueryResult struct {
	Columns        []QueryColumn `json:"columns" nullable:"false"`
	Rows           [][]any       `json:"rows" nullable:"false" doc:"Values in column order: numbers (decimals with their exact digits), strings, booleans, null; dates and timestamps as ISO 8601 text, bytes as base64"`
	RowCount       int           `json:"row_count"`
	Truncated      bool          `json:"truncated" doc:"The query had more rows than max_rows; they were not read"`
	MaxRows        int           `json:"max_rows"`
	TimeoutSeconds float64       `json:"timeout_seconds"`
	ElapsedMS      int64         `json:"elapsed_ms"`
	ExportMaxRows  int           `json:"export_max_rows" doc:"Rows an export of this query writes at most (its own cap, above max_rows)"`
}

func toQueryResult(r queries.Result, exportRows int) QueryResult {
	out := QueryResult{ExportMaxRows: exportRows, Columns: make([]QueryColumn, len(r.Columns)), Rows: make([][]any, len(r.Rows)), RowCount: len(r.Rows),
		Truncated: r.Truncated, MaxRows: r.MaxRows, TimeoutSeconds: r.Timeout.Seconds(), ElapsedMS: r.Elapsed.Milliseconds()}
	for i, c := range r.Columns {
		out.Columns[i] = QueryColumn{Name: c.Name, Type: c.Kind.String(), Native: c.Native}
	}
	for i, row := range r.Rows {
		vals := make([]any, len(row))
		for j, v := range row {
			vals[j] = json.RawMessage(v.AppendJSON(nil))
		}
		out.Rows[i] = vals
	}
	return out
}

// QueryChart is how a saved query's result is drawn.
type QueryChart struct {
	Type string   `json:"type" enum:"line,bar,area," doc:"line, bar or area; empty: no chart chosen"`
	X    string   `json:"x" maxLength:"256" doc:"The column on the x axis"`
	Y    []string `json:"y" nullable:"false" maxItems:"10" doc:"The columns drawn as series"`
}

// SavedQuery is a saved analytics query.
type SavedQuery struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Description   string     `json:"description"`
	ConnectorID   string     `json:"connector_id"`
	ConnectorName string     `json:"connector_name" doc:"Empty when the connector was deleted"`
	ConnectorType string     `json:"connector_type"`
	SQL           string     `json:"sql"`
	Chart         QueryChart `json:"chart"`
	CreatedBy     string     `json:"created_by"`
	UpdatedBy     string     `json:"updated_by"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

type savedQueryBody struct {
	Name        string      `json:"name" minLength:"1" maxLength:"128"`
	Description string      `json:"description,omitempty" maxLength:"2000"`
	ConnectorID string      `json:"connector_id" minLength:"1" maxLength:"64"`
	SQL         string      `json:"sql" minLength:"1" maxLength:"100000"`
	Chart       *QueryChart `json:"chart,omitempty"`
}

func (b savedQueryBody) input() queries.SavedInput {
	in := queries.SavedInput{Name: b.Name, Description: b.Description, ConnectorID: b.ConnectorID, SQL: b.SQL}
	if b.Chart != nil {
		in.Chart = queries.Chart{Type: b.Chart.Type, X: b.Chart.X, Y: b.Chart.Y}
	}
	return in
}

// queryError maps the query service's errors: input problems to a 422 naming each field, a
// timeout and the database's own refusal to a 422 with their message, a connector that cannot be
// opened or cannot run SQL to a 422 that says so.
func queryError(err error) error {
	var ie *queries.InvalidError
	var qe *connector.QueryError
	var ce *connections.QueryError
	var re *connections.RefError
	switch {
	case errors.As(err, &ie):
		fields := make([]*huma.ErrorDetail, len(ie.Problems))
		for i, p := range ie.Problems {
			fields[i] = fieldError("body."+p.Path, p.Message, nil)
		}
		return newProblem(http.StatusUnprocessableEntity, ie.Error(), fields...)
	case errors.Is(err, connector.ErrQueryTimeout):
		return newProblem(http.StatusUnprocessableEntity, err.Error())
	case errors.As(err, &qe):
		return newProblem(http.StatusUnprocessableEntity, "the database refused the query: "+qe.Error())
	case errors.As(err, &ce), errors.As(err, &re), errors.Is(err, connections.ErrCannotQuery):
		return newProblem(http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, connector.ErrConfig):
		return newProblem(http.StatusUnprocessableEntity, err.Error())
	}
	return connectionsError(err)
}

func timeoutOf(seconds float64) time.Duration { return time.Duration(seconds * float64(time.Second)) }

func (s *Server) listQuerySources(ctx context.Context, _ *struct{}) (*struct{ Body []QuerySource }, error) {
	list, err := s.queries.Sources(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]QuerySource, len(list))
	for i, c := range list {
		out[i] = QuerySource{ID: c.ID, Name: c.Name, Type: c.Type}
	}
	return &struct{ Body []QuerySource }{Body: out}, nil
}

func (s *Server) runQuery(ctx context.Context, in *struct{ Body QueryRunBody }) (*struct{ Body QueryResult }, error) {
	b := in.Body
	res, err := s.queries.Run(ctx, queries.RunInput{ConnectorID: b.ConnectorID, SQL: b.SQL, MaxRows: b.MaxRows, Timeout: timeoutOf(b.TimeoutSeconds)})
	if err != nil {
		return nil, queryError(err)
	}
	infoFrom(ctx).setTarget("connector", b.ConnectorID)
	return &struct{ Body QueryResult }{Body: toQueryResult(res, s.queries.Limits().ExportRows)}, nil
}

// toSavedQueryDTO names the connector from sources (id -> source); a deleted one has no entry.
func toSavedQueryDTO(q queries.Saved, sources map[string]QuerySource) SavedQuery {
	src := sources[q.ConnectorID]
	return SavedQuery{ID: q.ID, Name: q.Name, Description: q.Description, ConnectorID: q.ConnectorID, ConnectorName: src.Name, ConnectorType: src.Type,
		SQL: q.SQL, Chart: QueryChart{Type: q.Chart.Type, X: q.Chart.X, Y: q.Chart.Y}, CreatedBy: q.CreatedBy, UpdatedBy: q.UpdatedBy,
		CreatedAt: q.CreatedAt, UpdatedAt: q.UpdatedAt}
}

func (s *Server) querySources(ctx context.Context) (map[string]QuerySource, error) {
	list, err := s.queries.Sources(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]QuerySource, len(list))
	for _, c := range list {
		out[c.ID] = QuerySource{ID: c.ID, Name: c.Name, Type: c.Type}
	}
	return out, nil
}

func (s *Server) savedQueryOut(ctx context.Context, q queries.Saved) (*struct{ Body SavedQuery }, error) {
	src, err := s.querySources(ctx)
	if err != nil {
		return nil, err
	}
	return &struct{ Body SavedQuery }{Body: toSavedQueryDTO(q, src)}, nil
}

func (s *Server) listSavedQueries(ctx context.Context, _ *struct{}) (*struct{ Body []SavedQuery }, error) {
	list, err := s.queries.List(ctx)
	if err != nil {
		return nil, err
	}
	src, err := s.querySources(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]SavedQuery, len(list))
	for i, q := range list {
		out[i] = toSavedQueryDTO(q, src)
	}
	return &struct{ Body []SavedQuery }{Body: out}, nil
}

type savedQueryIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func savedQueryError(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound(fmt.Sprintf("saved query %q was", id))
	}
	return queryError(err)
}

func (s *Server) createSavedQuery(ctx context.Context, in *struct{ Body savedQueryBody }) (*struct{ Body SavedQuery }, error) {
	q, err := s.queries.Create(ctx, in.Body.input(), principalFrom(ctx).Username)
	if err != nil {
		return nil, queryError(err)
	}
	infoFrom(ctx).setTarget("saved_query", q.ID)
	return s.savedQueryOut(ctx, q)
}

func (s *Server) getSavedQuery(ctx context.Context, in *savedQueryIDInput) (*struct{ Body SavedQuery }, error) {
	q, err := s.queries.Get(ctx, in.ID)
	if err != nil {
		return nil, savedQueryError(err, in.ID)
	}
	return s.savedQueryOut(ctx, q)
}

func (s *Server) updateSavedQuery(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"64"`
	Body savedQueryBody
}) (*struct{ Body SavedQuery }, error) {
	q, err := s.queries.Update(ctx, in.ID, in.Body.input(), principalFrom(ctx).Username)
	if err != nil {
		return nil, savedQueryError(err, in.ID)
	}
	return s.savedQueryOut(ctx, q)
}

func (s *Server) deleteSavedQuery(ctx context.Context, in *savedQueryIDInput) (*struct{}, error) {
	if err := s.queries.Delete(ctx, in.ID); err != nil {
		return nil, savedQueryError(err, in.ID)
	}
	return &struct{}{}, nil
}

type runSavedQueryInput struct {
	ID             string  `path:"id" maxLength:"64"`
	MaxRows        int     `query:"max_rows" minimum:"0" doc:"Rows returned at most (default 1000, at most 10000)"`
	TimeoutSeconds float64 `query:"timeout_seconds" minimum:"0" doc:"Statement timeout (default 30, at most 300)"`
}

func (s *Server) runSavedQuery(ctx context.Context, in *runSavedQueryInput) (*struct{ Body QueryResult }, error) {
	_, res, err := s.queries.RunSaved(ctx, in.ID, in.MaxRows, timeoutOf(in.TimeoutSeconds))
	if err != nil {
		return nil, savedQueryError(err, in.ID)
	}
	return &struct{ Body QueryResult }{Body: toQueryResult(res, s.queries.Limits().ExportRows)}, nil
}

// QueryExportBody is an ad-hoc query to export.
type QueryExportBody struct {
	ConnectorID    string  `json:"connector_id" maxLength:"64" doc:"The saved database connector to run on"`
	SQL            string  `json:"sql" maxLength:"100000" doc:"One SQL statement; it runs read-only"`
	TimeoutSeconds float64 `json:"timeout_seconds,omitempty" minimum:"0" doc:"Statement timeout (default 30, at most 300)"`
}

type exportQueryInput struct {
	Format string `query:"format" required:"true" enum:"csv,ndjson,xlsx,parquet" doc:"csv, ndjson, xlsx (Excel) or parquet"`
	Body   QueryExportBody
}

type exportSavedQueryInput struct {
	ID             string  `path:"id" maxLength:"64"`
	Format         string  `query:"format" required:"true" enum:"csv,ndjson,xlsx,parquet" doc:"csv, ndjson, xlsx (Excel) or parquet"`
	TimeoutSeconds float64 `query:"timeout_seconds" minimum:"0" doc:"Statement timeout (default 30, at most 300)"`
}

// exportQuery streams an ad-hoc query's result as a file (see streamQueryExport).
func (s *Server) exportQuery(ctx context.Context, in *exportQueryInput) (*huma.StreamResponse, error) {
	f, err := export.ParseFormat(in.Format)
	if err != nil {
		return nil, invalid("query.format", err.Error(), in.Format)
	}
	b := in.Body
	cur, err := s.queries.Open(ctx, queries.RunInput{ConnectorID: b.ConnectorID, SQL: b.SQL, Timeout: timeoutOf(b.TimeoutSeconds)})
	if err != nil {
		return nil, queryError(err)
	}
	infoFrom(ctx).setTarget("connector", b.ConnectorID)
	return s.streamQueryExport(ctx, f, "query", cur, "connector_id", b.ConnectorID)
}

// exportSavedQuery streams a saved query's result as a file named after the query.
func (s *Server) exportSavedQuery(ctx context.Context, in *exportSavedQueryInput) (*huma.StreamResponse, error) {
	f, err := export.ParseFormat(in.Format)
	if err != nil {
		return nil, invalid("query.format", err.Error(), in.Format)
	}
	q, cur, err := s.queries.OpenSaved(ctx, in.ID, timeoutOf(in.TimeoutSeconds))
	if err != nil {
		return nil, savedQueryError(err, in.ID)
	}
	return s.streamQueryExport(ctx, f, q.Name, cur, "saved_query_id", in.ID)
}

// streamQueryExport reads the cursor's first batch before the response starts, so that a statement
// the database refuses or cancels at the timeout while producing its first rows is a problem
// response (as run-query gives), not a file cut short; the rest streams through s.streamExport.
// The cursor is closed when the body is written or the first read failed.
func (s *Server) streamQueryExport(ctx context.Context, f export.Format, name string, cur *queries.Cursor, about ...any) (*huma.StreamResponse, error) {
	first, err := cur.Next(ctx)
	if err != nil && !errors.Is(err, io.EOF) {
		_ = cur.Close()
		return nil, queryError(err)
	}
	src := &peekedCursor{Cursor: cur, first: first, eof: err != nil}
	resp := s.streamExport(f, name, src, "query export cut short", about...)
	body := resp.Body
	resp.Body = func(hc huma.Context) {
		defer cur.Close()
		body(hc)
	}
	return resp, nil
}

// peekedCursor hands out a batch read ahead, then the rest of its Cursor.
type peekedCursor struct {
	*queries.Cursor
	first *record.Batch
	eof   bool
	used  bool
}

func (p *peekedCursor) Next(ctx context.Context) (*record.Batch, error) {
	if !p.used {
		p.used = true
		if p.eof {
			return nil, io.EOF
		}
		return p.first, nil
	}
	if p.eof {
		return nil, io.EOF
	}
	return p.Cursor.Next(ctx)
}
