package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

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
	err   error
}

func newDestWorker(ctx context.Context, r *runner, n *rnode, w connector.Writer) *destWorker {
	d := &destWorker{r: r, n: n, w: w, ch: make(chan destMsg, 4), failed: make(chan struct{}), done: make(chan struct{})}
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
			if err := d.write(ctx, m.batch); err != nil {
				d.fail(err)
			}
			continue
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
		var res commitResult
		if rw, ok := d.w.(connector.ResumableWriter); ok {
			tok, err := rw.CommitState()
			if err != nil {
				err = fmt.Errorf("destination %s (%s): commit state: %w", d.n.p.ID, d.n.p.Type, err)
				d.fail(err)
			}
			res = commitResult{token: tok, err: err}
		}
		m.commit <- res
	}
}

func (d *destWorker) write(ctx context.Context, b *record.Batch) error {
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
func (d *destWorker) commit(ctx context.Context) (json.RawMessage, error) {
	reply := make(chan commitResult, 1)
	select {
	case d.ch <- destMsg{commit: reply}:
	case <-d.failed:
		return nil, d.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case res := <-reply:
		return res.token, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stop ends the worker goroutine and waits for it.
func (d *destWorker) stop() {
	d.stopOnce.Do(func() { close(d.ch) })
	<-d.done
}
