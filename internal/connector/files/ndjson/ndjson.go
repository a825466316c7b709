package ndjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filekit"
	"github.com/dataaggregator/aggregator/internal/connector/internal/jsonrec"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Config is the NDJSON connector's configuration.
type Config struct {
	filekit.Source
	MaxRecordBytes int
}

// Connector is the NDJSON connector: filekit's file connector over the newline-delimited JSON format.
type Connector = filekit.Connector[*Config]

// New returns the NDJSON connector (type "ndjson").
func New() *Connector { return filekit.NewConnector[Config](format{}) }

// format is the newline-delimited JSON format; filekit.Connector does the rest.
type format struct{}

// Spec describes the connector.
func (format) Spec() connector.Spec {
	return filekit.ConnectorSpec("ndjson", "NDJSON file",
		"Reads and writes newline-delimited JSON (one object per line; local path or upload; gzip input detected).",
		filekit.AppendOrOverwrite(),
		configspec.Describe(func(c *Config, b *configspec.Builder) {
			c.BindLocation(b, "File", "out/orders.ndjson", true)
			c.BindInferRows(b, 1, "Number of objects sampled to infer the fields and their types.")
			c.BindTypes(b, "Per-field type overrides, e.g. {amount: decimal, payload: json}; a field named here but absent from the sample is added.")
			filekit.BindMaxRecordBytes(b, &c.MaxRecordBytes, "Longest line accepted; a longer one is rejected as a row without being held in memory.")
		}))
}

type state struct {
	Offset int64 `json:"offset"`
	Line   int64 `json:"line"`
}

type sample struct {
	obj    []byte
	line   int64
	reason string
	st     state
}

type reader struct {
	name                string
	filekit.InputCloser // Close
	lr                  *filekit.LineReader
	schema              *record.Schema
	conv                *jsonrec.Converter
	dups                *jsonrec.Duplicates
	q                   filekit.Batches[sample]
	samples             []sample // the inference sample, then q.Samples
	st                  state
}

// Reader opens the file and reads the inference sample (then seeks to the checkpoint, if any).
func (format) Reader(ctx context.Context, env connector.Env, cfg *Config, req connector.ReadRequest) (connector.Reader, error) {
	path, name, overrides, err := cfg.Resolve(ctx, env, req)
	if err != nil {
		return nil, err
	}
	in, err := filekit.Open(path, name)
	if err != nil {
		return nil, err
	}
	r := &reader{InputCloser: filekit.InputCloser{In: in}, name: name, lr: filekit.NewLineReader(in, cfg.MaxRecordBytes)}
	r.samples, err = filekit.Sample(cfg.InferRows, func() (sample, error) {
		sm, err := r.line()
		sm.obj = bytes.Clone(sm.obj) // the line reader reuses its buffer
		return sm, err
	})
	if err != nil {
		in.Close()
		return nil, err
	}
	inf := jsonrec.NewInferrer()
	for _, sm := range r.samples {
		if sm.reason == "" {
			_ = inf.Observe(sm.obj)
		}
	}
	r.schema, err = record.NewSchema(inf.Fields(overrides)...)
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(req.State) > 0 {
		var st state
		if err := filekit.Checkpoint(name, req.State, &st); err != nil {
			in.Close()
			return nil, err
		}
		if r.In, err = in.Reopen(st.Offset); err != nil {
			return nil, err
		}
		r.lr = filekit.NewLineReader(r.In, cfg.MaxRecordBytes)
		r.lr.Off, r.lr.Line = st.Offset, st.Line
		r.samples, r.st = nil, st
	}
	r.q.B = record.NewBuilder(r.schema, filekit.BatchSize(req.BatchSize))
	r.q.Samples, r.samples = r.samples, nil
	r.q.From(r.st.Offset)
	r.conv = jsonrec.NewConverter(r.schema)
	r.conv.WarnUnknown(env.Logger, name, cfg.InferRows)
	r.dups = r.conv.CountDuplicates(env.Logger, name, "line")
	return r, nil
}

// Close closes the file and logs how many duplicate keys were met, if any.
func (r *reader) Close() error {
	r.dups.Summary()
	return r.InputCloser.Close()
}

// line reads the next non-blank line; sample.reason is set when it is not a JSON object.
func (r *reader) line() (sample, error) {
	for {
		l, tooLong, err := r.lr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return sample{}, io.EOF
			}
			return sample{}, fmt.Errorf("%s: line %d: %w", r.name, r.lr.Line+1, err)
		}
		st := state{Offset: r.lr.Off, Line: r.lr.Line}
		if tooLong {
			return sample{line: r.lr.Line, st: st, reason: fmt.Sprintf("line exceeds max_record_bytes (%d)", r.lr.Max)}, nil
		}
		if r.lr.Line == 1 {
			l = trimBOM(l)
		}
		if firstNonSpace(l) < 0 {
			continue
		}
		sm := sample{obj: l, line: r.lr.Line, st: st}
		switch {
		case !json.Valid(l):
			var v any
			err := json.Unmarshal(l, &v)
			sm.reason = "invalid JSON: " + strings.TrimPrefix(fmt.Sprint(err), "json: ")
		default:
			if i := firstNonSpace(l); i < 0 || l[i] != '{' {
				sm.reason = "not a JSON object"
			}
		}
		return sm, nil
	}
}

func trimBOM(l []byte) []byte {
	if len(l) >= 3 && l[0] == 0xef && l[1] == 0xbb && l[2] == 0xbf {
		return l[3:]
	}
	return l
}

func firstNonSpace(b []byte) int {
	for i, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return i
		}
	}
	return -1
}

func (r *reader) Schema() *record.Schema          { return r.schema }
func (r *reader) State() (json.RawMessage, error) { return json.Marshal(r.st) }

func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	r.conv.NewBatch()
	return r.q.Next(ctx, r.line, r.add, func() int64 { return r.st.Offset })
}

func (r *reader) add(sm sample) {
	r.conv.Add(r.q.B, r.name, sm.line, sm.obj, sm.reason)
	r.st = sm.st
}

// Writer starts writing the file.
func (format) Writer(ctx context.Context, env connector.Env, cfg *Config, req connector.WriteRequest) (connector.Writer, error) {
	path, err := filekit.Destination(env, cfg.Path, cfg.Upload)
	if err != nil {
		return nil, err
	}
	if req.Mode == "" {
		req.Mode = connector.Append
	}
	var needNL bool
	sink, err := filekit.OpenSink(filekit.SinkOptions{Path: path, Name: cfg.Path, Mode: req.Mode, RunID: req.RunID, Resume: req.Resume, Tail: filekit.LinesTail(&needNL, nil)})
	if err != nil {
		return nil, err
	}
	if needNL {
		_, _ = sink.Write([]byte{'\n'})
	}
	return &writer{SinkWriter: filekit.SinkWriter{Sink: sink}, sink: sink, name: cfg.Path}, nil
}

type writer struct {
	filekit.SinkWriter // Commit, CommitState, ResumeAt, Close, Abort
	enc                jsonrec.Encoder
	sink               *filekit.Sink
	name               string
	buf                []byte
}

var _ connector.ResumableWriter = (*writer)(nil)

func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	buf := w.buf[:0]
	for _, row := range b.Rows {
		buf = w.enc.Append(buf, b.Schema, row)
		buf = append(buf, '\n')
		w.sink.Record()
		if len(buf) > 128<<10 {
			if _, err := w.sink.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.sink.Write(buf)
	w.buf = buf[:0]
	return err
}

// Encoder writes records as newline-delimited JSON to an io.Writer, each row an object encoded as the
// NDJSON destination writes it. It is the NDJSON of exports; it is not safe for concurrent use.
type Encoder struct {
	out io.Writer
	enc jsonrec.Encoder
	buf []byte
}

// NewEncoder returns an encoder writing to out.
func NewEncoder(out io.Writer) *Encoder { return &Encoder{out: out} }

// Write writes the rows of b.
func (e *Encoder) Write(b *record.Batch) error {
	buf := e.buf[:0]
	for _, row := range b.Rows {
		buf = e.enc.Append(buf, b.Schema, row)
		buf = append(buf, '\n')
		if len(buf) > 128<<10 {
			if _, err := e.out.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := e.out.Write(buf)
	e.buf = buf[:0]
	return err
}
