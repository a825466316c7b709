package xml

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/ianaindex"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filekit"
	"github.com/dataaggregator/aggregator/internal/connector/internal/rowkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Config is the XML connector's configuration.
type Config struct {
	filekit.Source
	RecordPath     string
	MaxRecordBytes int
}

// Connector is the XML connector: filekit's file connector over the XML records format.
type Connector = filekit.Connector[*Config]

// New returns the XML connector (type "xml").
func New() *Connector { return filekit.NewConnector[Config](format{}) }

// format is the XML records format; filekit.Connector does the rest.
type format struct{}

// Spec describes the connector.
func (format) Spec() connector.Spec {
	return filekit.ConnectorSpec("xml", "XML file",
		"Reads and writes repeating XML elements as records, flattening attributes and nested elements to fields (local path or upload; gzip input detected).",
		filekit.AppendOrOverwrite(),
		configspec.Describe(func(c *Config, b *configspec.Builder) {
			c.BindLocation(b, "File", "data/orders.xml", true)
			b.String(&c.RecordPath, "record_path").Default("records/record").Pattern(`^[^/\s]+(/[^/\s]+)+$`).
				Doc("Slash-separated element names from the root element to the repeating record element (at least two).").
				Example("orders/order")
			c.BindInferRows(b, 0, "Number of records sampled to infer the fields and their types (0: every field is a string).")
			c.BindTypes(b, "Per-field type overrides by flattened name, e.g. {\"@id\": int, customer.since: date}.")
			filekit.BindMaxRecordBytes(b, &c.MaxRecordBytes, "Largest record element (or text node) accepted; a larger one fails the read with a clear error instead of being loaded.")
		}))
}

type state struct {
	Index int64 `json:"index"` // records consumed
}

// rec is one flattened record.
type rec struct {
	line  int64
	index int64
	names []string // in order of first appearance
	vals  map[string][]string
}

func (r *rec) add(name, val string) {
	if _, ok := r.vals[name]; !ok {
		r.names = append(r.names, name)
	}
	r.vals[name] = append(r.vals[name], val)
}

// text returns a field's text: its value, a JSON array for a repeated element, ok false when absent.
func (r *rec) text(name string) (string, bool) {
	v, ok := r.vals[name]
	switch {
	case !ok:
		return "", false
	case len(v) == 1:
		return v[0], true
	}
	b, _ := json.Marshal(v)
	return string(b), true
}

type reader struct {
	cfg                 *Config
	path                []string
	name                string
	filekit.InputCloser // Close
	win                 *filekit.Window
	dec                 *xml.Decoder
	stack               []string
	schema              *record.Schema
	kinds               []record.Kind
	q                   filekit.Batches[*rec]
	samples             []*rec // the inference sample, then q.Samples
	index               int64
	st                  state
	done                bool
	sc                  scratch
	log                 *slog.Logger
	unknown             map[string]bool // fields reported as not in the schema
}

// Reader opens the file and reads the inference sample (then seeks to the checkpoint, if any).
func (format) Reader(ctx context.Context, env connector.Env, cfg *Config, req connector.ReadRequest) (connector.Reader, error) {
	path, name, overrides, err := cfg.Resolve(ctx, env, req)
	if err != nil {
		return nil, err
	}
	r := &reader{cfg: cfg, name: name, path: strings.Split(cfg.RecordPath, "/"), log: env.Logger}
	if err := r.start(path); err != nil {
		return nil, err
	}
	if r.samples, err = filekit.Sample(max(cfg.InferRows, 1), r.record); err != nil {
		r.Close()
		return nil, err
	}
	var names []string
	seen := map[string]bool{}
	for _, rc := range r.samples {
		for _, n := range rc.names {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	names = filekit.Declared(names, overrides)
	texts := func(yield func([]string) bool) {
		row := make([]string, len(names))
		for _, rc := range r.samples {
			for i, n := range names {
				row[i], _ = rc.text(n)
			}
			if !yield(row) {
				return
			}
		}
	}
	if r.schema, r.kinds, err = filekit.TextSchema(name, names, overrides, cfg.InferRows, texts); err != nil {
		r.Close()
		return nil, err
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
			if _, err := r.record(); err != nil {
				r.Close()
				if errors.Is(err, io.EOF) {
					return nil, fmt.Errorf("%s: checkpoint at record %d but the file has only %d: %w", name, r.st.Index, r.index, connector.ErrNotFound)
				}
				return nil, err
			}
		}
	}
	r.q.B = record.NewBuilder(r.schema, filekit.BatchSize(req.BatchSize))
	r.q.Samples, r.samples = r.samples, nil
	r.q.From(r.dec.InputOffset())
	return r, nil
}

func (r *reader) start(path string) error {
	in, err := filekit.Open(path, r.name)
	if err != nil {
		return err
	}
	r.In, r.index, r.stack = in, 0, r.stack[:0]
	r.win = &filekit.Window{R: in, Max: int64(r.cfg.MaxRecordBytes)}
	r.dec = xml.NewDecoder(r.win)
	r.dec.CharsetReader = func(label string, input io.Reader) (io.Reader, error) {
		enc, err := ianaindex.IANA.Encoding(label)
		if err != nil || enc == nil {
			return nil, fmt.Errorf("unsupported encoding %q", label)
		}
		return enc.NewDecoder().Reader(input), nil
	}
	return nil
}

func (r *reader) fail(err error) error {
	line, _ := r.dec.InputPos()
	var se *xml.SyntaxError
	switch {
	case errors.Is(err, filekit.ErrRecordTooLarge):
		return fmt.Errorf("%s: line %d: record %d exceeds max_record_bytes (%d)", r.name, line, r.index+1, r.cfg.MaxRecordBytes)
	case errors.As(err, &se):
		return fmt.Errorf("%s: line %d: XML is not well-formed: %s", r.name, se.Line, se.Msg)
	case errors.Is(err, io.EOF) && r.dec.InputOffset() == 0:
		return fmt.Errorf("%s: the file is empty (want an XML document)", r.name)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: line %d: unexpected end of the file (unclosed <%s>)", r.name, line, strings.Join(r.stack, "><"))
	}
	return fmt.Errorf("%s: line %d: %w", r.name, line, err)
}

func (r *reader) atRecord() bool {
	if len(r.stack) != len(r.path) {
		return false
	}
	for i := range r.path {
		if r.stack[i] != r.path[i] {
			return false
		}
	}
	return true
}

// record reads up to the next record element and flattens it.
func (r *reader) record() (*rec, error) {
	if r.done {
		return nil, io.EOF
	}
	for {
		r.win.Mark(r.dec.InputOffset())
		tok, err := r.dec.Token()
		if errors.Is(err, io.EOF) && len(r.stack) == 0 && r.dec.InputOffset() > 0 {
			r.done = true
			return nil, io.EOF
		}
		if err != nil {
			return nil, r.fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(r.stack) == 0 && t.Name.Local != r.path[0] {
				return nil, fmt.Errorf("%s: record_path %s: the root element is <%s>, not <%s>: %w", r.name, r.cfg.RecordPath, t.Name.Local, r.path[0], connector.ErrNotFound)
			}
			r.stack = append(r.stack, t.Name.Local)
			if r.atRecord() {
				line, _ := r.dec.InputPos()
				rc, err := r.flatten(t)
				if err != nil {
					return nil, err
				}
				r.stack = r.stack[:len(r.stack)-1]
				r.index++
				rc.index, rc.line = r.index, int64(line)
				return rc, nil
			}
			if d := len(r.stack); d > len(r.path) || r.stack[d-1] != r.path[d-1] {
				// Not on the way to the records: skip the element token by token.
				if err := r.skip(); err != nil {
					return nil, r.fail(err)
				}
				r.stack = r.stack[:len(r.stack)-1]
			}
		case xml.EndElement:
			if len(r.stack) > 0 {
				r.stack = r.stack[:len(r.stack)-1]
			}
		}
	}
}

func (r *reader) skip() error {
	depth := 1
	for depth > 0 {
		r.win.Mark(r.dec.InputOffset())
		tok, err := r.dec.Token()
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// flatten reads the record element started by start to its end.
func (r *reader) flatten(start xml.StartElement) (*rec, error) {
	rc := &rec{vals: make(map[string][]string, len(r.kinds))}
	sc := &r.sc
	if sc.intern == nil {
		sc.intern = map[string]string{}
	}
	sc.pb, sc.plens, sc.kids = sc.pb[:0], sc.plens[:0], sc.kids[:0]
	sc.texts = sc.texts[:0]
	for _, a := range start.Attr {
		sc.pb = append(append(sc.pb[:0], '@'), a.Name.Local...)
		rc.add(sc.name(sc.pb), a.Value)
	}
	sc.pb = sc.pb[:0]
	sc.push()
	for {
		tok, err := r.dec.Token()
		if err != nil {
			return nil, r.fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			sc.kids[len(sc.kids)-1] = true
			base := len(sc.pb)
			if len(sc.plens) > 0 {
				sc.pb = append(sc.pb, '.')
			}
			sc.pb = append(sc.pb, t.Name.Local...)
			sc.plens = append(sc.plens, base)
			for _, a := range t.Attr {
				n := len(sc.pb)
				sc.pb = append(append(sc.pb, ".@"...), a.Name.Local...)
				rc.add(sc.name(sc.pb), a.Value)
				sc.pb = sc.pb[:n]
			}
			sc.push()
		case xml.CharData:
			d := len(sc.texts) - 1
			sc.texts[d] = append(sc.texts[d], t...)
		case xml.EndElement:
			d := len(sc.texts) - 1
			txt, kids := sc.texts[d], sc.kids[d]
			sc.texts, sc.kids = sc.texts[:d], sc.kids[:d]
			blank := len(bytes.TrimSpace(txt)) == 0
			if d == 0 {
				if !blank {
					rc.add("#text", string(txt))
				}
				return rc, nil
			}
			if !blank || !kids {
				rc.add(sc.name(sc.pb), string(txt))
			}
			sc.pb = sc.pb[:sc.plens[len(sc.plens)-1]]
			sc.plens = sc.plens[:len(sc.plens)-1]
		}
	}
}

// scratch holds the buffers flatten reuses from record to record.
type scratch struct {
	pb     []byte   // the current element path, joined by "."
	plens  []int    // len(pb) before each open element
	texts  [][]byte // the text of each open element
	kids   []bool   // whether each open element has child elements
	intern map[string]string
}

func (sc *scratch) push() {
	d := len(sc.texts)
	if d < cap(sc.texts) {
		sc.texts = sc.texts[:d+1]
		sc.texts[d] = sc.texts[d][:0]
	} else {
		sc.texts = append(sc.texts, nil)
	}
	sc.kids = append(sc.kids, false)
}

// name returns the field name for b, allocating it once.
func (sc *scratch) name(b []byte) string {
	if s, ok := sc.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(sc.intern) < 100_000 {
		sc.intern[s] = s
	}
	return s
}

func (r *reader) Schema() *record.Schema          { return r.schema }
func (r *reader) State() (json.RawMessage, error) { return json.Marshal(r.st) }

func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	return r.q.Next(ctx, r.record, r.add, r.dec.InputOffset)
}

func (r *reader) add(rc *rec) {
	if r.log != nil && len(r.unknown) < 100 {
		for _, n := range rc.names {
			if r.schema.Index(n) < 0 && !r.unknown[n] {
				if r.unknown == nil {
					r.unknown = map[string]bool{}
				}
				r.unknown[n] = true
				r.log.Warn("field not in the schema inferred from the sample is ignored; declare it in types to read it",
					"file", r.name, "field", n, "line", rc.line, "infer_rows", r.cfg.InferRows)
			}
		}
	}
	r.st.Index = rc.index
	row := r.q.B.Row(rc.line)
	for i, f := range r.schema.Fields {
		s, ok := rc.text(f.Name)
		if !ok {
			continue
		}
		v, err := parse(s, r.kinds[i])
		if err != nil {
			r.q.B.Unrow()
			r.q.B.Reject(record.Reject{Source: r.name, Pos: rc.line, Field: f.Name, Reason: err.Error(), Values: rc.flat()})
			return
		}
		row[i] = v
	}
}

func parse(s string, k record.Kind) (record.Value, error) {
	if k == record.KindBytes {
		if s == "" {
			return record.BytesString(""), nil
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		if err != nil {
			return record.Null, fmt.Errorf("invalid base64 for a bytes field: %w", err)
		}
		return record.Bytes(b), nil
	}
	return record.Parse(s, k)
}

func (rc *rec) flat() map[string]string {
	m := make(map[string]string, len(rc.names))
	for _, n := range rc.names {
		s, _ := rc.text(n)
		m[n] = rowkit.Truncate(s, 256)
	}
	return m
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
	parts := strings.Split(cfg.RecordPath, "/")
	for _, p := range parts {
		if !validName(p) {
			return nil, connector.ConfigError(fmt.Errorf("record_path: %q is not a valid XML element name", p))
		}
	}
	containers := parts[:len(parts)-1]
	var head, foot []byte
	head = append(head, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"...)
	for _, p := range containers {
		head = append(head, "<"+p+">"...)
	}
	head = append(head, '\n')
	for i := len(containers) - 1; i >= 0; i-- {
		foot = append(foot, "</"+containers[i]+">"...)
	}
	foot = append(foot, '\n')
	tail := func(f *os.File, size int64) (int64, bool, error) {
		n := min(size, 64<<10)
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, size-n); err != nil {
			return 0, false, err
		}
		t := bytes.TrimRight(buf, " \t\r\n")
		want := bytes.TrimSpace(foot)
		if !bytes.HasSuffix(t, want) {
			return 0, false, fmt.Errorf("the file does not end with %s: not written with this record_path", want)
		}
		t = t[:len(t)-len(want)]
		return size - n + int64(len(t)), bytes.Contains(buf, []byte("<"+parts[len(parts)-1])), nil
	}
	sink, err := filekit.OpenSink(filekit.SinkOptions{Path: path, Name: cfg.Path, Mode: req.Mode, RunID: req.RunID, Resume: req.Resume, Tail: tail, Footer: foot})
	if err != nil {
		return nil, err
	}
	if sink.Offset() == 0 {
		if _, err := sink.Write(head); err != nil {
			sink.Abort()
			return nil, err
		}
		if err := sink.Commit(); err != nil {
			sink.Abort()
			return nil, err
		}
	}
	return &writer{SinkWriter: filekit.SinkWriter{Sink: sink}, sink: sink, elem: parts[len(parts)-1], name: cfg.Path}, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c > 0x7f || (i > 0 && (c == '-' || c == '.' || c >= '0' && c <= '9'))
		if !ok || c == ':' {
			return false
		}
	}
	return true
}

type writer struct {
	filekit.SinkWriter // Commit, CommitState, ResumeAt, Close, Abort
	sink               *filekit.Sink
	elem               string
	name               string
	buf                []byte
	schema             *record.Schema
	plan               []fieldPlan
}

var _ connector.ResumableWriter = (*writer)(nil)

// fieldPlan says how one field is written: as an attribute of the record, or at a path of elements.
type fieldPlan struct {
	attr string
	path []string
}

func (w *writer) planFor(s *record.Schema) error {
	if w.schema == s {
		return nil
	}
	w.plan = w.plan[:0]
	for _, f := range s.Fields {
		if a, ok := strings.CutPrefix(f.Name, "@"); ok && validName(a) {
			w.plan = append(w.plan, fieldPlan{attr: a})
			continue
		}
		var path []string
		for _, p := range strings.Split(f.Name, ".") {
			if !validName(p) {
				return fmt.Errorf("%s: field %q cannot be an XML element name (rename it with a map transform)", w.name, f.Name)
			}
			path = append(path, p)
		}
		w.plan = append(w.plan, fieldPlan{path: path})
	}
	w.schema = s
	return nil
}

func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.planFor(b.Schema); err != nil {
		return err
	}
	buf := w.buf[:0]
	var open []string
	for _, row := range b.Rows {
		buf = append(append(buf, "  <"...), w.elem...)
		for j, p := range w.plan {
			if p.attr != "" && !row[j].IsNull() {
				buf = append(buf, ' ')
				buf = append(buf, p.attr...)
				buf = append(buf, `="`...)
				buf = appendValue(buf, row[j])
				buf = append(buf, '"')
			}
		}
		buf = append(buf, '>')
		open = open[:0]
		for j, p := range w.plan {
			if p.attr != "" || row[j].IsNull() {
				continue
			}
			// Close elements not shared with this field's path, open the rest.
			common := 0
			for common < len(open) && common < len(p.path)-1 && open[common] == p.path[common] {
				common++
			}
			for k := len(open) - 1; k >= common; k-- {
				buf = closeTag(buf, open[k])
			}
			open = open[:common]
			for _, e := range p.path[common : len(p.path)-1] {
				buf = openTag(buf, e)
				open = append(open, e)
			}
			leaf := p.path[len(p.path)-1]
			buf = openTag(buf, leaf)
			buf = appendValue(buf, row[j])
			buf = closeTag(buf, leaf)
		}
		for k := len(open) - 1; k >= 0; k-- {
			buf = closeTag(buf, open[k])
		}
		buf = append(closeTag(buf, w.elem), '\n')
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

func openTag(dst []byte, name string) []byte {
	return append(append(append(dst, '<'), name...), '>')
}

func closeTag(dst []byte, name string) []byte {
	return append(append(append(dst, "</"...), name...), '>')
}

// appendValue appends a value's text, escaped: bytes as base64, the rest as Value.AppendFileText.
func appendValue(dst []byte, v record.Value) []byte {
	if v.Kind() == record.KindBytes {
		return appendEscaped(dst, base64.StdEncoding.EncodeToString(v.AsBytes()))
	}
	switch v.Kind() {
	case record.KindString, record.KindDecimal, record.KindJSON:
		return appendEscaped(dst, v.Str())
	}
	return v.AppendFileText(dst) // numbers, booleans, dates and timestamps need no escaping
}

// appendEscaped escapes text for element content and attribute values as xml.EscapeText does:
// markup characters and tab, newline and carriage return as references, characters XML cannot
// hold (and invalid UTF-8) as U+FFFD.
func appendEscaped(dst []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch r {
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			if !isInCharacterRange(r) || (r == utf8.RuneError && width == 1) {
				esc = "\uFFFD"
				break
			}
			i += width
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		i += width
		last = i
	}
	return append(dst, s[last:]...)
}

// isInCharacterRange reports whether r may appear in an XML document.
func isInCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
