package rest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/httpkit"
	"github.com/dataaggregator/aggregator/internal/connector/internal/jsonrec"
	"github.com/dataaggregator/aggregator/internal/record"
)

// writer buffers records until Commit, which sends them in requests of batch_size: nothing of a
// write that is aborted reaches the API. The buffer holds what the engine hands over between two
// commits (RUN_CHECKPOINT_ROWS rows at most).
type writer struct {
	cfg    *Config
	c      *httpkit.Client
	url    string
	method string
	req    connector.WriteRequest
	enc    jsonrec.Encoder
	buf    [][]byte // encoded records not sent yet
	// sent is how many records of this run were sent (the position of the next one), restored by
	// ResumeAt so that a resumed run derives the same idempotency keys.
	sent int64
}

var (
	_ connector.ResumableWriter    = (*writer)(nil)
	_ connector.DestinationChecker = (*Connector)(nil)
)

// CheckDestination checks a destination config without sending anything: an API has no way to
// ask "could I POST here?" that every API answers (a GET of the URL, as Check does for a source,
// may well be refused by an endpoint that only takes POST).
func (c *Connector) CheckDestination(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) error {
	_, err := destination(raw, req)
	return err
}

// destination decodes a destination config (its method defaulting to POST) and checks the write
// request.
func destination(raw map[string]any, req connector.WriteRequest) (*Config, error) {
	cfg, err := decode(raw)
	if err != nil {
		return nil, err
	}
	if req.Mode != "" && req.Mode != connector.Append {
		return nil, fmt.Errorf("%w: write.mode %q: the REST destination only appends (it sends each record)", connector.ErrUnsupported, req.Mode)
	}
	switch cfg.Method {
	case "":
		cfg.Method = http.MethodPost
	case http.MethodGet:
		return nil, connector.ConfigError(errors.New("method: a destination sends with POST, PUT or PATCH, got GET"))
	}
	if cfg.Pagination != nil && cfg.Pagination.Type != httpkit.PageNone {
		return nil, connector.ConfigError(errors.New("pagination: only for a source"))
	}
	return cfg, nil
}

// OpenWriter prepares sending records to the configured URL.
func (*Connector) OpenWriter(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	cfg, err := destination(raw, req)
	if err != nil {
		return nil, err
	}
	method := cfg.Method
	u, err := cfg.buildURL("")
	if err != nil {
		return nil, err
	}
	c, err := cfg.client(ctx, env)
	if err != nil {
		return nil, err
	}
	return &writer{cfg: cfg, c: c, url: u, method: method, req: req}, nil
}

// Write encodes the rows into the buffer; Commit sends them.
func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, row := range b.Rows {
		w.buf = append(w.buf, w.enc.Append(nil, b.Schema, row))
	}
	return nil
}

// flush sends what is buffered, batch_size records per request.
func (w *writer) flush(ctx context.Context) error {
	for len(w.buf) > 0 {
		n := min(len(w.buf), w.cfg.BatchSize)
		body, ctype := w.body(w.buf[:n])
		h := http.Header{"Content-Type": {ctype}}
		if w.cfg.IdempotencyHeader != "" {
			h.Set(w.cfg.IdempotencyHeader, w.key(body))
		}
		if _, err := w.c.Do(ctx, httpkit.Request{Method: w.method, URL: w.url, Header: h, Body: body}); err != nil {
			return fmt.Errorf("send records %d-%d of the run: %w", w.sent+1, w.sent+int64(n), err)
		}
		w.sent += int64(n)
		w.buf = w.buf[n:]
	}
	w.buf = nil
	return nil
}

func (w *writer) body(recs [][]byte) ([]byte, string) {
	if w.cfg.BatchSize == 1 {
		return recs[0], "application/json"
	}
	size := 2
	for _, r := range recs {
		size += len(r) + 1
	}
	out := make([]byte, 0, size)
	if w.cfg.BodyFormat == "ndjson" {
		for _, r := range recs {
			out = append(append(out, r...), '\n')
		}
		return out, "application/x-ndjson"
	}
	out = append(out, '[')
	for i, r := range recs {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, r...)
	}
	return append(out, ']'), "application/json"
}

// key derives the idempotency key of a request: the run, the destination node, the position of
// its first record in the run and its body. A resumed run sends the same records from the same
// positions (ResumeAt), hence the same keys; another run sends other keys.
func (w *writer) key(body []byte) string {
	h := sha256.New()
	for _, s := range []string{w.req.RunID, w.req.Node, strconv.FormatInt(w.sent, 10)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Commit sends what is buffered: records are durable once the API accepted them.
func (w *writer) Commit(ctx context.Context) error { return w.flush(ctx) }

func (w *writer) Close(ctx context.Context) error { return w.flush(ctx) }

// Abort drops what was not sent; what the API accepted stays.
func (w *writer) Abort(context.Context) error {
	w.buf = nil
	return nil
}

type commitToken struct {
	Sent int64 `json:"sent"`
}

// CommitState is the number of records of the run sent so far.
func (w *writer) CommitState() (json.RawMessage, error) {
	return json.Marshal(commitToken{Sent: w.sent})
}

// ResumeAt restores the position of the next record, so that records sent again get the keys
// they had.
func (w *writer) ResumeAt(_ context.Context, token json.RawMessage) error {
	var t commitToken
	if err := json.Unmarshal(token, &t); err != nil {
		return fmt.Errorf("rest: the commit token is not this connector's: %v", err)
	}
	w.sent, w.buf = t.Sent, nil
	return nil
}
