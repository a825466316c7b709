package csv

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filekit"
	"github.com/dataaggregator/aggregator/internal/record"
)

type writer struct {
	s      *settings
	enc    rowEncoder
	name   string
	sink   *filekit.Sink
	schema *record.Schema
	buf    []byte
}

// rowEncoder turns rows into CSV text under a config: the one place values become CSV fields, for
// the destination and for Encoder.
type rowEncoder struct {
	s       *settings
	scratch []byte
	nullTok string
}

func newRowEncoder(s *settings) rowEncoder {
	e := rowEncoder{s: s}
	if len(s.NullValues) > 0 {
		e.nullTok = s.NullValues[0]
	}
	return e
}

// head is the start of a new file: the BOM and the header line, as configured.
func (e *rowEncoder) head(schema *record.Schema) []byte {
	var b []byte
	if e.s.BOM {
		b = append(b, "\xef\xbb\xbf"...)
	}
	if e.s.Header {
		for i, f := range schema.Fields {
			if i > 0 {
				b = append(b, e.s.comma)
			}
			b = appendField(b, f.Name, e.s.comma, e.s.quote, false)
		}
		b = append(b, '\n')
	}
	return b
}

// appendRow appends a row and its newline; when a value cannot be written it appends nothing and
// names the field and the reason.
func (e *rowEncoder) appendRow(dst []byte, schema *record.Schema, row record.Row) (out []byte, field, reason string) {
	start := len(dst)
	for j, v := range row {
		if j > 0 {
			dst = append(dst, e.s.comma)
		}
		dst, reason = e.appendValue(dst, v)
		if reason != "" {
			return dst[:start], schema.Fields[j].Name, reason
		}
	}
	return append(dst, '\n'), "", ""
}

var _ connector.ResumableWriter = (*writer)(nil)

func newWriter(s *settings, path string, req connector.WriteRequest) (*writer, error) {
	if req.Mode == "" {
		req.Mode = connector.Append
	}
	w := &writer{s: s, enc: newRowEncoder(s), name: s.Path, schema: req.Schema}
	var needNL bool
	tail := func(f *os.File, size int64) (int64, bool, error) {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err != nil {
			return 0, false, err
		}
		needNL = last[0] != '\n'
		if s.Header && w.schema != nil {
			if err := w.checkHeader(f); err != nil {
				return 0, false, err
			}
		}
		return size, true, nil
	}
	sink, err := filekit.OpenSink(filekit.SinkOptions{Path: path, Name: w.name, Mode: req.Mode, RunID: req.RunID, Resume: req.Resume, Tail: tail})
	if err != nil {
		return nil, err
	}
	w.sink = sink
	if needNL {
		_, _ = sink.Write([]byte{'\n'})
	}
	if w.schema != nil {
		if err := w.begin(); err != nil {
			sink.Abort()
			return nil, err
		}
	}
	return w, nil
}

// checkHeader compares an existing file's header with the schema before appending to it.
func (w *writer) checkHeader(f *os.File) error {
	br := bufio.NewReaderSize(f, 64<<10)
	p := newParser(br, w.s.comma, w.s.quote, w.s.MaxRecordBytes)
	if _, err := p.read(); err != nil {
		return fmt.Errorf("read the existing header: %w", err)
	}
	var have []string
	for i := range p.nfields() {
		have = append(have, string(p.field(i)))
	}
	want := w.schema.Names()
	if strings.Join(have, "\x00") != strings.Join(want, "\x00") {
		return connector.ConfigError(fmt.Errorf("the existing header (%s) differs from the schema written (%s)", strings.Join(have, ", "), strings.Join(want, ", ")))
	}
	return nil
}

// begin writes the BOM and header of a new file and commits them.
func (w *writer) begin() error {
	if w.sink.Offset() != 0 {
		return nil
	}
	b := w.enc.head(w.schema)
	if len(b) == 0 {
		return nil
	}
	if _, err := w.sink.Write(b); err != nil {
		return err
	}
	return w.sink.Commit()
}

func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	if w.schema == nil {
		w.schema = b.Schema
		if err := w.begin(); err != nil {
			return err
		}
	} else if b.Schema != w.schema && !sameNames(b.Schema, w.schema) {
		return fmt.Errorf("%s: batch fields (%s) differ from the file's (%s)", w.name, strings.Join(b.Schema.Names(), ", "), strings.Join(w.schema.Names(), ", "))
	}
	var rowErr connector.RowError
	buf := w.buf[:0]
	for i, row := range b.Rows {
		var field, problem string
		if buf, field, problem = w.enc.appendRow(buf, b.Schema, row); problem != "" {
			rowErr.Rows = append(rowErr.Rows, connector.RowProblem{Index: i, Field: field, Reason: problem})
			continue
		}
		w.sink.Record()
		if len(buf) > 128<<10 {
			if _, err := w.sink.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if _, err := w.sink.Write(buf); err != nil {
		return err
	}
	w.buf = buf[:0]
	if len(rowErr.Rows) > 0 {
		return &rowErr
	}
	return nil
}

func sameNames(a, b *record.Schema) bool {
	if len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Name != b.Fields[i].Name {
			return false
		}
	}
	return true
}

// appendValue appends one value as a CSV field; reason is set when it cannot be written.
func (w *rowEncoder) appendValue(dst []byte, v record.Value) ([]byte, string) {
	s := w.s
	var text []byte
	switch v.Kind() {
	case record.KindNull:
		return append(dst, w.nullTok...), ""
	case record.KindString, record.KindDecimal, record.KindJSON:
		str := v.Str()
		if str == "" || s.nulls[str] {
			if s.quote == 0 {
				return dst, "an empty string cannot be told from NULL without quoting"
			}
			return appendField(dst, str, s.comma, s.quote, true), ""
		}
		if s.cs == nil {
			if s.quote == 0 && needsQuote(str, s.comma, s.quote) {
				return dst, "the value holds the delimiter or a newline and quoting is disabled"
			}
			return appendField(dst, str, s.comma, s.quote, false), ""
		}
		text = append(w.scratch[:0], str...)
	case record.KindBytes:
		if v.Str() == "" {
			return appendField(dst, "", s.comma, s.quote, true), ""
		}
		n := base64.StdEncoding.EncodedLen(len(v.Str()))
		start := len(dst)
		dst = append(dst, make([]byte, n)...)
		base64.StdEncoding.Encode(dst[start:], v.AsBytes())
		return dst, ""
	default:
		text = v.AppendFileText(w.scratch[:0])
	}
	w.scratch = text
	if s.cs != nil {
		enc, ok := s.cs.encode(text[:0:0], text)
		if !ok {
			return dst, "holds a character that " + s.cs.name + " cannot encode"
		}
		text = enc
	}
	if s.quote == 0 && needsQuote(string(text), s.comma, s.quote) {
		return dst, "the value holds the delimiter or a newline and quoting is disabled"
	}
	return appendField(dst, text, s.comma, s.quote, false), ""
}

func needsQuote[T string | []byte](f T, comma, quote byte) bool {
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c == comma || c == '\n' || c == '\r' || (quote != 0 && c == quote) {
			return true
		}
	}
	return false
}

// appendField appends a field, quoted when it must be (or force is set), quotes doubled.
func appendField[T string | []byte](dst []byte, f T, comma, quote byte, force bool) []byte {
	if quote == 0 || (!force && !needsQuote(f, comma, quote)) {
		return append(dst, f...)
	}
	dst = append(dst, quote)
	for i := 0; i < len(f); i++ {
		if f[i] == quote {
			dst = append(dst, quote)
		}
		dst = append(dst, f[i])
	}
	return append(dst, quote)
}

func (w *writer) Commit(ctx context.Context) error { return w.sink.Commit() }

func (w *writer) CommitState() (json.RawMessage, error) { return w.sink.CommitState() }

func (w *writer) ResumeAt(ctx context.Context, token json.RawMessage) error {
	return w.sink.ResumeAt(token)
}

func (w *writer) Close(ctx context.Context) error {
	if w.schema != nil && w.sink.Offset() == 0 {
		if err := w.begin(); err != nil {
			return err
		}
	}
	return w.sink.Close()
}

func (w *writer) Abort(ctx context.Context) error { return w.sink.Abort() }
