package ndjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/fileio"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/jsonrec"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Config is the NDJSON connector's configuration.
type Config struct {
	Path           string            `json:"path"`
	Upload         string            `json:"upload"`
	InferRows      int               `json:"infer_rows"`
	Types          map[string]string `json:"types"`
	MaxRecordBytes int               `json:"max_record_bytes"`
}

// Connector is the NDJSON connector.
type Connector struct{}

// New returns the NDJSON connector (type "ndjson").
func New() *Connector { return &Connector{} }

var (
	_ connector.Source          = (*Connector)(nil)
	_ connector.Destination     = (*Connector)(nil)
	_ connector.Checker         = (*Connector)(nil)
	_ connector.Discoverer      = (*Connector)(nil)
	_ connector.ResumableWriter = (*writer)(nil)
)

// DefaultMaxRecordBytes caps one line.
const DefaultMaxRecordBytes = 16 << 20

// Spec describes the connector.
func (c *Connector) Spec() connector.Spec {
	return connector.Spec{
		Name:        "ndjson",
		Title:       "NDJSON file",
		Description: "Reads and writes newline-delimited JSON (one object per line; local path or upload; gzip input detected).",
		Category:    "file",
		Source:      true,
		Destination: true,
		WriteModes:  []connector.WriteMode{connector.Append, connector.Overwrite},
		Config: configspec.Spec{Params: []configspec.Param{
			{Name: "path", Type: configspec.String, Description: "File path, relative to the first allowed file root. A .gz file (or gzip content) is decompressed when read.", Examples: []any{"out/orders.ndjson"}},
			{Name: "upload", Type: configspec.String, Description: "Read an uploaded file by its id instead of a path (source only)."},
			{Name: "infer_rows", Type: configspec.Integer, Default: 1000, Min: configspec.Ptr(1), Description: "Number of objects sampled to infer the fields and their types."},
			{Name: "types", Type: configspec.Object, Items: &configspec.Param{Type: configspec.String}, Description: "Per-field type overrides, e.g. {amount: decimal, payload: json}; a field named here but absent from the sample is added."},
			{Name: "max_record_bytes", Type: configspec.Integer, Default: DefaultMaxRecordBytes, Min: configspec.Ptr(1024), Description: "Longest line accepted; a longer one is rejected as a row without being held in memory."},
		}},
	}
}

func (c *Connector) decode(raw map[string]any) (*Config, error) {
	var cfg Config
	if err := connector.DecodeConfig(c.Spec(), raw, &cfg); err != nil {
		return nil, err
	}
	for n, t := range cfg.Types {
		if _, err := record.ParseKind(t); err != nil {
			return nil, connector.ConfigError(fmt.Errorf("types.%s: %w", n, err))
		}
	}
	return &cfg, nil
}

// Check validates the config and opens the file (or, for a new file, checks its directory).
func (c *Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	cfg, err := c.decode(raw)
	if err != nil {
		return err
	}
	if cfg.Upload == "" {
		if _, err := fileio.Local(env, cfg.Path, false); errors.Is(err, connector.ErrNotFound) {
			_, err := fileio.Local(env, cfg.Path, true)
			return err
		}
	}
	r, err := c.open(ctx, env, cfg, connector.ReadRequest{BatchSize: 1})
	if err != nil {
		return err
	}
	return r.Close()
}

// Discover infers the file's schema from its sample.
func (c *Connector) Discover(ctx context.Context, env connector.Env, raw map[string]any) (*connector.Catalog, error) {
	cfg, err := c.decode(raw)
	if err != nil {
		return nil, err
	}
	r, err := c.open(ctx, env, cfg, connector.ReadRequest{BatchSize: 1})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	name := cfg.Upload
	if name == "" {
		name = filepath.Base(cfg.Path)
	}
	return &connector.Catalog{Streams: []connector.Stream{{Name: name, Kind: "file", Schema: r.schema}}}, nil
}

// Open starts reading.
func (c *Connector) Open(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	cfg, err := c.decode(raw)
	if err != nil {
		return nil, err
	}
	return c.open(ctx, env, cfg, req)
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
	name    string
	in      *fileio.In
	lr      *fileio.LineReader
	schema  *record.Schema
	conv    *jsonrec.Converter
	b       *record.Builder
	samples []sample
	st      state
	from    int64
	done    bool
	err     error // a file-level error, returned after the rows read before it
}

// failAfter returns the rows of the current batch before a file-level error, which the next call returns.
func (r *reader) failAfter(err error) (*record.Batch, error) {
	r.err = err
	if b := r.b.Take(); b != nil {
		return b, nil
	}
	return nil, err
}

func (c *Connector) open(ctx context.Context, env connector.Env, cfg *Config, req connector.ReadRequest) (*reader, error) {
	path, name, err := fileio.Input(ctx, env, cfg.Path, cfg.Upload)
	if err != nil {
		return nil, err
	}
	overrides, err := fileio.Overrides(cfg.Types, req.Overrides)
	if err != nil {
		return nil, err
	}
	in, err := fileio.Open(path, name)
	if err != nil {
		return nil, err
	}
	r := &reader{name: name, in: in, lr: fileio.NewLineReader(in, cfg.MaxRecordBytes)}
	inf := jsonrec.NewInferrer()
	for len(r.samples) < cfg.InferRows {
		sm, err := r.line()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			in.Close()
			return nil, err
		}
		if sm.reason == "" {
			_ = inf.Observe(sm.obj)
		}
		sm.obj = bytes.Clone(sm.obj) // the line reader reuses its buffer
		r.samples = append(r.samples, sm)
	}
	r.schema, err = record.NewSchema(inf.Fields(overrides)...)
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(req.State) > 0 {
		var st state
		if err := json.Unmarshal(req.State, &st); err != nil {
			in.Close()
			return nil, fmt.Errorf("%s: bad checkpoint %s: %w", name, req.State, err)
		}
		in.Close()
		if r.in, err = fileio.Open(path, name); err != nil {
			return nil, err
		}
		if err := r.in.SeekTo(st.Offset); err != nil {
			r.in.Close()
			return nil, err
		}
		r.lr = fileio.NewLineReader(r.in, cfg.MaxRecordBytes)
		r.lr.Off, r.lr.Line = st.Offset, st.Line
		r.samples, r.st = nil, st
	}
	size := req.BatchSize
	if size <= 0 {
		size = 1024
	}
	r.b = record.NewBuilder(r.schema, size)
	r.conv = jsonrec.NewConverter(r.schema)
	if env.Logger != nil {
		r.conv.Unknown = func(key string) {
			env.Logger.Warn("field not in the schema inferred from the sample is ignored; declare it in types to read it",
				"file", name, "field", key, "infer_rows", cfg.InferRows)
		}
	}
	r.from = r.st.Offset
	return r, nil
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
func (r *reader) Close() error {
	if r.in == nil {
		return nil
	}
	err := r.in.Close()
	r.in = nil
	return err
}

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
	r.conv.NewBatch()
	for !r.b.Full() {
		var sm sample
		if len(r.samples) > 0 {
			sm, r.samples = r.samples[0], r.samples[1:]
		} else {
			var err error
			sm, err = r.line()
			if errors.Is(err, io.EOF) {
				r.done = true
				break
			}
			if err != nil {
				return r.failAfter(err)
			}
		}
		r.add(sm)
		r.st = sm.st
		if r.b.Len()&255 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	r.b.AddBytes(r.st.Offset - r.from)
	r.from = r.st.Offset
	if b := r.b.Take(); b != nil {
		return b, nil
	}
	return nil, io.EOF
}

func (r *reader) add(sm sample) {
	if sm.reason != "" {
		r.b.Reject(record.Reject{Source: r.name, Pos: sm.line, Reason: sm.reason, Raw: fileio.Truncate(string(sm.obj), 1024)})
		return
	}
	row := r.b.Row(sm.line)
	field, reason, err := r.conv.Row(sm.obj, row)
	if err != nil {
		reason = err.Error()
	}
	if reason != "" {
		r.b.Unrow()
		r.b.Reject(record.Reject{Source: r.name, Pos: sm.line, Field: field, Reason: reason, Raw: fileio.Truncate(string(sm.obj), 1024)})
	}
}

// OpenWriter starts writing the file.
func (c *Connector) OpenWriter(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	cfg, err := c.decode(raw)
	if err != nil {
		return nil, err
	}
	if cfg.Upload != "" {
		return nil, connector.ConfigError(errors.New("upload: a destination writes to a path, not an upload"))
	}
	path, err := fileio.Local(env, cfg.Path, true)
	if err != nil {
		return nil, err
	}
	if req.Mode == "" {
		req.Mode = connector.Append
	}
	var needNL bool
	tail := func(f *os.File, size int64) (int64, bool, error) {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err != nil {
			return 0, false, err
		}
		needNL = last[0] != '\n'
		return size, true, nil
	}
	sink, err := fileio.OpenSink(fileio.SinkOptions{Path: path, Name: cfg.Path, Mode: req.Mode, RunID: req.RunID, Resume: req.Resume, Tail: tail})
	if err != nil {
		return nil, err
	}
	if needNL {
		_, _ = sink.Write([]byte{'\n'})
	}
	return &writer{sink: sink, name: cfg.Path}, nil
}

type writer struct {
	enc  jsonrec.Encoder
	sink *fileio.Sink
	name string
	buf  []byte
}

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

func (w *writer) Commit(ctx context.Context) error                    { return w.sink.Commit() }
func (w *writer) CommitState() (json.RawMessage, error)               { return w.sink.CommitState() }
func (w *writer) ResumeAt(_ context.Context, t json.RawMessage) error { return w.sink.ResumeAt(t) }
func (w *writer) Close(ctx context.Context) error                     { return w.sink.Close() }
func (w *writer) Abort(ctx context.Context) error                     { return w.sink.Abort() }
