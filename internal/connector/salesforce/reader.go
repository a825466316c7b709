package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/internal/rowkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// state is the reader's checkpoint.
type state struct {
	// Bulk says the run reads through a Bulk API 2.0 job (Job), page by page (Locator: the page
	// to read next, "" for the first); otherwise through the REST query API (Next: the
	// nextRecordsUrl to read next, empty before the first page).
	Bulk    bool   `json:"bulk,omitempty"`
	Started bool   `json:"started,omitempty"`
	Next    string `json:"next,omitempty"`
	Job     string `json:"job,omitempty"`
	Locator string `json:"locator,omitempty"`
	Skip    int    `json:"skip,omitempty"`
	// From (incremental): this run reads records modified at or after it, but FromIDs.
	From    string   `json:"from,omitempty"`
	FromIDs []string `json:"from_ids,omitempty"`
	// Cursor is the latest modification read; CursorIDs the ids read that were modified then.
	Cursor    string   `json:"cursor,omitempty"`
	CursorIDs []string `json:"cursor_ids,omitempty"`
	Done      bool     `json:"done,omitempty"`
	Pos       int64    `json:"pos,omitempty"`
}

type reader struct {
	a       *api
	object  string
	names   []string // queried fields, in schema order (without _op)
	schema  *record.Schema
	cursorF string // the cursor field ("" for a full read)
	curAt   int    // its index in names
	idAt    int    // Id's index in names (-1: none)
	delAt   int    // IsDeleted's index (-1: not asked)
	soql    string
	size    int
	st      state
	fromT   time.Time
	cur     *page
	source  string
}

// Open starts a read of one object. A new run queries what changed since the last run's cursor
// (all of the object for a full read), through the Bulk API when the object is large.
func (*Connector) Open(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	a, err := open(ctx, env, raw)
	if err != nil {
		return nil, err
	}
	cfg := a.cfg
	object := cfg.Object
	if object == "" {
		object = req.Stream
	}
	if object == "" || !ident.MatchString(object) {
		return nil, connector.ConfigError(fmt.Errorf("object: required (an sObject name such as Account), or set the pipeline source's stream"))
	}
	d, err := a.describe(ctx, object)
	if err != nil {
		return nil, err
	}
	r := &reader{a: a, object: d.Name, size: req.BatchSize, idAt: -1, delAt: -1, source: "salesforce " + d.Name}
	if r.size <= 0 {
		r.size = 2000
	}
	want := slices.Clone(cfg.Fields)
	if req.Mode == connector.Incremental {
		r.cursorF = cursorField(d)
		if req.CursorField != "" && !strings.EqualFold(req.CursorField, r.cursorF) {
			if !strings.EqualFold(req.CursorField, "LastModifiedDate") || r.cursorF == "" {
				return nil, connector.ConfigError(fmt.Errorf("sync.cursor_field: salesforce reads %s changes by SystemModstamp or LastModifiedDate, not %q", d.Name, req.CursorField))
			}
			r.cursorF = "LastModifiedDate"
		}
		if r.cursorF == "" {
			return nil, connector.ConfigError(fmt.Errorf("sync.mode: %s has neither SystemModstamp nor LastModifiedDate: read it with full_refresh", d.Name))
		}
		if len(want) > 0 && !slices.ContainsFunc(want, func(s string) bool { return strings.EqualFold(s, r.cursorF) }) {
			want = append(want, r.cursorF)
		}
	}
	if r.schema, r.names, err = schemaOf(d, want, cfg.IncludeDeleted); err != nil {
		return nil, err
	}
	for i, n := range r.names {
		switch {
		case n == "Id":
			r.idAt = i
		case cfg.IncludeDeleted && n == "IsDeleted":
			r.delAt = i
		case r.cursorF != "" && n == r.cursorF:
			r.curAt = i
		}
	}
	if len(req.Overrides) > 0 {
		fs := slices.Clone(r.schema.Fields)
		for i, f := range fs {
			if k, ok := req.Overrides[f.Name]; ok {
				fs[i].Kind = k
			}
		}
		if r.schema, err = record.NewSchema(fs...); err != nil {
			return nil, err
		}
	}
	var prev state
	if len(req.State) > 0 {
		if err := json.Unmarshal(req.State, &prev); err != nil {
			return nil, fmt.Errorf("salesforce: the checkpoint is not this connector's: %v", err)
		}
	}
	switch {
	case len(req.State) > 0 && (!prev.Done || r.cursorF == ""):
		r.st = prev // resume this run (or a finished full read: nothing more)
	default:
		r.st = state{From: prev.Cursor, FromIDs: prev.CursorIDs, Cursor: prev.Cursor, CursorIDs: prev.CursorIDs}
		if r.cursorF != "" && r.st.From == "" && cfg.Start != "" {
			r.st.From = cfg.Start
		}
	}
	if r.cursorF != "" && r.st.From != "" {
		if r.fromT, err = parseTime(r.st.From); err != nil {
			return nil, connector.ConfigError(fmt.Errorf("start: %v", err))
		}
	}
	if !r.st.Started && !r.st.Done {
		switch cfg.Bulk {
		case BulkAlways:
			r.st.Bulk = true
		case BulkAuto:
			n, err := r.count(ctx)
			if err != nil {
				return nil, err
			}
			r.st.Bulk = n > cfg.BulkThreshold
		}
	}
	r.soql = r.query(false)
	return r, nil
}

// query is the SOQL of the read (count: SELECT COUNT() of the same records).
func (r *reader) query(count bool) string {
	var b strings.Builder
	if count {
		b.WriteString("SELECT COUNT() FROM ")
	} else {
		b.WriteString("SELECT " + strings.Join(r.names, ", ") + " FROM ")
	}
	b.WriteString(r.object)
	var conds []string
	if w := strings.TrimSpace(r.a.cfg.Where); w != "" {
		conds = append(conds, "("+w+")")
	}
	if r.cursorF != "" && r.st.From != "" {
		conds = append(conds, r.cursorF+" >= "+soqlTime(r.fromT))
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
	if r.cursorF != "" && !count && !r.st.Bulk {
		b.WriteString(" ORDER BY " + r.cursorF + " ASC")
	}
	return b.String()
}

func (r *reader) endpoint() string {
	if r.a.cfg.IncludeDeleted {
		return "/queryAll"
	}
	return "/query"
}

func (r *reader) count(ctx context.Context) (int, error) {
	var q queryPage
	if err := r.a.getJSON(ctx, r.endpoint()+"?q="+url.QueryEscape(r.query(true)), &q); err != nil {
		return 0, err
	}
	return q.TotalSize, nil
}

func (r *reader) Schema() *record.Schema          { return r.schema }
func (r *reader) State() (json.RawMessage, error) { return json.Marshal(r.st) }
func (r *reader) Close() error                    { return nil }

// fetch reads the page the state points at.
func (r *reader) fetch(ctx context.Context) error {
	if r.st.Bulk {
		return r.fetchBulk(ctx)
	}
	path := r.st.Next
	if !r.st.Started {
		path = r.endpoint() + "?q=" + url.QueryEscape(r.soql)
	}
	resp, err := r.a.send(ctx, http.MethodGet, path, nil, "")
	if err != nil && r.st.Started && strings.Contains(err.Error(), "INVALID_QUERY_LOCATOR") {
		// The locator of a resumed run expired: query again from this run's start.
		r.a.c.Logger().Warn("the Salesforce query locator expired; querying again from the run's start (records read before come again)", "object", r.object)
		r.st.Started, r.st.Next, r.st.Skip = false, "", 0
		return r.fetch(ctx)
	}
	if err != nil {
		return err
	}
	p, err := jsonPage(resp.Body, r.names)
	if err != nil {
		return fmt.Errorf("salesforce: %s: %v", r.a.c.Redact(resp.URL.String()), err)
	}
	if p.next != "" && p.next == r.st.Next {
		return fmt.Errorf("salesforce: nextRecordsUrl repeats %s: stopped to avoid an endless loop", p.next)
	}
	r.st.Started = true
	r.cur = p
	return nil
}

// advance moves past the current page.
func (r *reader) advance() {
	next := r.cur.next
	r.cur, r.st.Skip = nil, 0
	if r.st.Bulk {
		r.st.Locator = next
	} else {
		r.st.Next = next
	}
	if next == "" {
		r.st.Done = true
	}
}

// Next emits records of the current page (at most the batch size), fetching pages as needed.
func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.st.Done {
			return nil, io.EOF
		}
		if r.cur == nil {
			if err := r.fetch(ctx); err != nil {
				return nil, err
			}
		}
		p := r.cur
		end := min(len(p.rows), r.st.Skip+r.size)
		b := record.NewBuilder(r.schema, max(end-r.st.Skip, 1))
		for i := r.st.Skip; i < end; i++ {
			r.add(b, p.rows[i])
		}
		if r.st.Skip == 0 {
			b.AddBytes(int64(p.bytes))
		}
		r.st.Skip = end
		if end >= len(p.rows) {
			r.advance()
		}
		if out := b.Take(); out != nil {
			return out, nil
		}
	}
}

// add turns one record into a row of b, or a reject naming the field; an incremental read skips
// the records its start already read and moves the cursor.
func (r *reader) add(b *record.Builder, vals []*string) {
	id := ""
	if r.idAt >= 0 && vals[r.idAt] != nil {
		id = *vals[r.idAt]
	}
	if r.cursorF != "" && vals[r.curAt] != nil {
		t, err := parseTime(*vals[r.curAt])
		if err == nil {
			if r.st.From != "" && t.Equal(r.fromT) && slices.Contains(r.st.FromIDs, id) {
				return // read by the run that ended at this time
			}
			text := t.UTC().Format(time.RFC3339Nano)
			cur, cerr := parseTime(r.st.Cursor)
			switch {
			case r.st.Cursor == "" || cerr != nil || t.After(cur):
				r.st.Cursor, r.st.CursorIDs = text, []string{id}
			case t.Equal(cur):
				r.st.CursorIDs = append(r.st.CursorIDs, id)
			}
		}
	}
	r.st.Pos++
	row := b.Row(r.st.Pos)
	for i, f := range r.schema.Fields {
		if i >= len(r.names) { // _op
			op := "upsert"
			if r.delAt >= 0 && vals[r.delAt] != nil && strings.EqualFold(*vals[r.delAt], "true") {
				op = "delete"
			}
			row[i] = record.String(op)
			continue
		}
		v, err := parseValue(vals[i], f.Kind)
		if err != nil {
			b.Unrow()
			b.Reject(rowkit.Reject(r.source, r.st.Pos, f.Name, err.Error(), id))
			return
		}
		row[i] = v
	}
}

// Bulk API 2.0.

type bulkJob struct {
	ID           string `json:"id"`
	State        string `json:"state"`
	ErrorMessage string `json:"errorMessage"`
}

// fetchBulk creates the query job on the first call, waits for it, then reads the result page
// at the state's locator.
func (r *reader) fetchBulk(ctx context.Context) error {
	if r.st.Job == "" {
		op := "query"
		if r.a.cfg.IncludeDeleted {
			op = "queryAll"
		}
		resp, err := r.a.send(ctx, http.MethodPost, "/jobs/query", map[string]string{"operation": op, "query": r.soql, "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF"}, "")
		if err != nil {
			return err
		}
		var j bulkJob
		if err := r.a.decodeJSON(resp, &j); err != nil {
			return err
		}
		if j.ID == "" {
			return errors.New("salesforce: the Bulk API answered a query job without an id")
		}
		r.st.Job = j.ID
		if err := r.awaitJob(ctx); err != nil {
			return err
		}
	}
	r.st.Started = true
	path := "/jobs/query/" + url.PathEscape(r.st.Job) + "/results?maxRecords=" + strconv.Itoa(r.a.cfg.BulkPageRecords)
	if r.st.Locator != "" {
		path += "&locator=" + url.QueryEscape(r.st.Locator)
	}
	resp, err := r.a.send(ctx, http.MethodGet, path, nil, "text/csv")
	if err != nil {
		return err
	}
	p, err := csvPage(resp.Body, r.names)
	if err != nil {
		return fmt.Errorf("salesforce: Bulk API result page of job %s: %v", r.st.Job, err)
	}
	if loc := resp.Header.Get("Sforce-Locator"); loc != "" && loc != "null" {
		if loc == r.st.Locator {
			return fmt.Errorf("salesforce: Sforce-Locator repeats %q: stopped to avoid an endless loop", loc)
		}
		p.next = loc
	}
	r.cur = p
	return nil
}

// awaitJob polls the job until it completes, fails or takes longer than bulk_timeout (then it
// aborts the job).
func (r *reader) awaitJob(ctx context.Context) error {
	cfg := r.a.cfg
	deadline := time.Now().Add(time.Duration(cfg.BulkTimeout * float64(time.Second)))
	every := time.Duration(cfg.BulkPoll * float64(time.Second))
	path := "/jobs/query/" + url.PathEscape(r.st.Job)
	for {
		var j bulkJob
		resp, err := r.a.send(ctx, http.MethodGet, path, nil, "")
		if err != nil {
			return err
		}
		if err := r.a.decodeJSON(resp, &j); err != nil {
			return err
		}
		switch j.State {
		case "JobComplete":
			return nil
		case "Failed", "Aborted":
			return fmt.Errorf("salesforce: Bulk API query job %s %s: %s", j.ID, strings.ToLower(j.State), j.ErrorMessage)
		}
		if time.Now().After(deadline) {
			_, _ = r.a.send(context.WithoutCancel(ctx), http.MethodPatch, path, map[string]string{"state": "Aborted"}, "")
			return fmt.Errorf("salesforce: Bulk API query job %s still %s after bulk_timeout (%gs): aborted", r.st.Job, j.State, cfg.BulkTimeout)
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
