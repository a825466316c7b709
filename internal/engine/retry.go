package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Retry says how the engine retries what failed with connector.ErrTransient: opening a source,
// opening a destination, and reading a source's next batch (the reader is closed and opened again at
// the state after the last batch it returned, so no row is read twice or skipped). Other errors are
// not retried. The wait starts at Backoff and doubles up to MaxBackoff; a cancelled context ends it.
type Retry struct {
	// Attempts is the most tries of one operation, the first included (default 5; 1: no retries).
	Attempts int
	// Backoff is the wait before the second try (default 500ms); MaxBackoff caps it (default 30s).
	Backoff    time.Duration
	MaxBackoff time.Duration
}

func (p Retry) withDefaults() Retry {
	if p.Attempts <= 0 {
		p.Attempts = 5
	}
	if p.Backoff <= 0 {
		p.Backoff = 500 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 30 * time.Second
	}
	p.MaxBackoff = max(p.MaxBackoff, p.Backoff)
	return p
}

// backoff tracks the tries of one operation.
type backoff struct {
	r       *runner
	node    *pipeline.Node
	op      string
	attempt int
	wait    time.Duration
}

func (r *runner) newBackoff(n *pipeline.Node, op string) *backoff {
	return &backoff{r: r, node: n, op: op, attempt: 1, wait: r.opts.Retry.Backoff}
}

// again reports whether err is worth another try, after waiting the backoff; it logs the retry.
// When it returns false, err (or the context's error, when it ended the wait) is final: see final.
func (b *backoff) again(ctx context.Context, err error) bool {
	if err == nil || !errors.Is(err, connector.ErrTransient) || b.attempt >= b.r.opts.Retry.Attempts || ctx.Err() != nil {
		return false
	}
	b.r.log.Warn("transient failure, retrying", "node", b.node.ID, "op", b.op, "attempt", b.attempt,
		"attempts", b.r.opts.Retry.Attempts, "wait", b.wait, "err", err)
	t := time.NewTimer(b.wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	b.attempt++
	b.wait = min(2*b.wait, b.r.opts.Retry.MaxBackoff)
	return true
}

// final is the error to report after the last try: the context's when it ended the retries, else
// err with the number of tries when there were several.
func (b *backoff) final(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, connector.ErrTransient) {
		return ctx.Err()
	}
	if b.attempt > 1 && errors.Is(err, connector.ErrTransient) {
		return fmt.Errorf("%w (gave up after %d attempts)", err, b.attempt)
	}
	return err
}

// spareSlots is ReadRequest.Spare in a pipeline with transforms: room for an expression node's
// derived fields, the usual one or two.
const spareSlots = 2

func (r *runner) readRequest(n *rnode, state json.RawMessage) connector.ReadRequest {
	req := connector.ReadRequest{Stream: n.p.Stream, Mode: n.p.Sync.Mode, CursorField: n.p.Sync.CursorField,
		State: state, BatchSize: r.opts.BatchSize, Overrides: n.p.Overrides}
	if len(r.plan.Transforms) > 0 {
		req.Spare = spareSlots
	}
	if rg, ok := r.opts.Ranges[n.p.ID]; ok {
		req.Range = &rg
	}
	return req
}

// env is the connector environment of node n: the run's, with the credential hook of the saved
// connector the node names (a rotated OAuth refresh token is saved into it).
func (r *runner) env(n *rnode) connector.Env {
	env := r.opts.Env
	if n.p.SaveCredentials != nil {
		env.SaveCredentials = n.p.SaveCredentials
	}
	return env
}

// openReader opens a source, retrying transient failures.
func (r *runner) openReader(ctx context.Context, n *rnode, state json.RawMessage) (connector.Reader, error) {
	b := r.newBackoff(n.p, "open source")
	for {
		rd, err := n.p.Source.Open(ctx, r.env(n), configOrEmpty(n.p.Config), r.readRequest(n, state))
		if err == nil {
			return rd, nil
		}
		if !b.again(ctx, err) {
			return nil, b.final(ctx, err)
		}
	}
}

// openWriter opens a destination, retrying transient failures.
func (r *runner) openWriter(ctx context.Context, n *rnode, req connector.WriteRequest) (connector.Writer, error) {
	b := r.newBackoff(n.p, "open destination")
	for {
		w, err := n.p.Destination.OpenWriter(ctx, r.env(n), configOrEmpty(n.p.Config), req)
		if err == nil {
			return w, nil
		}
		if !b.again(ctx, err) {
			return nil, b.final(ctx, err)
		}
	}
}

// sourceReader is the reader of one source as its reading goroutine sees it: Next retries a
// transient failure by reopening the source at the state after the last batch.
type sourceReader struct {
	r     *runner
	n     *rnode
	state json.RawMessage // after the last batch returned (initially the state the source opened at)
	read  bool            // a batch was returned
}

func (s *sourceReader) next(ctx context.Context) (*record.Batch, json.RawMessage, error) {
	var b *backoff
	for {
		batch, err := s.n.currentReader().Next(ctx)
		if err == nil {
			st, serr := s.n.currentReader().State()
			if serr != nil {
				return nil, nil, fmt.Errorf("state: %w", serr)
			}
			if batch != nil {
				s.state, s.read = st, true
			}
			return batch, st, nil
		}
		if !errors.Is(err, connector.ErrTransient) {
			return nil, nil, err
		}
		if b == nil {
			b = s.r.newBackoff(s.n.p, "read")
		}
		if s.read && s.state == nil {
			return nil, nil, fmt.Errorf("%w (not retried: the reader has no position to reopen at)", err)
		}
		for {
			if !b.again(ctx, err) {
				return nil, nil, b.final(ctx, err)
			}
			err = s.reopen(ctx)
			if err == nil {
				break
			}
		}
	}
}

// reopen replaces the reader with one opened at the state after the last batch.
func (s *sourceReader) reopen(ctx context.Context) error {
	s.n.readerMu.Lock()
	old := s.n.reader
	s.n.reader = nil
	s.n.readerMu.Unlock()
	if old != nil {
		if err := old.Close(); err != nil {
			s.r.log.Warn("close source before reopening it", "node", s.n.p.ID, "err", err)
		}
	}
	rd, err := s.n.p.Source.Open(ctx, s.r.env(s.n), configOrEmpty(s.n.p.Config), s.r.readRequest(s.n, s.state))
	if err != nil {
		return err
	}
	if sc := rd.Schema(); sc == nil || !sc.Equal(s.n.schema) {
		_ = rd.Close()
		return fmt.Errorf("reopened source has the schema %s, not %s as before", sc, s.n.schema)
	}
	s.n.readerMu.Lock()
	s.n.reader = rd
	s.n.readerMu.Unlock()
	return nil
}

// currentReader is the source's reader (it changes when a transient failure reopens it).
func (n *rnode) currentReader() connector.Reader {
	n.readerMu.Lock()
	defer n.readerMu.Unlock()
	return n.reader
}

// ack tells every source that implements connector.Acker the state the checkpoint just saved holds
// for it. A failure is logged, not fatal: the source will be acknowledged at the next checkpoint, and
// the saved checkpoint, not the source's own position, is what a resumed run starts from.
func (r *runner) ack(ctx context.Context, cp *Checkpoint) {
	for _, n := range r.nodes {
		if n.p.Kind != pipeline.KindSource {
			continue
		}
		st, ok := cp.Sources[n.p.ID]
		if !ok {
			continue
		}
		n.readerMu.Lock()
		a, isAcker := n.reader.(connector.Acker)
		var err error
		if isAcker {
			err = a.Ack(ctx, st)
		}
		n.readerMu.Unlock()
		if err != nil {
			r.log.Warn("acknowledge source position", "node", n.p.ID, "err", err)
		}
	}
}
