package csv

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filekit"
	"github.com/dataaggregator/aggregator/internal/connector/internal/rowkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// state is a CSV reader's checkpoint: the byte offset (of the decompressed content) and the line
// after the last row returned.
type state struct {
	Offset int64 `json:"offset"`
	Line   int64 `json:"line"`
}

// sample is a record read ahead for type inference, replayed before reading on.
type sample struct {
	buf    []byte
	ends   []int
	quoted []bool
	line   int64
	off    int64 // offset after it
	lines  int64 // lines consumed after it
	err    error
}

type reader struct {
	s         *settings
	name      string
	in        *filekit.In
	p         *parser
	schema    *record.Schema
	kinds     []record.Kind
	size      int
	b         *record.Builder
	samples   []sample
	arena     []byte
	arenaCap  int // the next batch's arena: arenaSize at first, then the last one's use and an eighth
	st        state
	batchFrom int64
	done      bool
	err       error // a file-level error, returned after the rows read before it
}

// arenaSize is the text arena of a reader's first batch; later ones are sized from the one before,
// at least minArena.
const (
	arenaSize = 64 << 10
	minArena  = 4 << 10
)

func (c *Connector) open(ctx context.Context, env connector.Env, s *settings, req connector.ReadRequest) (*reader, error) {
	path, name, err := filekit.Input(ctx, env, s.Path, s.Upload)
	if err != nil {
		return nil, err
	}
	overrides, err := filekit.Overrides(s.Types, req.Overrides)
	if err != nil {
		return nil, err
	}
	in, err := filekit.Open(path, name)
	if err != nil {
		return nil, err
	}
	r := &reader{s: s, name: name, in: in, size: req.BatchSize}
	if r.size <= 0 {
		r.size = 1024
	}
	if err := r.start(overrides); err != nil {
		in.Close()
		return nil, err
	}
	if len(req.State) > 0 {
		var st state
		if err := json.Unmarshal(req.State, &st); err != nil {
			in.Close()
			return nil, fmt.Errorf("%s: bad checkpoint %s: %w", name, req.State, err)
		}
		// Reopen and continue after the checkpoint; the schema came from the same header and sample.
		in.Close()
		if r.in, err = filekit.Open(path, name); err != nil {
			return nil, err
		}
		if err := r.in.SeekTo(st.Offset); err != nil {
			r.in.Close()
			return nil, err
		}
		r.p = newParser(r.in, s.comma, s.quote, s.MaxRecordBytes)
		r.p.bom = st.Offset == 0
		r.p.off, r.p.line = st.Offset, st.Line
		r.samples, r.st = nil, st
	}
	r.b = record.NewBuilder(r.schema, r.size)
	// Spare slots per row let an expression node append derived fields in place instead of copying
	// every row into a wider one; the engine asks for them only when the pipeline has transforms.
	r.b.Reserve(req.Spare)
	r.batchFrom = r.st.Offset
	return r, nil
}

// start reads the header and the inference sample and settles the schema.
func (r *reader) start(overrides map[string]record.Kind) error {
	s := r.s
	r.p = newParser(r.in, s.comma, s.quote, s.MaxRecordBytes)
	var names []string
	if s.Header {
		_, err := r.p.read()
		var re *rowError
		switch {
		case errors.Is(err, io.EOF):
			if len(s.Columns) == 0 {
				return fmt.Errorf("%s: the file is empty: no header line (set columns to read an empty file)", r.name)
			}
		case errors.As(err, &re):
			return fmt.Errorf("%s: line 1: bad header: %s", r.name, re.reason)
		case err != nil:
			return fmt.Errorf("%s: %w", r.name, err)
		default:
			for i := range r.p.nfields() {
				h := r.p.field(i)
				if !utf8.Valid(h) && s.cs == nil {
					return fmt.Errorf("%s: line 1: header field %d is not valid UTF-8 (set encoding: latin-1 or windows-1252?)", r.name, i+1)
				}
				names = append(names, r.text(h))
			}
			if len(s.Columns) > 0 && len(s.Columns) != len(names) {
				return fmt.Errorf("%s: columns names %d columns but the header has %d (%s)", r.name, len(s.Columns), len(names), strings.Join(names, ", "))
			}
		}
		r.st = state{Offset: r.p.off, Line: r.p.line}
	}
	if len(s.Columns) > 0 {
		names = s.Columns
	}
	// Read the sample ahead.
	n := s.InferRows
	if n < 1 {
		n = 1 // at least one record, to count columns without a header
	}
	var vals [][]string
	for len(r.samples) < n {
		line, err := r.p.read()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *rowError
		if err != nil && !errors.As(err, &re) {
			return fmt.Errorf("%s: line %d: %w", r.name, r.p.line, err)
		}
		sm := sample{line: line, off: r.p.off, lines: r.p.line, err: err,
			buf: append([]byte(nil), r.p.buf...), ends: append([]int(nil), r.p.ends...), quoted: append([]bool(nil), r.p.quoted...)}
		if err == nil {
			if s.InferRows > 0 {
				row := make([]string, r.p.nfields())
				for i := range row {
					if !r.p.quoted[i] && s.nulls[string(r.p.field(i))] {
						continue
					}
					row[i] = r.text(r.p.field(i))
				}
				vals = append(vals, row)
			}
			if names == nil {
				for i := range r.p.nfields() {
					names = append(names, fmt.Sprintf("col_%d", i+1))
				}
			}
		}
		r.samples = append(r.samples, sm)
	}
	if names == nil && len(overrides) > 0 {
		return fmt.Errorf("%s: the file is empty and has no header; set columns to name its columns", r.name)
	}
	names = filekit.UniqueNames(names)
	inf := record.NewInferrer(names, overrides)
	if s.InferRows > 0 {
		for _, v := range vals {
			inf.Observe(v)
		}
	}
	fields := inf.Fields()
	for i := range fields {
		if s.InferRows == 0 {
			if _, ok := overrides[fields[i].Name]; !ok {
				fields[i].Kind = record.KindString
			}
		}
		fields[i].Nullable = true
	}
	schema, err := record.NewSchema(fields...)
	if err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	r.schema = schema
	r.kinds = make([]record.Kind, len(fields))
	for i, f := range fields {
		r.kinds[i] = f.Kind
	}
	return nil
}

// text converts raw field bytes to a Go string (copying; a single-byte charset transcoded).
func (r *reader) text(b []byte) string {
	if r.s.cs != nil {
		return string(r.s.cs.decode(nil, b))
	}
	return string(b)
}

func (r *reader) Schema() *record.Schema { return r.schema }

func (r *reader) State() (json.RawMessage, error) { return json.Marshal(r.st) }

func (r *reader) Close() error {
	if r.in == nil {
		return nil
	}
	err := r.in.Close()
	r.in = nil
	return err
}

// Next returns the next batch of up to the batch size rows (plus the rejects among them).
func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.done {
		return nil, io.EOF
	}
	// Sized from the last batch: an arena that append has to grow leaves the block it outgrew
	// behind, still held by the strings in it.
	if r.arenaCap == 0 {
		r.arenaCap = arenaSize
	}
	r.arena = make([]byte, 0, r.arenaCap)
	defer func() { r.arenaCap = max(minArena, len(r.arena)+len(r.arena)/8) }()
	for !r.b.Full() {
		if len(r.samples) > 0 {
			sm := r.samples[0]
			r.samples[0] = sample{} // replayed: its copy is garbage now, not held for the whole run
			r.samples = r.samples[1:]
			r.p.buf, r.p.ends, r.p.quoted = sm.buf, sm.ends, sm.quoted
			r.add(sm.line, sm.err)
			r.st = state{Offset: sm.off, Line: sm.lines}
			if len(r.samples) == 0 {
				// Back to the parser's own buffers; the sample's array goes with the last of it.
				r.samples = nil
				r.p.buf, r.p.ends, r.p.quoted = make([]byte, 0, 1024), make([]int, 0, 32), make([]bool, 0, 32)
			}
			continue
		}
		line, err := r.p.read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				r.done = true
				break
			}
			if _, ok := err.(*rowError); !ok {
				r.err = fmt.Errorf("%s: line %d: %w", r.name, r.p.line, err)
				if b := r.b.Take(); b != nil {
					return b, nil
				}
				return nil, r.err
			}
		}
		r.add(line, err)
		r.st = state{Offset: r.p.off, Line: r.p.line}
		if r.b.Len()&255 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	r.b.AddBytes(r.st.Offset - r.batchFrom)
	r.batchFrom = r.st.Offset
	b := r.b.Take()
	if b == nil {
		return nil, io.EOF
	}
	return b, nil
}

// add converts the parser's current record into a row, or a reject.
func (r *reader) add(line int64, perr error) {
	if perr != nil {
		r.b.Reject(record.Reject{Source: r.name, Pos: line, Reason: perr.Error(), Raw: r.raw()})
		return
	}
	p := r.p
	if p.nfields() != len(r.kinds) {
		r.b.Reject(record.Reject{Source: r.name, Pos: line, Reason: fmt.Sprintf("has %d fields, want %d (%s)", p.nfields(), len(r.kinds), strings.Join(r.schema.Names(), ", ")), Raw: r.raw()})
		return
	}
	row := r.b.Row(line)
	start := 0
	for i, k := range r.kinds {
		end := p.ends[i]
		f := p.buf[start:end]
		start = end
		if !p.quoted[i] && (len(f) == 0 && r.s.nullEmpty || len(r.s.nullOther) > 0 && r.s.nullOther[string(f)]) {
			continue // null
		}
		v, reason := r.value(f, k, p.quoted[i])
		if reason != "" {
			r.b.Unrow()
			r.b.Reject(record.Reject{Source: r.name, Pos: line, Field: r.schema.Fields[i].Name, Reason: reason, Raw: r.raw()})
			return
		}
		row[i] = v
	}
}

// raw renders the current record back as CSV text for a reject (truncated).
func (r *reader) raw() string {
	p := r.p
	var out []byte
	for i := range p.nfields() {
		if i > 0 {
			out = append(out, r.s.comma)
		}
		out = appendField(out, p.field(i), r.s.comma, r.s.quote, false)
		if len(out) > 1024 {
			break
		}
	}
	// A field the problem cut short (an unterminated quote): show what it held.
	if last := len(p.ends); (last == 0 && len(p.buf) > 0) || (last > 0 && len(p.buf) > p.ends[last-1]) {
		if last > 0 {
			out = append(out, r.s.comma)
			out = append(out, p.buf[p.ends[last-1]:min(len(p.buf), p.ends[last-1]+1024)]...)
		} else {
			out = append(out, p.buf[:min(len(p.buf), 1024)]...)
		}
	}
	return rowkit.Truncate(string(out), 1024)
}

// keep copies b into the batch's arena and returns it as a string without another allocation. The
// arena is never written again below its length, so the string stays immutable.
func (r *reader) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	start := len(r.arena)
	if r.s.cs != nil {
		r.arena = r.s.cs.decode(r.arena, b)
	} else {
		r.arena = append(r.arena, b...)
	}
	return unsafe.String(&r.arena[start], len(r.arena)-start)
}

// value converts field bytes to a value of kind k; reason is non-empty when it cannot.
func (r *reader) value(f []byte, k record.Kind, quoted bool) (record.Value, string) {
	if r.s.cs == nil && (k == record.KindString || k == record.KindJSON) && !utf8.Valid(f) {
		return record.Null, "invalid UTF-8 (set encoding: latin-1 or windows-1252 for such files)"
	}
	if len(f) == 0 {
		switch k {
		case record.KindString:
			return record.String(""), ""
		case record.KindBytes:
			if quoted {
				return record.BytesString(""), ""
			}
		}
		return record.Null, ""
	}
	tmp := unsafe.String(unsafe.SliceData(f), len(f)) // valid only during this call; never retained
	switch k {
	case record.KindString:
		return record.String(r.keep(f)), ""
	case record.KindInt:
		if n, ok := rowkit.Atoi(f); ok {
			return record.Int(n), ""
		}
		n, err := strconv.ParseInt(strings.TrimSpace(tmp), 10, 64)
		if err != nil {
			return record.Null, fmt.Sprintf("invalid integer %q", tmp)
		}
		return record.Int(n), ""
	case record.KindFloat:
		if x, ok := rowkit.FastFloat(f); ok {
			return record.Float(x), ""
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(tmp), 64)
		if err != nil {
			return record.Null, fmt.Sprintf("invalid number %q", tmp)
		}
		return record.Float(x), ""
	case record.KindBool:
		b, err := record.ParseBool(tmp)
		if err != nil {
			return record.Null, fmt.Sprintf("invalid bool %q", tmp)
		}
		return record.Bool(b), ""
	case record.KindDate:
		if d, ok := rowkit.FastDate(f); ok {
			return d, ""
		}
		v, err := record.Parse(tmp, record.KindDate)
		if err != nil {
			return record.Null, err.Error()
		}
		return v, ""
	case record.KindTimestamp:
		if v, ok := rowkit.FastTimestamp(f); ok {
			return v, ""
		}
		t, err := record.ParseTime(tmp, time.UTC)
		if err != nil {
			return record.Null, err.Error()
		}
		return record.Timestamp(t), ""
	case record.KindBytes:
		n := base64.StdEncoding.DecodedLen(len(f))
		start := len(r.arena)
		r.arena = append(r.arena, make([]byte, n)...)
		m, err := base64.StdEncoding.Decode(r.arena[start:], f)
		if err != nil {
			r.arena = r.arena[:start]
			return record.Null, "invalid base64 for a bytes field: " + err.Error()
		}
		r.arena = r.arena[:start+m]
		if m == 0 {
			return record.BytesString(""), ""
		}
		return record.BytesString(unsafe.String(&r.arena[start], m)), ""
	default: // decimal, json: their text is kept
		v, err := record.Parse(r.keep(f), k)
		if err != nil {
			return record.Null, err.Error()
		}
		return v, ""
	}
}
