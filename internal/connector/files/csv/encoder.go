package csv

import (
	"fmt"
	"io"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Encoder writes records as CSV to an io.Writer with the destination's defaults: comma, double
// quotes, a header line, NULL as an empty field and an empty string as "", UTF-8 (values as the CSV
// destination writes them; bytes in base64). It is the CSV of exports; it is not safe for concurrent use.
type Encoder struct {
	out    io.Writer
	enc    rowEncoder
	schema *record.Schema
	buf    []byte
	begun  bool
}

// NewEncoder returns an encoder of schema s writing to out; the header is written with the first rows
// (or at Close).
func NewEncoder(out io.Writer, s *record.Schema) *Encoder {
	st := &settings{Config: Config{Header: true, NullValues: []string{""}}, comma: ',', quote: '"', nulls: map[string]bool{"": true}, nullEmpty: true}
	return &Encoder{out: out, enc: newRowEncoder(st), schema: s}
}

// Write writes the rows of b, whose fields must be the encoder's. A row that cannot be written is
// reported in a *connector.RowError and the others are written.
func (e *Encoder) Write(b *record.Batch) error {
	if b.Schema != e.schema && !sameNames(b.Schema, e.schema) {
		return fmt.Errorf("batch fields (%s) differ from the file's (%s)", strings.Join(b.Schema.Names(), ", "), strings.Join(e.schema.Names(), ", "))
	}
	buf := e.buf[:0]
	if !e.begun {
		buf, e.begun = append(buf, e.enc.head(e.schema)...), true
	}
	var rowErr connector.RowError
	for i, row := range b.Rows {
		var field, problem string
		if buf, field, problem = e.enc.appendRow(buf, b.Schema, row); problem != "" {
			rowErr.Rows = append(rowErr.Rows, connector.RowProblem{Index: i, Field: field, Reason: problem})
		}
		if len(buf) > 128<<10 {
			if _, err := e.out.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := e.out.Write(buf)
	e.buf = buf[:0]
	if err != nil {
		return err
	}
	if len(rowErr.Rows) > 0 {
		return &rowErr
	}
	return nil
}

// Close writes the header if no rows came; it does not close the output.
func (e *Encoder) Close() error {
	if e.begun {
		return nil
	}
	e.begun = true
	_, err := e.out.Write(e.enc.head(e.schema))
	return err
}
