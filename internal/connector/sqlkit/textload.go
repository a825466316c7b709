package sqlkit

import (
	"context"
	"io"
	"sync"

	"github.com/dataaggregator/aggregator/internal/connector"
)

// A TextLoading dialect's rows go through two text buffers. One load runs at a time, in the
// background, and it streams: it starts as soon as its buffer holds a row and nothing else loads,
// and reads the text as the next Writes add it, until the buffer is full (LoadBuffer) or a Commit
// seals it. Meanwhile the next rows fill the other buffer, whose load starts when the first one
// ends. So the database never waits for a buffer to fill before it starts (after a commit, or
// behind a slow source), and the writer waits only when both buffers are taken. The rows of a
// sealed buffer stay in it until its load ends, for DecodeText when the load is refused.

// textBuf holds rows encoded by a TextLoading dialect.
type textBuf struct {
	text, tags []byte
	meta       []pendingRow

	// Shared with the load that streams the buffer: mu guards pub (the text handed to the load so
	// far), sealed (no row will be added: from then on the load may read text, tags and meta) and
	// failed (the writer gave up: the load's reader returns it); more (on mu, set by NewWriter)
	// wakes the load waiting for text or for the seal.
	mu     sync.Mutex
	more   sync.Cond
	pub    []byte
	sealed bool
	failed error
}

// publish hands the text encoded so far to the load that streams the buffer.
func (t *textBuf) publish() {
	t.mu.Lock()
	t.pub = t.text
	t.more.Broadcast()
	t.mu.Unlock()
}

// seal publishes the last of the text: the load's reader reaches the end of it.
func (t *textBuf) seal() {
	t.mu.Lock()
	t.pub, t.sealed = t.text, true
	t.more.Broadcast()
	t.mu.Unlock()
}

// fail ends the load's read with err (the writer is aborted).
func (t *textBuf) fail(err error) {
	t.mu.Lock()
	if !t.sealed {
		t.sealed, t.failed = true, err
	}
	t.more.Broadcast()
	t.mu.Unlock()
}

// sealedRows is the number of rows of a sealed buffer; it waits for the seal.
func (t *textBuf) sealedRows() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.waitSealedLocked()
	return len(t.meta)
}

func (t *textBuf) waitSealedLocked() {
	for !t.sealed {
		t.more.Wait()
	}
}

// reader reads the buffer's text as it is published, up to the seal.
func (t *textBuf) reader() io.Reader { return &textReader{t: t} }

type textReader struct {
	t   *textBuf
	off int
}

func (r *textReader) Read(p []byte) (int, error) {
	t := r.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for r.off == len(t.pub) && !t.sealed {
		t.more.Wait()
	}
	if t.failed != nil {
		return 0, t.failed
	}
	if r.off == len(t.pub) {
		return 0, io.EOF
	}
	n := copy(p, t.pub[r.off:])
	r.off += n
	return n, nil
}

func (t *textBuf) reset() {
	clear(t.meta)
	t.text, t.tags, t.meta = t.text[:0], t.tags[:0], t.meta[:0]
	t.mu.Lock()
	t.pub, t.sealed, t.failed = nil, false, nil
	t.mu.Unlock()
}

// loadResult is what a background load found.
type loadResult struct {
	problems []connector.RowProblem
	err      error
}

// other is the text buffer that is not t.
func (w *Writer) other(t *textBuf) *textBuf {
	if t == &w.bufs[0] {
		return &w.bufs[1]
	}
	return &w.bufs[0]
}

// startLoad loads t in the background (nothing else may load); t may go on growing until sealed.
// Only that load uses the transaction until wait returns.
func (w *Writer) startLoad(ctx context.Context, t *textBuf) {
	done := make(chan loadResult, 1)
	w.loading, w.inflight = t, done
	go func() {
		ps, err := w.loadText(ctx, t)
		done <- loadResult{ps, err}
	}()
}

// pumpText runs after rows were added to the fill buffer: it collects a load that ended, hands a
// full fill buffer over (sealing it when it is the one loading, else loading it once the other
// ends) and starts streaming the fill buffer when nothing loads.
func (w *Writer) pumpText(ctx context.Context) error {
	if w.inflight != nil {
		select {
		case r := <-w.inflight:
			w.collect(r)
			if r.err != nil {
				return r.err
			}
		default:
		}
	}
	if len(w.pend) >= w.bufRows || w.pendBytes >= w.bufBytes {
		if err := w.loadPend(ctx); err != nil {
			return err
		}
	}
	f := w.fill
	if len(f.meta) >= w.bufRows || len(f.text) >= w.bufBytes {
		if w.loading != f {
			if err := w.wait(); err != nil {
				return err
			}
			w.startLoad(ctx, f)
		}
		f.seal()
		w.fill = w.other(f)
		return nil
	}
	if w.loading == nil && len(f.meta) > 0 {
		w.startLoad(ctx, f)
		f.publish()
	}
	return nil
}

// loadPend loads the rows of driver arguments (rows the text cannot carry), after the load in
// flight; the rows refused join w.deferred.
func (w *Writer) loadPend(ctx context.Context) error {
	if len(w.pend) == 0 {
		return nil
	}
	if w.fill == w.loading {
		w.fill.seal()
		w.fill = w.other(w.fill)
	}
	if err := w.wait(); err != nil {
		return err
	}
	ps, err := w.loadArgs(ctx, w.pend, w.pendMeta)
	if err != nil {
		return err
	}
	w.deferred = append(w.deferred, ps...)
	clear(w.pend)
	w.pend, w.pendMeta, w.pendBytes = w.pend[:0], w.pendMeta[:0], 0
	return nil
}

// wait waits for the background load, if any; the rows it could not write join w.deferred.
func (w *Writer) wait() error {
	if w.inflight == nil {
		return nil
	}
	r := <-w.inflight
	w.collect(r)
	return r.err
}

// collect takes the result of the background load and empties its buffer (here, not in the load's
// goroutine: a load that failed early may end while the writer still adds rows to it).
func (w *Writer) collect(r loadResult) {
	if w.loading != nil {
		w.loading.reset()
	}
	w.inflight, w.loading = nil, nil
	w.deferred = append(w.deferred, r.problems...)
}

// stopLoad ends a background load the writer gives up on (abort, close) and waits for it.
func (w *Writer) stopLoad() {
	if w.loading != nil {
		w.loading.fail(context.Canceled)
	}
	_ = w.wait()
}

// loadText loads the rows of t with LoadText or, when it refuses them, as driver arguments with
// Load (which names the rows the table refuses); the caller empties t.
func (w *Writer) loadText(ctx context.Context, t *textBuf) ([]connector.RowProblem, error) {
	ok, err := w.text.LoadText(ctx, w.tx, w.load, w.cols, t.reader(), t.sealedRows)
	if err != nil {
		return nil, w.err("load rows", err)
	}
	if ok {
		return nil, nil
	}
	t.mu.Lock()
	t.waitSealedLocked() // a refused load may not have read to the end
	failed := t.failed
	t.mu.Unlock()
	if failed != nil {
		return nil, w.err("load rows", failed)
	}
	rows, err := w.text.DecodeText(t.text, t.tags, len(w.cols))
	if err != nil {
		return nil, w.err("load rows", err)
	}
	return w.loadArgs(ctx, rows, t.meta)
}
