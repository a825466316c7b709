package filekit

import (
	"context"
	"errors"
	"io"

	"github.com/dataaggregator/aggregator/internal/record"
)

// Batches is the loop every file reader's Next shares. The records sampled for inference (Samples)
// are handed out before the rest of the file; a file-level error is returned after the rows read
// before it, on the following call; cancellation is checked every 256 rows.
type Batches[T any] struct {
	B       *record.Builder
	Samples []T
	err     error
	done    bool
	from    int64
}

// From sets the input offset the first batch's byte count starts at.
func (q *Batches[T]) From(off int64) { q.from = off }

// Next fills a batch: next yields the following record (io.EOF at the end), add turns it into a row
// or a reject. offset, when not nil, is the input offset after the records read, from which the
// batch's bytes are counted.
func (q *Batches[T]) Next(ctx context.Context, next func() (T, error), add func(T), offset func() int64) (*record.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.err != nil {
		return nil, q.err
	}
	for !q.B.Full() {
		var it T
		if len(q.Samples) > 0 {
			it, q.Samples = q.Samples[0], q.Samples[1:]
		} else {
			if q.done {
				break
			}
			var err error
			it, err = next()
			if errors.Is(err, io.EOF) {
				q.done = true
				break
			}
			if err != nil {
				q.err = err
				if b := q.B.Take(); b != nil {
					return b, nil
				}
				return nil, err
			}
		}
		add(it)
		if q.B.Len()&255 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if offset != nil {
		off := offset()
		q.B.AddBytes(off - q.from)
		q.from = off
	}
	if b := q.B.Take(); b != nil {
		return b, nil
	}
	return nil, io.EOF
}

// BatchSize is the rows per batch a reader uses: the request's, or 1024.
func BatchSize(n int) int {
	if n <= 0 {
		return 1024
	}
	return n
}

// Sample reads the inference sample: up to n records from next, fewer when it reports io.EOF. Any
// other error is returned. A next whose records share a buffer copies each.
func Sample[T any](n int, next func() (T, error)) ([]T, error) {
	var out []T
	for len(out) < n {
		it, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}
