package queries

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/connections"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Store is what the service needs from the metadata store (*store.Store).
type Store interface {
	CreateSavedQuery(ctx context.Context, q store.SavedQuery) (store.SavedQuery, error)
	GetSavedQuery(ctx context.Context, id string) (store.SavedQuery, error)
	ListSavedQueries(ctx context.Context) ([]store.SavedQuery, error)
	UpdateSavedQuery(ctx context.Context, q store.SavedQuery) (store.SavedQuery, error)
	DeleteSavedQuery(ctx context.Context, id string) error
}

var _ Store = (*store.Store)(nil)

// Connections opens saved connectors (*connections.Service).
type Connections interface {
	Query(ctx context.Context, id string, q connector.Query) (connector.QueryResult, error)
	Queryable(ctx context.Context) ([]connections.Connector, error)
}

var _ Connections = (*connections.Service)(nil)

// Limits bound what a query may take. The zero value of a field means its default.
type Limits struct {
	DefaultRows int           // rows a run returns when it asks for no cap (1,000)
	MaxRows     int           // the largest cap a run may ask for (10,000)
	ExportRows  int           // rows an export writes at most (1,000,000)
	Timeout     time.Duration // the statement timeout when a run asks for none (30 s)
	MaxTimeout  time.Duration // the longest statement timeout a run may ask for (300 s)
}

func (l Limits) withDefaults() Limits {
	if l.DefaultRows <= 0 {
		l.DefaultRows = 1000
	}
	if l.MaxRows <= 0 {
		l.MaxRows = 10000
	}
	if l.ExportRows <= 0 {
		l.ExportRows = 1_000_000
	}
	if l.Timeout <= 0 {
		l.Timeout = 30 * time.Second
	}
	if l.MaxTimeout <= 0 {
		l.MaxTimeout = 300 * time.Second
	}
	l.DefaultRows = min(l.DefaultRows, l.MaxRows)
	l.Timeout = min(l.Timeout, l.MaxTimeout)
	return l
}

// Service runs and saves analytics queries.
type Service struct {
	st    Store
	conns Connections
	lim   Limits
	now   func() time.Time
}

// New builds the service.
func New(st Store, conns Connections, lim Limits) *Service {
	return &Service{st: st, conns: conns, lim: lim.withDefaults(), now: time.Now}
}

// Limits are the service's limits with their defaults.
func (s *Service) Limits() Limits { return s.lim }

// Problem is one thing wrong with an input, with its path ("sql", "chart.x").
type Problem struct{ Path, Message string }

// InvalidError lists every problem of an input.
type InvalidError struct{ Problems []Problem }

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Path + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

// RunInput is a query to run.
type RunInput struct {
	ConnectorID string
	SQL         string
	// MaxRows caps the rows returned (0: the default; above the maximum: refused).
	MaxRows int
	// Timeout is the statement timeout (0: the default; above the maximum: refused).
	Timeout time.Duration
}

func (s *Service) check(in RunInput, maxRows int) (connector.Query, int, []Problem) {
	var ps []Problem
	if strings.TrimSpace(in.ConnectorID) == "" {
		ps = append(ps, Problem{"connector_id", "required: pick a saved database connector"})
	}
	if strings.TrimSpace(in.SQL) == "" {
		ps = append(ps, Problem{"sql", "required: write a SQL statement"})
	}
	rows := in.MaxRows
	switch {
	case rows < 0 || rows > maxRows:
		ps = append(ps, Problem{"max_rows", fmt.Sprintf("must be between 1 and %d", maxRows)})
	case rows == 0:
		rows = min(s.lim.DefaultRows, maxRows)
	}
	timeout := in.Timeout
	switch {
	case timeout < 0 || timeout > s.lim.MaxTimeout:
		ps = append(ps, Problem{"timeout_seconds", fmt.Sprintf("must be above 0 and at most %s", connector.FormatTimeout(s.lim.MaxTimeout))})
	case timeout == 0:
		timeout = s.lim.Timeout
	}
	return connector.Query{SQL: in.SQL, Timeout: timeout}, rows, ps
}

// Column is one column of a result.
type Column struct {
	Name   string
	Kind   record.Kind
	Native string // the database's type ("numeric(10,2)")
}

// Result is what a run returned.
type Result struct {
	Columns   []Column
	Rows      []record.Row
	Truncated bool // the query had more rows than MaxRows; the rest were not read
	MaxRows   int
	Timeout   time.Duration
	Elapsed   time.Duration
}

// Run runs a query and returns at most its row cap of rows.
func (s *Service) Run(ctx context.Context, in RunInput) (Result, error) {
	q, maxRows, ps := s.check(in, s.lim.MaxRows)
	if len(ps) > 0 {
		return Result{}, &InvalidError{ps}
	}
	start := s.now()
	out := Result{MaxRows: maxRows, Timeout: q.Timeout, Rows: []record.Row{}}
	q.BatchSize = min(maxRows+1, 500)
	err := s.stream(ctx, in.ConnectorID, q, maxRows, func(sc *record.Schema) error {
		out.Columns = columnsOf(sc)
		return nil
	}, func(b *record.Batch) error {
		out.Rows = append(out.Rows, b.Rows...)
		return nil
	}, &out.Truncated)
	if err != nil {
		return Result{}, err
	}
	out.Elapsed = s.now().Sub(start)
	return out, nil
}

// Open starts a query for an export: the statement runs (a statement the database refuses fails
// here, before anything is written) and the Cursor hands its batches out, at most the export cap of
// rows. The caller closes the Cursor.
func (s *Service) Open(ctx context.Context, in RunInput) (*Cursor, error) {
	in.MaxRows = 0
	q, _, ps := s.check(in, s.lim.MaxRows)
	if len(ps) > 0 {
		return nil, &InvalidError{ps}
	}
	q.BatchSize = 1000
	res, err := s.conns.Query(ctx, in.ConnectorID, q)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &InvalidError{[]Problem{{"connector_id", fmt.Sprintf("no saved connector with id %q", in.ConnectorID)}}}
	}
	if err != nil {
		return nil, err
	}
	return &Cursor{res: res, left: s.lim.ExportRows, cap: s.lim.ExportRows}, nil
}

// OpenSaved starts an export of a saved query with its connector and SQL (as Open).
func (s *Service) OpenSaved(ctx context.Context, id string, timeout time.Duration) (Saved, *Cursor, error) {
	q, err := s.Get(ctx, id)
	if err != nil {
		return Saved{}, nil, err
	}
	c, err := s.Open(ctx, RunInput{ConnectorID: q.ConnectorID, SQL: q.SQL, Timeout: timeout})
	return q, c, err
}

// Cursor is an open query result, cut at a row cap (export.Source).
type Cursor struct {
	res       connector.QueryResult
	left      int
	cap       int
	rows      int64
	truncated bool
}

// Schema is the result's columns.
func (c *Cursor) Schema() *record.Schema { return c.res.Schema() }

// Next returns the next batch, io.EOF after the last row or at the cap.
func (c *Cursor) Next(ctx context.Context) (*record.Batch, error) {
	if c.left <= 0 {
		if !c.truncated {
			// one more batch says whether the cap cut the result
			b, err := c.res.Next(ctx)
			c.truncated = err == nil && b.Len() > 0
		}
		return nil, io.EOF
	}
	b, err := c.res.Next(ctx)
	if err != nil {
		return nil, err
	}
	if len(b.Rows) > c.left {
		b.Rows = b.Rows[:c.left]
		if len(b.Pos) > len(b.Rows) {
			b.Pos = b.Pos[:len(b.Rows)]
		}
		c.truncated = true
	}
	c.left -= len(b.Rows)
	c.rows += int64(len(b.Rows))
	return b, nil
}

// RowCap is the most rows the cursor hands out (Limits.ExportRows).
func (c *Cursor) RowCap() int { return c.cap }

// Rows is the number of rows handed out; Truncated says whether the cap cut the result.
func (c *Cursor) Rows() int64     { return c.rows }
func (c *Cursor) Truncated() bool { return c.truncated }

// Close ends the query.
func (c *Cursor) Close() error { return c.res.Close() }

func (s *Service) stream(ctx context.Context, connectorID string, q connector.Query, maxRows int, start func(*record.Schema) error,
	each func(*record.Batch) error, truncated *bool) error {
	res, err := s.conns.Query(ctx, connectorID, q)
	if errors.Is(err, store.ErrNotFound) {
		return &InvalidError{[]Problem{{"connector_id", fmt.Sprintf("no saved connector with id %q", connectorID)}}}
	}
	if err != nil {
		return err
	}
	defer res.Close()
	if err := start(res.Schema()); err != nil {
		return err
	}
	n := 0
	for {
		b, err := res.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if n+len(b.Rows) > maxRows {
			b.Rows = b.Rows[:maxRows-n]
			if len(b.Pos) > len(b.Rows) {
				b.Pos = b.Pos[:len(b.Rows)]
			}
			*truncated = true
		}
		n += len(b.Rows)
		if len(b.Rows) > 0 {
			if err := each(b); err != nil {
				return err
			}
		}
		if *truncated {
			return nil
		}
		if n == maxRows {
			// the cap is reached: one more row says whether there was more
			b, err := res.Next(ctx)
			switch {
			case errors.Is(err, io.EOF):
				return nil
			case err != nil:
				return err
			}
			*truncated = b.Len() > 0
			if !*truncated {
				continue
			}
			return nil
		}
	}
}

func columnsOf(sc *record.Schema) []Column {
	cols := make([]Column, len(sc.Fields))
	for i, f := range sc.Fields {
		cols[i] = Column{Name: f.Name, Kind: f.Kind, Native: f.Native}
	}
	return cols
}

// Chart is how a saved query's result is drawn: a line, bar or area chart of the y columns
// against the x column. Empty Type: no chart chosen yet.
type Chart struct {
	Type string   `json:"type"`
	X    string   `json:"x"`
	Y    []string `json:"y"`
}

// ChartTypes are the chart types.
var ChartTypes = []string{"line", "bar", "area"}

// Saved is a saved query.
type Saved struct {
	ID          string
	Name        string
	Description string
	ConnectorID string
	SQL         string
	Chart       Chart
	CreatedBy   string
	UpdatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// SavedInput is what Create and Update take.
type SavedInput struct {
	Name        string
	Description string
	ConnectorID string
	SQL         string
	Chart       Chart
}

func (in SavedInput) problems() []Problem {
	var ps []Problem
	if strings.TrimSpace(in.Name) == "" {
		ps = append(ps, Problem{"name", "required"})
	}
	if strings.TrimSpace(in.ConnectorID) == "" {
		ps = append(ps, Problem{"connector_id", "required: pick a saved database connector"})
	}
	if strings.TrimSpace(in.SQL) == "" {
		ps = append(ps, Problem{"sql", "required"})
	}
	c := in.Chart
	if c.Type != "" && !slices.Contains(ChartTypes, c.Type) {
		ps = append(ps, Problem{"chart.type", fmt.Sprintf("%q is not a chart type: line, bar or area", c.Type)})
	}
	if len(c.Y) > 10 {
		ps = append(ps, Problem{"chart.y", "at most 10 series"})
	}
	for i, y := range c.Y {
		if strings.TrimSpace(y) == "" {
			ps = append(ps, Problem{fmt.Sprintf("chart.y[%d]", i), "empty column name"})
		}
	}
	return ps
}

func toSaved(q store.SavedQuery) Saved {
	var c Chart
	_ = json.Unmarshal(q.Chart, &c) // written by this package; {} reads as no chart
	if c.Y == nil {
		c.Y = []string{}
	}
	return Saved{ID: q.ID, Name: q.Name, Description: q.Description, ConnectorID: q.ConnectorID, SQL: q.SQL, Chart: c,
		CreatedBy: q.CreatedBy, UpdatedBy: q.UpdatedBy, CreatedAt: q.CreatedAt, UpdatedAt: q.UpdatedAt}
}

func (in SavedInput) row() (store.SavedQuery, error) {
	if ps := in.problems(); len(ps) > 0 {
		return store.SavedQuery{}, &InvalidError{ps}
	}
	if in.Chart.Y == nil {
		in.Chart.Y = []string{}
	}
	chart, err := json.Marshal(in.Chart)
	if err != nil {
		return store.SavedQuery{}, err
	}
	return store.SavedQuery{Name: in.Name, Description: strings.TrimSpace(in.Description), ConnectorID: in.ConnectorID, SQL: in.SQL, Chart: chart}, nil
}

// Create saves a new query (names are unique, case-insensitive: store.ErrConflict).
func (s *Service) Create(ctx context.Context, in SavedInput, actor string) (Saved, error) {
	row, err := in.row()
	if err != nil {
		return Saved{}, err
	}
	row.CreatedBy = actor
	q, err := s.st.CreateSavedQuery(ctx, row)
	if err != nil {
		return Saved{}, err
	}
	return toSaved(q), nil
}

// Get returns a saved query.
func (s *Service) Get(ctx context.Context, id string) (Saved, error) {
	q, err := s.st.GetSavedQuery(ctx, id)
	if err != nil {
		return Saved{}, err
	}
	return toSaved(q), nil
}

// List returns every saved query by name.
func (s *Service) List(ctx context.Context) ([]Saved, error) {
	list, err := s.st.ListSavedQueries(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Saved, len(list))
	for i, q := range list {
		out[i] = toSaved(q)
	}
	return out, nil
}

// Update replaces a saved query.
func (s *Service) Update(ctx context.Context, id string, in SavedInput, actor string) (Saved, error) {
	row, err := in.row()
	if err != nil {
		return Saved{}, err
	}
	row.ID, row.UpdatedBy = id, actor
	q, err := s.st.UpdateSavedQuery(ctx, row)
	if err != nil {
		return Saved{}, err
	}
	return toSaved(q), nil
}

// Delete removes a saved query.
func (s *Service) Delete(ctx context.Context, id string) error { return s.st.DeleteSavedQuery(ctx, id) }

// RunSaved runs a saved query with its connector and SQL.
func (s *Service) RunSaved(ctx context.Context, id string, maxRows int, timeout time.Duration) (Saved, Result, error) {
	q, err := s.Get(ctx, id)
	if err != nil {
		return Saved{}, Result{}, err
	}
	res, err := s.Run(ctx, RunInput{ConnectorID: q.ConnectorID, SQL: q.SQL, MaxRows: maxRows, Timeout: timeout})
	return q, res, err
}

// Sources lists the saved connectors a query can run on (id, name, type).
func (s *Service) Sources(ctx context.Context) ([]connections.Connector, error) {
	return s.conns.Queryable(ctx)
}
