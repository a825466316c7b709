package sqlkit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// MaxChunks bounds the chunks of one partitioned read.
const MaxChunks = 1000

// PartitionConfig is the `partition` parameter of a database source: split a run into key ranges of
// Key (an integer, date or timestamp column) that run as parallel chunks across the workers. Chunks
// sets their number; ChunkRows instead aims at that many rows per chunk (the table is counted).
type PartitionConfig struct {
	Key       string
	Chunks    int
	ChunkRows int64
}

// BindPartition declares partition: {key, chunks | chunk_rows}.
func (t *TableConfig) BindPartition(b *configspec.Builder) {
	configspec.Nested(b, &t.Partition, connector.PartitionParam, func(c *PartitionConfig, b *configspec.Builder) {
		b.String(&c.Key, "key").Required().Doc("Integer, date or timestamp column whose value range is split into chunks (e.g. id).")
		b.Int(&c.Chunks, "chunks").Min(1).Max(MaxChunks).Doc("Number of chunks (key ranges of equal width). Default 8 unless chunk_rows is set.")
		b.Int64(&c.ChunkRows, "chunk_rows").Min(1).Doc("Rows per chunk instead of a number of chunks: the rows are counted and the key range split into count / chunk_rows ranges.")
	}).PerPipeline().Doc("Partitioned runs: split the read into key ranges that run as parallel chunks on every worker of the queue (aggregator worker processes, or RUN_WORKERS in serve). Destinations must write in upsert or append mode.").
		Example(map[string]any{"key": "id", "chunks": 8})
}

// check refuses a partition config that asks for both chunks and chunk_rows.
func (p *PartitionConfig) check() error {
	if p.Chunks > 0 && p.ChunkRows > 0 {
		return connector.ConfigError(errors.New("partition: set chunks or chunk_rows, not both"))
	}
	return nil
}

// Bounds are what a partitioned read measures of its key: its smallest and largest values (null when
// the table is empty) and, when chunk_rows asks for it, the number of rows.
type Bounds struct {
	Kind     record.Kind
	Min, Max record.Value
	Rows     int64
}

// ChunkCount is how many chunks the config asks for, given the rows counted (chunk_rows).
func (p *PartitionConfig) ChunkCount(rows int64) int {
	switch {
	case p.Chunks > 0:
		return p.Chunks
	case p.ChunkRows > 0:
		n := (rows + p.ChunkRows - 1) / p.ChunkRows
		return int(max(1, min(n, MaxChunks)))
	}
	return 8
}

// Split cuts [b.Min, b.Max] into at most n ranges of equal width (integers, dates and timestamps),
// the first open below (it also holds NULL keys) and the last open above (rows added meanwhile
// belong to it). An empty table, or a key of one value, is one range open at both ends.
func Split(field string, b Bounds, n int) ([]connector.KeyRange, error) {
	if b.Min.IsNull() || b.Max.IsNull() || n <= 1 {
		return []connector.KeyRange{{Field: field}}, nil
	}
	var lo, hi int64
	format := func(v int64) string { return strconv.FormatInt(v, 10) }
	switch b.Kind {
	case record.KindInt:
		lo, hi = b.Min.AsInt(), b.Max.AsInt()
	case record.KindDate:
		lo, hi = b.Min.AsInt(), b.Max.AsInt() // days
		format = func(v int64) string { return time.Unix(v*86400, 0).UTC().Format("2006-01-02") }
	case record.KindTimestamp:
		lo, hi = b.Min.AsTime().UnixMicro(), b.Max.AsTime().UnixMicro()
		format = func(v int64) string { return time.UnixMicro(v).UTC().Format(time.RFC3339Nano) }
	default:
		return nil, connector.ConfigError(fmt.Errorf("partition.key: column %q is %s; a partition key must be an integer, date or timestamp column", field, b.Kind))
	}
	if hi <= lo {
		return []connector.KeyRange{{Field: field}}, nil
	}
	// width = ceil((hi - lo + 1) / n), computed without overflow
	span := new(big.Int).Sub(big.NewInt(hi), big.NewInt(lo))
	span.Add(span, big.NewInt(1))
	nb := big.NewInt(int64(n))
	w := new(big.Int).Add(span, new(big.Int).Sub(nb, big.NewInt(1)))
	w.Div(w, nb)
	if !w.IsInt64() || w.Int64() <= 0 {
		w = big.NewInt(math.MaxInt64)
	}
	width := w.Int64()
	var out []connector.KeyRange
	prev := ""
	for i := 1; ; i++ {
		cut := new(big.Int).Add(big.NewInt(lo), new(big.Int).Mul(big.NewInt(int64(i)), big.NewInt(width)))
		if i >= n || cut.Cmp(big.NewInt(hi)) > 0 {
			out = append(out, connector.KeyRange{Field: field, Lo: prev})
			return out, nil
		}
		c := format(cut.Int64())
		if c == prev { // dates: a width under a day
			continue
		}
		out = append(out, connector.KeyRange{Field: field, Lo: prev, Hi: c})
		prev = c
	}
}

// RangeValue parses a bound of a KeyRange for a column of kind k.
func RangeValue(s string, k record.Kind) (record.Value, error) {
	switch k {
	case record.KindInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return record.Value{}, fmt.Errorf("range bound %q is not an integer", s)
		}
		return record.Int(n), nil
	case record.KindDate:
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return record.Value{}, fmt.Errorf("range bound %q is not a date (YYYY-MM-DD)", s)
		}
		return record.Date(t), nil
	case record.KindTimestamp:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return record.Value{}, fmt.Errorf("range bound %q is not an RFC 3339 time", s)
		}
		return record.Timestamp(t), nil
	}
	return record.Value{}, fmt.Errorf("a range over a %s column is not supported (integer, date or timestamp)", k)
}

// RangeWhere is the predicate of a key range over column col (already quoted and qualified) of kind
// k, with the dialect's placeholders numbered from next; args are the bounds as record values, for
// the caller to bind.
func RangeWhere(r connector.KeyRange, col string, k record.Kind, placeholder func() string) (string, []record.Value, error) {
	var conds []string
	var args []record.Value
	if r.Lo != "" {
		v, err := RangeValue(r.Lo, k)
		if err != nil {
			return "", nil, err
		}
		conds, args = append(conds, col+" >= "+placeholder()), append(args, v)
	}
	if r.Hi != "" {
		v, err := RangeValue(r.Hi, k)
		if err != nil {
			return "", nil, err
		}
		conds, args = append(conds, col+" < "+placeholder()), append(args, v)
	}
	switch {
	case len(conds) == 0:
		return "", nil, nil
	case r.Lo == "": // the first range also holds NULL keys
		return "(" + conds[0] + " OR " + col + " IS NULL)", args, nil
	case len(conds) == 1:
		return conds[0], args, nil
	}
	return "(" + conds[0] + " AND " + conds[1] + ")", args, nil
}

// Partitions measures the key of the read (its relation and request) and splits it as p says: the
// helper behind Partitioner for the database/sql connectors. The reader is only used for its
// relation, columns and handle.
func (r *Reader) Partitions(ctx context.Context, p *PartitionConfig) ([]connector.KeyRange, error) {
	if p == nil {
		return nil, nil
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	i := r.schema.Index(p.Key)
	if i < 0 {
		return nil, connector.ConfigError(fmt.Errorf("partition.key: column %q is not in %s", p.Key, r.o.Display))
	}
	col := r.o.Cols[i]
	if k := col.Kind; k != record.KindInt && k != record.KindDate && k != record.KindTimestamp {
		return nil, connector.ConfigError(fmt.Errorf("partition.key: column %q is %s; a partition key must be an integer, date or timestamp column", p.Key, k))
	}
	qc := "q." + r.d.Quote(col.Name)
	sel := "MIN(" + qc + "), MAX(" + qc + ")"
	var lo, hi any
	var rows int64
	dest := []any{&lo, &hi}
	if p.ChunkRows > 0 {
		sel += ", COUNT(*)"
		dest = append(dest, &rows)
	}
	if err := r.db.QueryRowContext(ctx, r.d.Select(sel, r.o.From, "", "", 0)).Scan(dest...); err != nil {
		return nil, r.err(ctx, "measure partition key "+p.Key, err)
	}
	b := Bounds{Kind: col.Kind, Rows: rows}
	var err error
	if b.Min, err = r.d.Decode(lo, col); err != nil {
		return nil, fmt.Errorf("%s source %s: partition key %q: %w", r.d.Name(), r.o.Display, p.Key, err)
	}
	if b.Max, err = r.d.Decode(hi, col); err != nil {
		return nil, fmt.Errorf("%s source %s: partition key %q: %w", r.d.Name(), r.o.Display, p.Key, err)
	}
	return Split(p.Key, b, p.ChunkCount(rows))
}
