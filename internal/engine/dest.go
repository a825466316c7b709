package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// destWorker writes one destination's batches in its own goroutine, so encoding overlaps with
// reading and transforming. Commits travel through the same queue, after the writes they cover.
type destWorker struct {
	r  *runner
	n  *rnode
	w  connector.Writer
	ch chan destMsg

	// For a connector.MarkedWriter (touched by the worker goroutine only, once it runs): delivered
	// counts the rows of this run handed to the writer, in every attempt; skip is how many replayed
	// rows an earlier attempt already committed, dropped before they reach the writer.
	marked    connector.MarkedWriter
	delivered int64
	skip      int64

	failOnce sync.Once
	stopOnce sync.Once
	failed   chan struct{} // closed when err is set
	err      error
	done     chan struct{}
}

type destMsg struct {
	batch  *record.Batch
	commit chan commitResult
}

type commitResult struct {
	token json.RawMessage
	// delivered is the marked writer's row count the commit stored (-1 for other writers).
	delivered int64
	err       error
}

// newDestWorker starts the worker; for a marked writer, delivered and skip come from the resume
// reconciliation (both 0 for a fresh run).
func newDestWorker(ctx context.Context, r *runner, n *rnode, w connector.Writer, delivered, skip int64) *destWorker {
	d := &destWorker{r: r, n: n, w: w, ch: make(chan destMsg, 4), failed: make(chan struct{}), done: make(chan struct{}),
		delivered: delivered, skip: skip}
	d.marked, _ = w.(connector.MarkedWriter)
	go d.loop(ctx)
	return d
}

func (d *destWorker) fail(err error) {
	d.failOnce.Do(func() {
		d.err = err
		close(d.failed)
	})
}

func (d *destWorker) loop(ctx context.Context) {
	defer close(d.done)
	for m := range d.ch {
		select {
		case <-d.failed:
			if m.commit != nil {
				m.commit <- commitResult{err: d.err}
			}
			continue
		default:
		}
		if m.batch != nil {
			b := d.skipCommitted(m.batch)
			if b == nil {
				continue
			}
			if err := d.write(ctx, b); err != nil {
				d.fail(err)
			}
			continue
		}
		if d.marked != nil {
			d.marked.SetMarker(connector.Marker{Rows: d.delivered})
		}
		if err := d.w.Commit(ctx); err != nil {
			var re *connector.RowError
			if errors.As(err, &re) {
				err = d.rowRejects(ctx, nil, re) // rows refused while committing; the rest is committed
			} else {
				err = fmt.Errorf("destination %s (%s): commit: %w", d.n.p.ID, d.n.p.Type, err)
			}
			if err != nil {
				d.fail(err)
				m.commit <- commitResult{err: err}
				continue
			}
		}
		res := commitResult{delivered: -1}
		if d.marked != nil {
			res.delivered = d.delivered
		}
		if rw, ok := d.w.(connector.ResumableWriter); ok {
			tok, err := rw.CommitState()
			if err != nil {
				err = fmt.Errorf("destination %s (%s): commit state: %w", d.n.p.ID, d.n.p.Type, err)
				d.fail(err)
			}
			res.token, res.err = tok, err
		}
		m.commit <- res
	}
}

// skipCommitted drops the leading rows of b that an earlier attempt of the run already committed
// (see connector.MarkedWriter) and counts the rows handed on; nil when nothing is left to write.
func (d *destWorker) skipCommitted(b *record.Batch) *record.Batch {
	if d.marked == nil {
		return b
	}
	if d.skip > 0 {
		k := min(d.skip, int64(b.Len()))
		d.skip -= k
		d.delivered += k
		d.n.stats.out.Add(k) // written by the earlier attempt
		if k == int64(b.Len()) {
			return nil
		}
		b = dropRows(b, int(k))
	}
	d.delivered += int64(b.Len())
	return b
}

// dropRows is b without its first k rows (0 < k < b.Len()).
func dropRows(b *record.Batch, k int) *record.Batch {
	out := &record.Batch{Schema: b.Schema, Rows: b.Rows[k:], RowCap: b.RowCap}
	if len(b.Pos) == len(b.Rows) {
		out.Pos = b.Pos[k:]
	}
	return out
}

// finish stores the closed marker and closes the writer; the worker goroutine must have stopped.
func (d *destWorker) finish(ctx context.Context) error {
	if d.marked != nil {
		if d.skip > 0 {
			return &ResumeError{ID: d.n.p.ID, Type: d.n.p.Type, Err: fmt.Errorf(
				"an earlier attempt of this run committed %d more rows than the resumed run produced; the input changed since, so the run must start afresh", d.skip)}
		}
		d.marked.SetMarker(connector.Marker{Rows: d.delivered, Closed: true})
	}
	if err := d.w.Close(ctx); err != nil {
		return fmt.Errorf("close destination %s (%s): %w", d.n.p.ID, d.n.p.Type, err)
	}
	return nil
}

func (d *destWorker) write(ctx context.Context, b *record.Batch) error {
	if d.n.gov != nil {
		out, bad, err := d.n.gov.batch(ctx, d.w, b)
		if err != nil {
			return err
		}
		for _, p := range bad {
			rj := record.Reject{Field: p.Field, Reason: p.Reason, Pos: b.PosOf(p.Index), Values: b.TextValues(p.Index)}
			if err := d.r.reject(ctx, d.n, rj); err != nil {
				return err
			}
		}
		if b = out; b.Len() == 0 {
			return nil
		}
	}
	err := d.w.Write(ctx, b)
	var re *connector.RowError
	if errors.As(err, &re) {
		d.n.stats.out.Add(int64(b.Len()))
		return d.rowRejects(ctx, b, re)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("destination %s (%s): write: %w", d.n.p.ID, d.n.p.Type, err)
	}
	d.n.stats.out.Add(int64(b.Len()))
	return nil
}

// rowRejects applies the error policy to the rows a Write of b (or, with b nil, a Commit) refused.
// Those rows were counted out when they were written; they are taken back here.
func (d *destWorker) rowRejects(ctx context.Context, b *record.Batch, re *connector.RowError) error {
	for _, p := range re.Rows {
		rj := record.Reject{Field: p.Field, Reason: p.Reason, Pos: p.Pos, Values: p.Values}
		if b != nil && p.Index >= 0 && p.Index < b.Len() {
			rj.Pos = b.PosOf(p.Index)
			rj.Values = b.TextValues(p.Index)
		}
		if err := d.r.reject(ctx, d.n, rj); err != nil {
			return err
		}
	}
	d.n.stats.out.Add(-int64(len(re.Rows)))
	return nil
}

// send queues a batch; it fails fast when the writer has failed.
func (d *destWorker) send(ctx context.Context, b *record.Batch) error {
	select {
	case d.ch <- destMsg{batch: b}:
		return nil
	case <-d.failed:
		return d.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commit waits until every batch sent before it is written and committed.
func (d *destWorker) commit(ctx context.Context) (commitResult, error) {
	reply := make(chan commitResult, 1)
	select {
	case d.ch <- destMsg{commit: reply}:
	case <-d.failed:
		return commitResult{}, d.err
	case <-ctx.Done():
		return commitResult{}, ctx.Err()
	}
	select {
	case res := <-reply:
		return res, res.err
	case <-ctx.Done():
	}
	// Cancelled after the commit was asked for: the writer ends it (its database calls see the
	// cancel) and says whether it committed, so that the checkpoint stores the dead letters of the
	// rows it did commit. A writer that ignores the cancel is given commitGrace.
	grace := time.NewTimer(commitGrace)
	defer grace.Stop()
	select {
	case res := <-reply:
		return res, res.err
	case <-grace.C:
		return commitResult{}, ctx.Err()
	}
}

// stop ends the worker goroutine and waits for it.
func (d *destWorker) stop() {
	d.stopOnce.Do(func() { close(d.ch) })
	<-d.done
}
