package postgres

import (
	"context"
	"errors"
	"io"
	"sort"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Default flush budget of the COPY buffer: a COPY statement is sent when this many rows or bytes of
// encoded COPY data are waiting, and always at Commit. One statement per budget instead of one per
// engine batch keeps the server busy instead of waiting for a round trip every 1,024 rows.
const (
	defaultFlushRows  = 8192
	defaultFlushBytes = 1 << 20
)

// pending holds rows of several Writes, already encoded as COPY data (so the writer keeps no
// reference to the engine's batches), with what a message about a bad row needs.
type pending struct {
	data []byte         // the rows' COPY data, without the binary header and trailer
	ends []int          // ends[i] is where row i's data ends
	rows []pendingRow   // per row: where it came from
	keys []record.Value // len(keyIdx) key values per row
}

type pendingRow struct {
	seq int64 // the Write that brought it
	idx int   // its index in that Write's batch
	pos int64 // its position in the source (0: unknown)
}

func (p *pending) len() int { return len(p.rows) }

func (p *pending) reset() {
	p.data, p.ends, p.rows = p.data[:0], p.ends[:0], p.rows[:0]
	clear(p.keys)
	p.keys = p.keys[:0]
}

// add encodes the rows idx of the converted rows of batch b (the seq-th Write).
// With dels (an upsert whose input has sqlkit.OpField), each row also carries whether it deletes.
func (w *writer) add(b *record.Batch, rows []record.Row, idx []int, dels []bool) {
	cr := &copyReader{rows: rows, arrays: w.arrays, ord: w.tmp != "", types: w.types, binary: w.binary, ordBase: w.ordSeq,
		del: w.tmp != "" && w.ops.Active(), dels: dels}
	w.ordSeq += int64(len(rows))
	p := &w.pend
	for _, i := range idx {
		if w.binary {
			p.data = cr.appendBinaryRow(p.data, i)
		} else {
			p.data = cr.appendRow(p.data, i)
		}
		p.ends = append(p.ends, len(p.data))
		p.rows = append(p.rows, pendingRow{seq: w.seq, idx: i, pos: b.PosOf(i)})
		for _, k := range w.keyIdx {
			p.keys = append(p.keys, b.Rows[i][k])
		}
	}
}

// full says whether the buffer has reached its flush budget.
func (w *writer) full() bool {
	return w.pend.len() >= w.flushRows || len(w.pend.data) >= w.flushBytes
}

// flush loads what is buffered, after the load in flight (if any) ends.
func (w *writer) flush(ctx context.Context, cur int64) ([]connector.RowProblem, error) {
	if err := w.wait(); err != nil {
		return nil, err
	}
	return w.loadRows(ctx, &w.pend, cur)
}

// loadResult is what a background load found.
type loadResult struct {
	problems []connector.RowProblem
	err      error
}

// flushAsync starts loading the buffer in the background, after the load in flight (if any) ends,
// so that the next Writes encode their rows while the server works on these. Only that load uses
// the connection until wait returns; what it finds comes back through wait.
func (w *writer) flushAsync(ctx context.Context) error {
	if err := w.wait(); err != nil {
		return err
	}
	w.pend, w.spare = w.spare, w.pend
	p := &w.spare
	done := make(chan loadResult, 1)
	w.inflight = done
	go func() {
		problems, err := w.loadRows(ctx, p, 0)
		done <- loadResult{problems, err}
	}()
	return nil
}

// wait waits for the background load, if any; its bad rows join the deferred problems.
func (w *writer) wait() error {
	if w.inflight == nil {
		return nil
	}
	r := <-w.inflight
	w.inflight = nil
	w.deferred = append(w.deferred, r.problems...)
	return r.err
}

// loadRows loads the rows of p with one COPY. When the COPY fails on bad data, the rows are loaded
// in halves until each bad row is pinned down; every good row is loaded. Bad rows come back as
// problems: rows of the Write numbered cur carry their batch index, rows of earlier Writes Index -1
// (their message still names the table, the key or source row, and the column).
func (w *writer) loadRows(ctx context.Context, p *pending, cur int64) ([]connector.RowProblem, error) {
	n := p.len()
	if n == 0 {
		return nil, nil
	}
	defer p.reset()
	// A savepoint marks the last good point, so a failed COPY undoes only itself. Releasing the
	// previous savepoint, taking the next one and the COPY go as one query: one round trip.
	sp := "SAVEPOINT agg_rows; "
	if w.savepoint {
		sp = "RELEASE SAVEPOINT agg_rows; SAVEPOINT agg_rows; "
	}
	first := true
	load := func(ctx context.Context, sub []int) error {
		sr := &segmentReader{p: p, sel: sub, binary: w.binary}
		sql := w.copySQL
		if first {
			sql, first = sp+sql, false
		}
		_, err := w.tx.Conn().PgConn().CopyFrom(ctx, sr, sql)
		w.savepoint = true
		if err != nil {
			if _, rerr := w.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT agg_rows"); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		return err
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	var bad map[int]error
	if err := load(ctx, all); err != nil {
		failed := err
		if !isDataError(err) {
			return nil, w.err("load rows", err)
		}
		isolate := func(ctx context.Context, sub []int) error {
			if err := load(ctx, sub); err != nil {
				return err
			}
			_, err := w.tx.Exec(ctx, "RELEASE SAVEPOINT agg_rows; SAVEPOINT agg_rows")
			return err
		}
		if bad, err = sqlkit.Isolate(ctx, all, failed, isolate, isDataError, copyLine); err != nil {
			return nil, w.err("load rows", err)
		}
	}
	if w.merge != "" {
		// merge and empty the temp table in one round trip
		if _, err := w.tx.Exec(ctx, w.merge+"; TRUNCATE "+q(w.tmp)); err != nil {
			return nil, w.err("merge rows by key ("+joinNames(w.req.Key)+")", err)
		}
	}
	w.written += int64(n - len(bad))
	if len(bad) == 0 {
		return nil, nil
	}
	at := make([]int, 0, len(bad))
	for i := range bad {
		at = append(at, i)
	}
	sort.Ints(at)
	problems := make([]connector.RowProblem, 0, len(bad))
	nk := len(w.keyIdx)
	for _, i := range at {
		r := p.rows[i]
		index := r.idx
		if r.seq != cur {
			index = -1
		}
		problems = append(problems, w.problem(index, p.keys[i*nk:(i+1)*nk], r.pos, bad[i]))
	}
	return problems, nil
}

// segmentReader streams the selected buffered rows as one COPY (with the binary header and trailer
// when binary). Consecutive rows go out as one slice.
type segmentReader struct {
	p      *pending
	sel    []int
	binary bool
	state  int // 0: header, 1: rows, 2: trailer, 3: done
	i      int
	cur    []byte
}

func (s *segmentReader) Read(b []byte) (int, error) {
	for len(s.cur) == 0 {
		switch s.state {
		case 0:
			s.state = 1
			if s.binary {
				s.cur = copyHeader
			}
		case 1:
			if s.i == len(s.sel) {
				s.state = 2
				continue
			}
			first := s.sel[s.i]
			last := first
			s.i++
			for s.i < len(s.sel) && s.sel[s.i] == last+1 {
				last = s.sel[s.i]
				s.i++
			}
			start := 0
			if first > 0 {
				start = s.p.ends[first-1]
			}
			s.cur = s.p.data[start:s.p.ends[last]]
		case 2:
			s.state = 3
			if s.binary {
				s.cur = copyTrailer
			}
		default:
			return 0, io.EOF
		}
	}
	n := copy(b, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

var copyTrailer = []byte{0xff, 0xff}
