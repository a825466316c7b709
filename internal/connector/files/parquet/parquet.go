package parquet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filekit"
	"github.com/dataaggregator/aggregator/internal/connector/internal/jsonrec"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Config is the Parquet connector's configuration.
type Config struct {
	filekit.Source
	MaxRowGroupBytes int64
	MaxPageBytes     int64
}

// Connector is the Parquet connector: filekit's file connector over the Parquet format.
type Connector = filekit.Connector[*Config]

// New returns the Parquet connector (type "parquet").
func New() *Connector { return filekit.NewConnector[Config](format{}) }

// format is the Parquet format; filekit.Connector does the rest.
type format struct{}

var _ connector.ResumableWriter = (*writer)(nil)

// Spec describes the connector.
func (format) Spec() connector.Spec {
	return filekit.ConnectorSpec("parquet", "Parquet file",
		"Reads and writes Apache Parquet files (local path or upload), row group by row group, with every type kept exactly.",
		[]connector.WriteMode{connector.Overwrite},
		configspec.Describe(func(c *Config, b *configspec.Builder) {
			c.BindLocation(b, "File", "data/orders.parquet", false)
			c.BindTypes(b, "Per-column type overrides, e.g. {zip: string}; a value is converted through its text, and one that does not convert rejects its row.")
			b.Int64(&c.MaxRowGroupBytes, "max_row_group_bytes").Default(DefaultMaxRowGroupBytes).Min(1 << 20).
				Doc("Largest row group read (uncompressed bytes, from the file's metadata); a larger one stops the read with an error naming the file.")
			b.Int64(&c.MaxPageBytes, "max_page_bytes").Default(DefaultMaxPageBytes).Min(64 << 10).
				Doc("Largest page read, compressed or not; a larger page, or one that decompresses past it, stops the read with an error naming the file.")
		}))
}

func (c *Config) limits() Limits {
	l := Limits{MaxRowGroupBytes: c.MaxRowGroupBytes, MaxPageBytes: c.MaxPageBytes, MaxFooterBytes: DefaultMaxFooterBytes}
	if l.MaxRowGroupBytes <= 0 {
		l.MaxRowGroupBytes = DefaultMaxRowGroupBytes
	}
	if l.MaxPageBytes <= 0 {
		l.MaxPageBytes = DefaultMaxPageBytes
	}
	return l
}

// Reader opens the file, reads its footer and schema, and positions at the checkpoint, if any.
func (format) Reader(ctx context.Context, env connector.Env, cfg *Config, req connector.ReadRequest) (connector.Reader, error) {
	path, name, overrides, err := cfg.Resolve(ctx, env, req)
	if err != nil {
		return nil, err
	}
	r, err := openFile(path, name, cfg.limits(), overrides, filekit.BatchSize(req.BatchSize))
	if err != nil {
		return nil, err
	}
	if len(req.State) > 0 {
		var st state
		if err := filekit.Checkpoint(name, req.State, &st); err != nil {
			r.Close()
			return nil, err
		}
		if err := r.seek(st); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// Writer starts writing the file (overwrite only). Rows are spooled, committed and resumable, as
// NDJSON beside the file; Close builds the Parquet file from the spool and renames it over the
// target, so the file appears whole or not at all.
func (format) Writer(ctx context.Context, env connector.Env, cfg *Config, req connector.WriteRequest) (connector.Writer, error) {
	if req.Mode == "" {
		req.Mode = connector.Overwrite
	}
	if req.Mode != connector.Overwrite {
		return nil, fmt.Errorf("write mode %q: %w (a Parquet file is written whole: use overwrite)", req.Mode, connector.ErrUnsupported)
	}
	path, err := filekit.Destination(env, cfg.Path, cfg.Upload)
	if err != nil {
		return nil, err
	}
	run := req.RunID
	if run == "" {
		run = "run"
	}
	spool := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+run+".spool")
	sink, err := filekit.OpenSink(filekit.SinkOptions{Path: spool, Name: cfg.Path + " (spool)", Mode: connector.Append, RunID: run, Resume: req.Resume})
	if err != nil {
		return nil, err
	}
	if !req.Resume && sink.Offset() > 0 {
		// A spool left by another run: start afresh.
		if err := sink.ResumeAt(json.RawMessage(`{"offset":0}`)); err != nil {
			sink.Abort()
			return nil, err
		}
	}
	return &writer{SinkWriter: filekit.SinkWriter{Sink: sink}, name: cfg.Path, path: path, spoolPath: spool, schema: req.Schema}, nil
}

type writer struct {
	filekit.SinkWriter // Commit, CommitState, ResumeAt (Close and Abort are the writer's own)
	name               string
	path               string
	spoolPath          string
	schema             *record.Schema
	cols               []column
	buf                []byte
}

// spoolHeader is the spool's first line: the schema of the rows that follow.
type spoolHeader struct {
	Schema *record.Schema `json:"schema"`
}

func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	if err := w.begin(b.Schema); err != nil {
		return err
	}
	if !sameNames(b.Schema, w.schema) {
		return fmt.Errorf("%s: batch fields differ from the file's", w.name)
	}
	var rowErr connector.RowError
	buf := w.buf[:0]
	for i, row := range b.Rows {
		// Check now what the encoder will need, so that a row it cannot hold is rejected here and
		// not when the file is built.
		if j, why := w.fits(row); why != "" {
			rowErr.Rows = append(rowErr.Rows, connector.RowProblem{Index: i, Field: b.Schema.Fields[j].Name, Reason: why})
			continue
		}
		buf = jsonrec.AppendObject(buf, b.Schema, row)
		buf = append(buf, '\n')
		w.Sink.Record()
		if len(buf) > 128<<10 {
			if _, err := w.Sink.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if _, err := w.Sink.Write(buf); err != nil {
		return err
	}
	w.buf = buf[:0]
	if len(rowErr.Rows) > 0 {
		return &rowErr
	}
	return nil
}

// fits finds a value the file's column cannot hold.
func (w *writer) fits(row record.Row) (int, string) {
	var e Encoder
	for j, c := range w.cols {
		if j >= len(row) {
			break
		}
		if _, why := e.value(c, row[j]); why != "" {
			return j, why
		}
	}
	return 0, ""
}

// begin writes the spool header once.
func (w *writer) begin(s *record.Schema) error {
	if w.schema == nil {
		w.schema = s
	}
	if w.cols == nil {
		_, w.cols, _ = fileSchema(w.schema)
	}
	if w.Sink.Offset() > 0 {
		return nil
	}
	b, err := json.Marshal(spoolHeader{Schema: w.schema})
	if err != nil {
		return err
	}
	_, err = w.Sink.Write(append(b, '\n'))
	return err
}

func (w *writer) Abort(ctx context.Context) error {
	err := w.Sink.Abort()
	os.Remove(w.spoolPath)
	return err
}

// Close builds the Parquet file from the spool and renames it over the target.
func (w *writer) Close(ctx context.Context) error {
	if w.schema != nil {
		if err := w.begin(w.schema); err != nil {
			return err
		}
	}
	// The spool stays committed (and its commit record in place) until the file has replaced the
	// old one, so a process that dies in here resumes from the spool.
	if err := w.Sink.Commit(); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(w.path), "."+filepath.Base(w.path)+".tmp.parquet")
	err := w.build(ctx, tmp)
	if err == nil {
		err = os.Rename(tmp, w.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", w.name, err)
	}
	if d, err := os.Open(filepath.Dir(w.path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	if err := w.Sink.Close(); err != nil {
		return err
	}
	os.Remove(w.spoolPath)
	return nil
}

func (w *writer) build(ctx context.Context, tmp string) (err error) {
	sp, err := os.Open(w.spoolPath)
	if err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	defer sp.Close()
	lr := filekit.NewLineReader(bufio.NewReaderSize(sp, 256<<10), math.MaxInt32)
	line, _, err := lr.Next()
	schema := w.schema
	switch {
	case errors.Is(err, io.EOF):
	case err != nil:
		return fmt.Errorf("read spool: %w", err)
	default:
		var h spoolHeader
		if err := json.Unmarshal(line, &h); err != nil {
			return fmt.Errorf("spool header: %w", err)
		}
		schema = h.Schema
	}
	if schema == nil {
		schema = record.MustSchema()
	}
	if schema, err = record.NewSchema(schema.Fields...); err != nil { // rebuild the name index
		return err
	}
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(out, 1<<20)
	enc := NewEncoder(bw, schema)
	conv := jsonrec.NewConverter(schema)
	bl := record.NewBuilder(schema, 1024)
	flush := func() error {
		b := bl.Take()
		if b == nil {
			return nil
		}
		if err := enc.Write(b); err != nil {
			return err
		}
		conv.NewBatch()
		return ctx.Err()
	}
	for n := 1; ; n++ {
		line, _, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read spool: %w", err)
		}
		vals := bl.Row(int64(n))
		if field, reason, err := conv.Row(line, vals); err != nil || reason != "" {
			return fmt.Errorf("spool row %d field %q: %s %v", n, field, reason, err)
		}
		if bl.Full() {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return out.Sync()
}
