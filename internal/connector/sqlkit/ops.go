package sqlkit

import (
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// OpField is the field that says, in an upsert, what a record does to the row with its key: a
// record whose OpField is OpDelete removes that row; any other value (or no OpField at all) inserts
// or updates it. Change sources set it (postgres_cdc: insert, update, delete). The SQL destinations
// never write it as a column. Within a write, the last record of a key wins, in batch order.
const OpField = "_op"

// OpDelete is the OpField value of a record that deletes its row.
const OpDelete = "delete"

// Ops takes OpField out of the batches of an upsert. The zero value is ready; keep one per writer
// (it remembers the schema without OpField, so consecutive batches share one).
type Ops struct {
	in, out *record.Schema
	at      int
}

// Active reports whether the last batch given to Split had OpField (in an upsert).
func (o *Ops) Active() bool { return o.out != nil && o.at >= 0 }

// Schema is the schema an upsert writes for input schema s: s without OpField (s itself in
// another mode, or without OpField).
func (o *Ops) Schema(s *record.Schema, mode connector.WriteMode) *record.Schema {
	if mode != connector.Upsert || s == nil {
		return s
	}
	if s != o.in {
		o.in, o.out, o.at = s, nil, s.Index(OpField)
		if o.at >= 0 {
			fs := append(append([]record.Field(nil), s.Fields[:o.at]...), s.Fields[o.at+1:]...)
			out, err := record.NewSchema(fs...)
			if err != nil { // cannot happen: a subset of a valid schema
				o.at = -1
			} else {
				o.out = out
			}
		}
	}
	if o.at < 0 {
		return s
	}
	return o.out
}

// Split returns the batch to write and, when a row of it deletes, which rows do (nil: none). The
// batch is b itself when the mode is not upsert or b has no OpField; otherwise a copy of its rows
// without OpField (one allocation per batch).
func (o *Ops) Split(b *record.Batch, mode connector.WriteMode) (*record.Batch, []bool) {
	if mode != connector.Upsert || b == nil {
		return b, nil
	}
	o.Schema(b.Schema, mode)
	if o.at < 0 {
		return b, nil
	}
	w := len(o.out.Fields)
	out := &record.Batch{Schema: o.out, Rows: make([]record.Row, len(b.Rows)), Pos: b.Pos, Bytes: b.Bytes}
	vals := make([]record.Value, len(b.Rows)*w)
	var dels []bool
	for i, row := range b.Rows {
		r := record.Row(vals[i*w : (i+1)*w : (i+1)*w])
		copy(r, row[:o.at])
		copy(r[o.at:], row[o.at+1:])
		out.Rows[i] = r
		if v := row[o.at]; v.Kind() == record.KindString && v.Str() == OpDelete {
			if dels == nil {
				dels = make([]bool, len(b.Rows))
			}
			dels[i] = true
		}
	}
	return out, dels
}

// Segments calls fn with each run of consecutive rows that all delete or all upsert, in order
// (dels nil: one run of every row).
func Segments(n int, dels []bool, fn func(idx []int, del bool) error) error {
	idx := make([]int, 0, n)
	for i := 0; i < n; i++ {
		d := dels != nil && dels[i]
		if len(idx) > 0 && (dels != nil && dels[idx[0]]) != d {
			if err := fn(idx, !d); err != nil {
				return err
			}
			idx = idx[:0]
		}
		idx = append(idx, i)
	}
	if len(idx) > 0 {
		return fn(idx, dels != nil && dels[idx[0]])
	}
	return nil
}
