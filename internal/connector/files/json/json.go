package json

import (
	"bytes"
	"context"
	ejson "encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filekit"
	"github.com/dataaggregator/aggregator/internal/connector/internal/jsonrec"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Config is the JSON connector's configuration.
type Config struct {
	filekit.Source
	RecordsPath    string
	MaxRecordBytes int
}

// Connector is the JSON connector: filekit's file connector over the JSON format.
type Connector = filekit.Connector[*Config]

// New returns the JSON connector (type "json").
func New() *Connector { return filekit.NewConnector[Config](format{}) }

// format is the JSON array format; filekit.Connector does the rest.
type format struct{}

// Spec describes the connector.
func (format) Spec() connector.Spec {
	return filekit.ConnectorSpec("json", "JSON file",
		"Reads and writes a JSON array of objects, at the top level or at a path such as data.items (local path or upload; gzip input detected).",
		filekit.AppendOrOverwrite(),
		configspec.Describe(func(c *Config, b *configspec.Builder) {
			c.BindLocation(b, "File", "data/orders.json", true)
			b.String(&c.RecordsPath, "records_path").Default("").Pattern(`^([^.]+(\.[^.]+)*)?$`).
				Doc("Dot-separated object keys leading to the array of records (empty: the file is the array). Written files nest the array the same way.").
				Example("data.items")
			c.BindInferRows(b, 1, "Number of objects sampled to infer the fields and their types.")
			c.BindTypes(b, "Per-field type overrides, e.g. {amount: decimal}; a field named here but absent from the sample is added.")
			filekit.BindMaxRecordBytes(b, &c.MaxRecordBytes, "Largest array element (or skipped value on the way to records_path) accepted; a larger one fails the read with a clear error instead of being loaded.")
		}))
}

func (cfg *Config) keys() []string {
	if cfg.RecordsPath == "" {
		return nil
	}
	return strings.Split(cfg.RecordsPath, ".")
}

type state struct {
	Index int64 `json:"index"` // array elements consumed
}

type element struct {
	obj    []byte
	index  int64 // 1-based
	reason string
}

type reader struct {
	cfg                 *Config
	name                string
	filekit.InputCloser // Close
	win                 *filekit.Window
	sc                  *elemScanner
	dec                 *ejson.Decoder
	schema              *record.Schema
	conv                *jsonrec.Converter
	dups                *jsonrec.Duplicates
	q                   filekit.Batches[element]
	samples             []element // the inference sample, then q.Samples
	index               int64     // elements read from the decoder
	st                  state
	done                bool
}

// Reader opens the file and reads the inference sample (then seeks to the checkpoint, if any).
func (format) Reader(ctx context.Context, env connector.Env, cfg *Config, req connector.ReadRequest) (connector.Reader, error) {
	path, name, overrides, err := cfg.Resolve(ctx, env, req)
	if err != nil {
		return nil, err
	}
	r := &reader{cfg: cfg, name: name}
	if err := r.start(path); err != nil {
		return nil, err
	}
	r.samples, err = filekit.Sample(cfg.InferRows, func() (element, error) {
		el, err := r.element()
		el.obj = bytes.Clone(el.obj) // the scanner reuses its buffer
		return el, err
	})
	if err != nil {
		r.Close()
		return nil, err
	}
	inf := jsonrec.NewInferrer()
	for _, el := range r.samples {
		if el.reason == "" {
			_ = inf.Observe(el.obj)
		}
	}
	if r.schema, err = record.NewSchema(inf.Fields(overrides)...); err != nil {
		r.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(req.State) > 0 {
		if err := filekit.Checkpoint(name, req.State, &r.st); err != nil {
			r.Close()
			return nil, err
		}
		r.Close()
		r.samples, r.done = nil, false
		if err := r.start(path); err != nil {
			return nil, err
		}
		for r.index < r.st.Index {
			if _, err := r.element(); err != nil {
				r.Close()
				if errors.Is(err, io.EOF) {
					return nil, fmt.Errorf("%s: checkpoint at record %d but the array has only %d: %w", name, r.st.Index, r.index, connector.ErrNotFound)
				}
				return nil, err
			}
		}
	}
	r.q.B = record.NewBuilder(r.schema, filekit.BatchSize(req.BatchSize))
	r.q.Samples, r.samples = r.samples, nil
	r.q.From(r.sc.off)
	r.conv = jsonrec.NewConverter(r.schema)
	r.conv.WarnUnknown(env.Logger, name, cfg.InferRows)
	r.dups = r.conv.CountDuplicates(env.Logger, name, "record")
	return r, nil
}

// Close closes the file and logs how many duplicate keys were met, if any.
func (r *reader) Close() error {
	r.dups.Summary()
	return r.InputCloser.Close()
}

// start opens the file and walks to the first element of the records array.
func (r *reader) start(path string) error {
	in, err := filekit.Open(path, r.name)
	if err != nil {
		return err
	}
	r.In, r.index = in, 0
	r.win = &filekit.Window{R: in, Max: int64(r.cfg.MaxRecordBytes)}
	r.dec = ejson.NewDecoder(r.win)
	r.dec.UseNumber()
	if err := r.descend(); err != nil {
		in.Close()
		r.In = nil
		return err
	}
	// From the '[' on, elements are split by elemScanner (which caps them itself), reading what the
	// decoder had buffered first.
	r.win.Max = 1 << 62
	r.win.Mark(0)
	r.sc = newElemScanner(io.MultiReader(r.dec.Buffered(), r.win), r.dec.InputOffset(), r.cfg.MaxRecordBytes)
	return nil
}

func (r *reader) fail(what string, err error) error {
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if r.dec.InputOffset() == 0 {
			return fmt.Errorf("%s: the file is empty (want a JSON array)", r.name)
		}
		return fmt.Errorf("%s: unexpected end of the file at byte %d %s", r.name, r.dec.InputOffset(), what)
	case errors.Is(err, filekit.ErrRecordTooLarge):
		return fmt.Errorf("%s: %s at byte %d exceeds max_record_bytes (%d)", r.name, what, r.dec.InputOffset(), r.cfg.MaxRecordBytes)
	}
	return fmt.Errorf("%s: invalid JSON near byte %d %s: %s", r.name, r.dec.InputOffset(), what, strings.TrimPrefix(err.Error(), "json: "))
}

// descend consumes tokens up to and including the '[' of the records array.
func (r *reader) descend() error {
	for _, key := range r.cfg.keys() {
		r.win.Mark(r.dec.InputOffset())
		tok, err := r.dec.Token()
		if err != nil {
			return r.fail("(looking for records_path)", err)
		}
		if d, ok := tok.(ejson.Delim); !ok || d != '{' {
			return fmt.Errorf("%s: records_path %q: want an object holding %q, found %v: %w", r.name, r.cfg.RecordsPath, key, tok, connector.ErrNotFound)
		}
		found := false
		for r.dec.More() {
			r.win.Mark(r.dec.InputOffset())
			k, err := r.dec.Token()
			if err != nil {
				return r.fail("(looking for records_path)", err)
			}
			if k == key {
				found = true
				break
			}
			if err := r.skip(); err != nil {
				return r.fail("(looking for records_path)", err)
			}
		}
		if !found {
			return fmt.Errorf("%s: records_path %q: key %q not found: %w", r.name, r.cfg.RecordsPath, key, connector.ErrNotFound)
		}
	}
	r.win.Mark(r.dec.InputOffset())
	tok, err := r.dec.Token()
	if err != nil {
		return r.fail("(want an array of records)", err)
	}
	if d, ok := tok.(ejson.Delim); !ok || d != '[' {
		where := "at the top level"
		if r.cfg.RecordsPath != "" {
			where = "at records_path " + r.cfg.RecordsPath
		}
		return fmt.Errorf("%s: want an array of records %s, found %v", r.name, where, tok)
	}
	return nil
}

// skip consumes one value token by token, so that skipping never holds more than one token.
func (r *reader) skip() error {
	depth := 0
	for {
		r.win.Mark(r.dec.InputOffset())
		tok, err := r.dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(ejson.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// element returns the next array element (its bytes valid until the next call).
func (r *reader) element() (element, error) {
	if r.done {
		return element{}, io.EOF
	}
	val, at, err := r.sc.next()
	if errors.Is(err, io.EOF) {
		r.done = true
		return element{}, io.EOF
	}
	what := func() string { return fmt.Sprintf("(record %d)", r.index+1) }
	switch {
	case errors.Is(err, errTruncated):
		return element{}, fmt.Errorf("%s: unexpected end of the file at byte %d %s", r.name, at, what())
	case errors.Is(err, filekit.ErrRecordTooLarge):
		return element{}, fmt.Errorf("%s: %s at byte %d exceeds max_record_bytes (%d)", r.name, what(), at, r.cfg.MaxRecordBytes)
	case err != nil:
		return element{}, fmt.Errorf("%s: invalid JSON near byte %d %s: %v", r.name, at, what(), err)
	}
	if !ejson.Valid(val) {
		var v any
		err := ejson.Unmarshal(val, &v)
		return element{}, fmt.Errorf("%s: invalid JSON near byte %d %s: %s", r.name, at, what(), strings.TrimPrefix(fmt.Sprint(err), "json: "))
	}
	r.index++
	el := element{obj: val, index: r.index}
	if val[0] != '{' {
		el.reason = fmt.Sprintf("record %d is not a JSON object", r.index)
	}
	return el, nil
}

func (r *reader) Schema() *record.Schema           { return r.schema }
func (r *reader) State() (ejson.RawMessage, error) { return ejson.Marshal(r.st) }

func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	r.conv.NewBatch()
	return r.q.Next(ctx, r.element, r.add, func() int64 { return r.sc.off })
}

func (r *reader) add(el element) {
	r.conv.Add(r.q.B, r.name, el.index, el.obj, el.reason)
	r.st.Index = el.index
}

// header and footer wrap the records array in the records_path objects.
func header(keys []string) []byte {
	var b []byte
	for _, k := range keys {
		b = append(b, '{')
		b = record.AppendJSONString(b, k)
		b = append(b, ':')
	}
	return append(b, "[\n"...)
}

func footer(keys []string) []byte {
	b := []byte("\n]")
	for range keys {
		b = append(b, '}')
	}
	return append(b, '\n')
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
	keys := cfg.keys()
	foot := footer(keys)
	tail := func(f *os.File, size int64) (int64, bool, error) {
		n := min(size, 64<<10)
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, size-n); err != nil {
			return 0, false, err
		}
		t := bytes.TrimRight(buf, " \t\r\n")
		want := bytes.TrimSpace(foot)
		if !bytes.HasSuffix(t, want) {
			return 0, false, fmt.Errorf("the file does not end with %q: not a JSON array written with this records_path", want)
		}
		t = bytes.TrimRight(t[:len(t)-len(want)], " \t\r\n")
		if len(t) == 0 {
			return 0, false, errors.New("the file does not hold a JSON array")
		}
		return size - n + int64(len(t)), t[len(t)-1] != '[', nil
	}
	sink, err := filekit.OpenSink(filekit.SinkOptions{Path: path, Name: cfg.Path, Mode: req.Mode, RunID: req.RunID, Resume: req.Resume, Tail: tail, Footer: foot})
	if err != nil {
		return nil, err
	}
	if sink.Offset() == 0 {
		if _, err := sink.Write(header(keys)); err != nil {
			sink.Abort()
			return nil, err
		}
		if err := sink.Commit(); err != nil {
			sink.Abort()
			return nil, err
		}
	}
	return &writer{SinkWriter: filekit.SinkWriter{Sink: sink}, sink: sink}, nil
}

type writer struct {
	filekit.SinkWriter // Commit, CommitState, ResumeAt, Close, Abort
	enc                jsonrec.Encoder
	sink               *filekit.Sink
	buf                []byte
}

var _ connector.ResumableWriter = (*writer)(nil)

func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	buf := w.buf[:0]
	for _, row := range b.Rows {
		if w.sink.HasRecords() {
			buf = append(buf, ",\n"...)
		}
		buf = w.enc.Append(buf, b.Schema, row)
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
