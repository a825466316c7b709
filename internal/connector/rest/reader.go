package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/httpkit"
	"github.com/dataaggregator/aggregator/internal/connector/internal/jsonrec"
	"github.com/dataaggregator/aggregator/internal/record"
)

// state is the reader's checkpoint.
type state struct {
	// URL is the page being read (or, with Skip 0, the next one); empty when Done.
	URL  string `json:"url,omitempty"`
	Skip int    `json:"skip,omitempty"`
	// From is the cursor this run asks for changes after; Cursor the highest one read so far.
	From   string `json:"from,omitempty"`
	Cursor string `json:"cursor,omitempty"`
	Done   bool   `json:"done,omitempty"`
	Pos    int64  `json:"pos,omitempty"` // records read in this run (reject positions)
}

type reader struct {
	cfg      *Config
	c        *httpkit.Client
	pg       *httpkit.Pager
	schema   *record.Schema
	conv     *jsonrec.Converter
	size     int
	cursorAt string // the cursor field ("" for a full read)
	st       state
	cur      *page // the page being emitted (st.URL), nil when the next must be fetched
}

// Open starts a read: it decodes the config, resumes from req.State (a checkpoint of this run, or
// the final state of the last incremental run) and fetches the first page with records to infer
// the schema.
func (*Connector) Open(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	cfg, err := decode(raw)
	if err != nil {
		return nil, err
	}
	c, err := cfg.client(ctx, env)
	if err != nil {
		return nil, err
	}
	r := &reader{cfg: cfg, c: c, pg: httpkit.NewPager(cfg.Pagination, c.Redact), size: req.BatchSize}
	if r.size <= 0 {
		r.size = 10000
	}
	if req.Mode == connector.Incremental {
		r.cursorAt = req.CursorField
		if cfg.Incremental != nil && cfg.Incremental.CursorField != "" {
			r.cursorAt = cfg.Incremental.CursorField
		}
		if r.cursorAt == "" {
			return nil, connector.ConfigError(errors.New("incremental.cursor_field: required for an incremental read (or set the pipeline's sync.cursor_field)"))
		}
	}
	var prev state
	if len(req.State) > 0 {
		if err := json.Unmarshal(req.State, &prev); err != nil {
			return nil, fmt.Errorf("rest: the checkpoint is not this connector's: %v", err)
		}
	}
	switch {
	case len(req.State) > 0 && !prev.Done:
		r.st = prev // resume this run where it stopped
	case len(req.State) > 0 && r.cursorAt == "":
		r.st = prev // a full read that had finished: nothing more
	default:
		// A new run: an incremental one asks for what changed after the last run's cursor.
		from := prev.Cursor
		if from == "" && cfg.Incremental != nil && r.cursorAt != "" {
			from = cfg.Incremental.Start
		}
		if r.cursorAt == "" {
			from = ""
		}
		u, err := cfg.buildURL(from)
		if err != nil {
			return nil, err
		}
		if u, err = r.pg.First(u); err != nil {
			return nil, connector.ConfigError(fmt.Errorf("url: %v", err))
		}
		r.st = state{URL: u, From: from, Cursor: from}
	}
	// The schema comes from the first page that has records.
	var samples [][]byte
	var bad []string
	for r.st.URL != "" {
		p, err := r.fetch(ctx)
		if err != nil {
			return nil, err
		}
		if len(p.objs) > r.st.Skip {
			r.cur = p
			samples, bad = p.objs[r.st.Skip:], p.bad[r.st.Skip:]
			break
		}
		if err := r.advance(p); err != nil {
			return nil, err
		}
	}
	if r.schema, err = infer(samples, bad, req.Overrides); err != nil {
		return nil, fmt.Errorf("rest: %w", err)
	}
	if r.cursorAt != "" && len(samples) > 0 && r.schema.Index(r.cursorAt) < 0 {
		return nil, connector.ConfigError(fmt.Errorf("incremental.cursor_field: the records have no field %q (they have %v)", r.cursorAt, r.schema.Names()))
	}
	r.conv = jsonrec.NewConverter(r.schema)
	if env.Logger != nil {
		r.conv.WarnUnknown(env.Logger, c.Redact(cfg.URL), len(samples))
	}
	return r, nil
}

func (r *reader) fetch(ctx context.Context) (*page, error) {
	return fetch(ctx, r.c, r.cfg, r.st.URL)
}

// advance moves the state past page p (all of it emitted).
func (r *reader) advance(p *page) error {
	next, err := r.pg.Next(p.url, p.resp, len(p.objs))
	if err != nil {
		return err
	}
	r.st.URL, r.st.Skip, r.cur = next, 0, nil
	if next == "" {
		r.st.Done = true
	}
	return nil
}

func (r *reader) Schema() *record.Schema          { return r.schema }
func (r *reader) State() (json.RawMessage, error) { return json.Marshal(r.st) }
func (r *reader) Close() error                    { return nil }

// Next emits the rest of the current page (at most the batch size), fetching pages as needed.
func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.st.Done || r.st.URL == "" {
			return nil, io.EOF
		}
		if r.cur == nil {
			p, err := r.fetch(ctx)
			if err != nil {
				return nil, err
			}
			r.cur = p
		}
		p := r.cur
		if r.st.Skip >= len(p.objs) {
			if err := r.advance(p); err != nil {
				return nil, err
			}
			continue
		}
		end := min(len(p.objs), r.st.Skip+r.size)
		b := record.NewBuilder(r.schema, end-r.st.Skip)
		r.conv.NewBatch()
		src := r.c.Redact(p.url)
		for i := r.st.Skip; i < end; i++ {
			pos := r.st.Pos + 1
			r.st.Pos = pos
			obj := p.objs[i]
			if r.cursorAt != "" && p.bad[i] == "" {
				v, ok := httpkit.Scalar(obj, r.cursorAt)
				if ok && r.st.From != "" && !after(v, r.st.From) {
					continue // not changed since the last run
				}
				if ok && (r.st.Cursor == "" || after(v, r.st.Cursor)) {
					r.st.Cursor = v
				}
			}
			r.conv.Add(b, src, pos, obj, p.bad[i])
		}
		if r.st.Skip == 0 {
			b.AddBytes(int64(len(p.resp.Body)))
		}
		r.st.Skip = end
		if end >= len(p.objs) {
			if err := r.advance(p); err != nil {
				return nil, err
			}
		}
		if out := b.Take(); out != nil && (len(out.Rows) > 0 || len(out.Rejects) > 0) {
			return out, nil
		}
	}
}

// after says whether cursor value a comes after b: as numbers when both are, as times when both
// are, else as text.
func after(a, b string) bool {
	if x, err := strconv.ParseFloat(a, 64); err == nil {
		if y, err := strconv.ParseFloat(b, 64); err == nil {
			return x > y
		}
	}
	if x, err := record.ParseTime(a, time.UTC); err == nil {
		if y, err := record.ParseTime(b, time.UTC); err == nil {
			return x.After(y)
		}
	}
	return a > b
}
