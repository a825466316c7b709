// Package export writes a stream of records, with their columns, as a CSV, NDJSON, Excel (.xlsx) or
// Parquet file to an io.Writer. It holds no encoder of its own: each format is its file connector's
// (internal/connector/files/...), so an export reads back through the same connector that wrote it.
// Memory stays bounded whatever the number of rows (an Excel sheet spools to temporary files).
package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/connector/files/excel"
	"github.com/dataaggregator/aggregator/internal/connector/files/ndjson"
	"github.com/dataaggregator/aggregator/internal/connector/files/parquet"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Format is an export file format.
type Format string

// The export formats.
const (
	CSV     Format = "csv"
	NDJSON  Format = "ndjson"
	Excel   Format = "xlsx"
	Parquet Format = "parquet"
)

// Formats lists the formats, in the order menus show them.
func Formats() []Format { return []Format{CSV, NDJSON, Excel, Parquet} }

// ParseFormat reads a format name: csv, ndjson, xlsx (or excel) and parquet, in any case.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "csv":
		return CSV, nil
	case "ndjson", "jsonl":
		return NDJSON, nil
	case "xlsx", "excel":
		return Excel, nil
	case "parquet":
		return Parquet, nil
	}
	return "", fmt.Errorf("unknown export format %q (want csv, ndjson, xlsx or parquet)", s)
}

// ContentType is the format's media type.
func (f Format) ContentType() string {
	switch f {
	case CSV:
		return "text/csv; charset=utf-8"
	case NDJSON:
		return "application/x-ndjson"
	case Excel:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case Parquet:
		return "application/vnd.apache.parquet"
	}
	return "application/octet-stream"
}

// Ext is the format's file name extension, without the dot.
func (f Format) Ext() string { return string(f) }

// FileName is base (its extension, if any, replaced) with the format's extension; characters other
// than letters, digits, '-', '_' and '.' become '_', so that it is safe in a Content-Disposition.
func FileName(base string, f Format) string {
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	b := []byte(base)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		b = []byte("export")
	}
	return string(b) + "." + f.Ext()
}

// Encoder writes records of one schema in a format. Write reports rows the format cannot hold in a
// *connector.RowError (the others are written); Close finishes the file (it does not close the
// output). An Encoder is not safe for concurrent use.
type Encoder interface {
	Write(b *record.Batch) error
	Close() error
}

// NewEncoder returns the encoder of format f for records of schema s, writing to out.
func NewEncoder(out io.Writer, f Format, s *record.Schema) (Encoder, error) {
	switch f {
	case CSV:
		return csv.NewEncoder(out, s), nil
	case NDJSON:
		return ndjsonEncoder{ndjson.NewEncoder(out)}, nil
	case Excel:
		sh, err := excel.NewSheet("Sheet1", s)
		if err != nil {
			return nil, err
		}
		return &excelEncoder{sh: sh, out: out}, nil
	case Parquet:
		return parquet.NewEncoder(out, s), nil
	}
	return nil, fmt.Errorf("unknown export format %q", f)
}

type ndjsonEncoder struct{ *ndjson.Encoder }

func (ndjsonEncoder) Close() error { return nil }

type excelEncoder struct {
	sh  *excel.Sheet
	out io.Writer
}

func (e *excelEncoder) abort() { _ = e.sh.Close() }

func (e *excelEncoder) Write(b *record.Batch) error { return e.sh.Write(b) }
func (e *excelEncoder) Close() error {
	err := e.sh.Finish(e.out, "")
	if cerr := e.sh.Close(); err == nil {
		err = cerr
	}
	return err
}

// discard releases an encoder that will not be finished (an Excel sheet's temporary files).
func discard(enc Encoder) {
	if a, ok := enc.(interface{ abort() }); ok {
		a.abort()
	}
}

// Source is what Write drains: its schema and its batches until io.EOF (a connector.Reader is one).
type Source interface {
	Schema() *record.Schema
	Next(ctx context.Context) (*record.Batch, error)
}

// Write writes every batch of src to out in format f and returns the number of rows written. A row
// the format cannot hold ends the export with an error naming the row (1-based) and field: an export
// never drops a row silently. Rejects carried by the batches are not rows and are not written.
func Write(ctx context.Context, out io.Writer, f Format, src Source) (int64, error) {
	enc, err := NewEncoder(out, f, src.Schema())
	if err != nil {
		return 0, err
	}
	var rows int64
	for {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			discard(enc)
			return rows, err
		}
		if b == nil || len(b.Rows) == 0 {
			continue
		}
		if err := enc.Write(b); err != nil {
			var re *connector.RowError
			if errors.As(err, &re) && len(re.Rows) > 0 {
				p := re.Rows[0]
				err = fmt.Errorf("row %d, field %q: %s", rows+int64(p.Index)+1, p.Field, p.Reason)
			}
			discard(enc)
			return rows, fmt.Errorf("export %s: %w", f, err)
		}
		rows += int64(len(b.Rows))
	}
	if err := enc.Close(); err != nil {
		return rows, fmt.Errorf("export %s: %w", f, err)
	}
	return rows, nil
}

// Batches is a Source over batches already in memory (or a function producing them).
type Batches struct {
	S *record.Schema
	B []*record.Batch
}

// Schema is the batches' schema.
func (b *Batches) Schema() *record.Schema { return b.S }

// Next returns the next batch, io.EOF after the last.
func (b *Batches) Next(context.Context) (*record.Batch, error) {
	if len(b.B) == 0 {
		return nil, io.EOF
	}
	n := b.B[0]
	b.B = b.B[1:]
	return n, nil
}
