package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/internal/jsonrec"
	"github.com/dataaggregator/aggregator/internal/connector/internal/rowkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// SearchWindow is how many results one search query may page through: HubSpot answers 400 past
// it, so the reader starts a new query anchored on the last modified time it read.
const SearchWindow = 10_000

// state is the reader's checkpoint.
type state struct {
	// After is the paging cursor of the page to read next (paging.next.after); Skip how many of
	// its records were already emitted.
	After string `json:"after,omitempty"`
	Skip  int    `json:"skip,omitempty"`
	// Anchor (incremental) asks the search for records modified at or after it (RFC 3339);
	// AnchorIDs are records modified exactly then that were read already.
	Anchor    string   `json:"anchor,omitempty"`
	AnchorIDs []string `json:"anchor_ids,omitempty"`
	// Cursor is the latest modified time read; CursorIDs the records read that were modified then.
	Cursor    string   `json:"cursor,omitempty"`
	CursorIDs []string `json:"cursor_ids,omitempty"`
	Done      bool     `json:"done,omitempty"`
	Pos       int64    `json:"pos,omitempty"`
}

// result is one CRM object in a list or search answer.
type result struct {
	ID         string                     `json:"id"`
	Properties map[string]json.RawMessage `json:"properties"`
	CreatedAt  json.RawMessage            `json:"createdAt"`
	UpdatedAt  json.RawMessage            `json:"updatedAt"`
	Archived   json.RawMessage            `json:"archived"`
}

// pageBody is a list or search answer.
type pageBody struct {
	Results []result `json:"results"`
	Paging  *struct {
		Next *struct {
			After string `json:"after"`
		} `json:"next"`
	} `json:"paging"`
}

type reader struct {
	a       *api
	object  string
	modProp string
	search  bool
	names   []string // properties requested
	schema  *record.Schema
	conv    *jsonrec.Converter
	size    int
	st      state
	page    []result // the page being emitted (nil: fetch st.After)
	next    string   // its paging.next.after
	anchorT time.Time
	source  string
}

// Open starts a read of one object: a full read lists it page by page; an incremental read
// searches for what changed since the last run, oldest change first.
func (*Connector) Open(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	a, err := open(ctx, env, raw)
	if err != nil {
		return nil, err
	}
	object, err := a.cfg.object(req.Stream)
	if err != nil {
		return nil, err
	}
	r := &reader{a: a, object: object, modProp: modifiedProperty(object), size: req.BatchSize, search: req.Mode == connector.Incremental,
		source: "hubspot " + object}
	if r.size <= 0 {
		r.size = 1000
	}
	if r.search {
		switch req.CursorField {
		case "", fieldUpdatedAt, r.modProp:
		default:
			return nil, connector.ConfigError(fmt.Errorf("sync.cursor_field: hubspot reads changes by last-modified date only (updatedAt or %s), not %q", r.modProp, req.CursorField))
		}
	}
	props, err := a.properties(ctx, object)
	if err != nil {
		return nil, err
	}
	if r.schema, r.names, err = schemaOf(object, props, a.cfg.Properties); err != nil {
		return nil, err
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
	r.conv = jsonrec.NewConverter(r.schema)
	var prev state
	if len(req.State) > 0 {
		if err := json.Unmarshal(req.State, &prev); err != nil {
			return nil, fmt.Errorf("hubspot: the checkpoint is not this connector's: %v", err)
		}
	}
	switch {
	case len(req.State) > 0 && (!prev.Done || !r.search):
		r.st = prev // resume this run (or a finished full read: nothing more)
	case r.search:
		// A new incremental run: what changed at or after the last run's cursor, without the
		// records read then.
		r.st = state{Anchor: prev.Cursor, AnchorIDs: prev.CursorIDs, Cursor: prev.Cursor, CursorIDs: prev.CursorIDs}
		if r.st.Anchor == "" && a.cfg.Start != "" {
			if _, err := record.ParseTime(a.cfg.Start, time.UTC); err != nil {
				return nil, connector.ConfigError(fmt.Errorf("start: %v", err))
			}
			r.st.Anchor = a.cfg.Start
		}
	}
	if r.st.Anchor != "" {
		if r.anchorT, err = record.ParseTime(r.st.Anchor, time.UTC); err != nil {
			return nil, fmt.Errorf("hubspot: checkpoint cursor %q: %v", r.st.Anchor, err)
		}
	}
	return r, nil
}

func (r *reader) Schema() *record.Schema          { return r.schema }
func (r *reader) State() (json.RawMessage, error) { return json.Marshal(r.st) }
func (r *reader) Close() error                    { return nil }

// fetch reads the page at r.st.After.
func (r *reader) fetch(ctx context.Context) error {
	var body pageBody
	if r.search {
		req := map[string]any{
			"sorts":      []map[string]string{{"propertyName": r.modProp, "direction": "ASCENDING"}},
			"properties": r.searchProperties(),
			"limit":      r.a.cfg.PageSize,
		}
		if r.st.Anchor != "" {
			req["filterGroups"] = []map[string]any{{"filters": []map[string]string{{
				"propertyName": r.modProp, "operator": "GTE", "value": strconv.FormatInt(r.anchorT.UnixMilli(), 10)}}}}
		}
		if r.st.After != "" {
			req["after"] = r.st.After
		}
		if err := r.a.do(ctx, http.MethodPost, "/crm/v3/objects/"+r.object+"/search", req, &body); err != nil {
			return err
		}
	} else {
		q := url.Values{"limit": {strconv.Itoa(r.a.cfg.PageSize)}, "archived": {"false"}}
		if len(r.names) > 0 {
			q.Set("properties", strings.Join(r.names, ","))
		}
		if r.st.After != "" {
			q.Set("after", r.st.After)
		}
		if err := r.a.do(ctx, http.MethodGet, "/crm/v3/objects/"+r.object+"?"+q.Encode(), nil, &body); err != nil {
			return err
		}
	}
	r.page, r.next = body.Results, ""
	if body.Paging != nil && body.Paging.Next != nil {
		r.next = body.Paging.Next.After
		if r.next == r.st.After {
			return fmt.Errorf("hubspot: %s: paging.next.after repeats %q: stopped to avoid an endless loop", r.object, r.next)
		}
	}
	if r.page == nil {
		r.page = []result{}
	}
	return nil
}

func (r *reader) searchProperties() []string {
	if slices.Contains(r.names, r.modProp) {
		return r.names
	}
	return append(slices.Clone(r.names), r.modProp)
}

// advance moves past the current page: to the next one, a new query anchored on the cursor when
// the search window would be passed, or the end.
func (r *reader) advance() error {
	r.page, r.st.Skip = nil, 0
	if r.next == "" {
		r.st.After, r.st.Done = "", true
		return nil
	}
	if n, err := strconv.Atoi(r.next); r.search && err == nil && n+r.a.cfg.PageSize > SearchWindow {
		if r.st.Cursor == r.st.Anchor {
			return fmt.Errorf("hubspot: more than %d %s share %s %s: the search API cannot page past them", SearchWindow, r.object, r.modProp, r.st.Cursor)
		}
		t, err := record.ParseTime(r.st.Cursor, time.UTC)
		if err != nil {
			return fmt.Errorf("hubspot: cursor %q: %v", r.st.Cursor, err)
		}
		r.st.Anchor, r.st.AnchorIDs, r.anchorT, r.st.After = r.st.Cursor, slices.Clone(r.st.CursorIDs), t, ""
		return nil
	}
	r.st.After = r.next
	return nil
}

// modified is a result's last-modified time as text and as a time.
func (r *reader) modified(res *result) (string, time.Time, bool) {
	raw := res.Properties[r.modProp]
	var s string
	if json.Unmarshal(raw, &s) != nil || s == "" {
		if json.Unmarshal(res.UpdatedAt, &s) != nil || s == "" {
			return "", time.Time{}, false
		}
	}
	t, err := record.ParseTime(s, time.UTC)
	if err != nil {
		if ms, err2 := strconv.ParseInt(s, 10, 64); err2 == nil {
			t = time.UnixMilli(ms).UTC()
		} else {
			return "", time.Time{}, false
		}
	}
	return t.UTC().Format(time.RFC3339Nano), t, true
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
		if r.page == nil {
			if err := r.fetch(ctx); err != nil {
				return nil, err
			}
		}
		end := min(len(r.page), r.st.Skip+r.size)
		b := record.NewBuilder(r.schema, max(end-r.st.Skip, 1))
		r.conv.NewBatch()
		for i := r.st.Skip; i < end; i++ {
			res := &r.page[i]
			if r.search {
				text, t, ok := r.modified(res)
				if ok && r.st.Anchor != "" && t.Equal(r.anchorT) && slices.Contains(r.st.AnchorIDs, res.ID) {
					continue // read before this query was anchored here
				}
				if ok {
					switch cur, _ := record.ParseTime(r.st.Cursor, time.UTC); {
					case r.st.Cursor == "" || t.After(cur):
						r.st.Cursor, r.st.CursorIDs = text, []string{res.ID}
					case t.Equal(cur):
						r.st.CursorIDs = append(r.st.CursorIDs, res.ID)
					}
				}
			}
			r.st.Pos++
			r.add(b, res)
		}
		r.st.Skip = end
		if end >= len(r.page) {
			if err := r.advance(); err != nil {
				return nil, err
			}
		}
		if out := b.Take(); out != nil {
			return out, nil
		}
	}
}

// add converts one result into a row of b (or a reject naming the field).
func (r *reader) add(b *record.Builder, res *result) {
	row := b.Row(r.st.Pos)
	for i, f := range r.schema.Fields {
		var raw json.RawMessage
		switch f.Name {
		case fieldID:
			row[i] = record.String(res.ID)
			continue
		case fieldCreatedAt:
			raw = res.CreatedAt
		case fieldUpdatedAt:
			raw = res.UpdatedAt
		case fieldArchived:
			raw = res.Archived
		default:
			raw = res.Properties[f.Name]
		}
		v, why := r.conv.Value(raw, f.Kind)
		if why != "" {
			b.Unrow()
			b.Reject(rowkit.Reject(r.source, r.st.Pos, f.Name, why, res.ID))
			return
		}
		row[i] = v
	}
}
