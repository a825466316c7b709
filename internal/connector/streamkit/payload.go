package streamkit

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector/internal/jsonrec"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Formats of a message payload.
const (
	JSON   = "json"   // one JSON object per message
	NDJSON = "ndjson" // one JSON object per line of a message
	CSV    = "csv"    // one CSV line (no header) per line of a message; columns are the declared fields
	Raw    = "raw"    // the payload as it is, in the field "value"
)

// FieldConfig declares one payload field.
type FieldConfig struct {
	Name string
	Type string
}

// Payload says how message payloads become rows (sources) and rows payloads (sinks).
type Payload struct {
	Format    string
	Fields    []FieldConfig
	Delimiter string
	// ValueField (sinks, format raw) is the field whose value is the payload.
	ValueField string
}

// Bind declares the payload parameters on b (one set for sources and sinks).
func (p *Payload) Bind(b *configspec.Builder) {
	b.String(&p.Format, "format").Default(JSON).Enum(JSON, NDJSON, CSV, Raw).
		Doc("Payload format. Source: json (one object per message), ndjson (one object per line of a message), csv (one line per record, columns as declared in fields, no header), raw (the payload as text in the field value). Destination: each record as one JSON object (ndjson: with a trailing newline), one CSV line in schema order, or raw: the text of value_field.")
	configspec.List(b, &p.Fields, "fields", func(c *FieldConfig, b *configspec.Builder) {
		b.String(&c.Name, "name").Required().Min(1).Doc("Field name (a key of the JSON object; for csv, the column in this position).")
		b.String(&c.Type, "type").Default("string").Enum(kindNames()...).Doc("Field type.")
	}).Doc("Source: the payload fields, in order, with their types. json/ndjson: keys not listed are ignored; without fields the whole object arrives as one json field named value. csv: required.")
	b.String(&p.Delimiter, "delimiter").Default(",").Doc("csv: the field delimiter (one character).")
	b.String(&p.ValueField, "value_field").Doc("Destination, format raw: the field whose text is the payload (default value).")
}

func kindNames() []string {
	var out []string
	for _, k := range record.Kinds() {
		if k != record.KindNull {
			out = append(out, k.String())
		}
	}
	return out
}

// ValueFieldName is the field a raw payload (or an undeclared JSON payload) arrives in.
const ValueFieldName = "value"

// Decoder turns message payloads into rows: the payload fields first, then the connector's
// metadata fields.
type Decoder struct {
	schema  *record.Schema
	format  string
	payload []record.Field
	idx     map[string]int
	whole   bool // json/ndjson without declared fields: the object is the field value
	delim   rune
	// conv turns a JSON object into the payload fields of a row (json/ndjson with declared
	// fields); its strings live in an arena that a new batch replaces (used: since the last one).
	conv *jsonrec.Converter
	used bool
}

// NewDecoder checks the payload configuration (problems name their key) and builds a Decoder whose
// schema is the payload fields followed by meta.
func NewDecoder(p Payload, meta []record.Field) (*Decoder, error) {
	d := &Decoder{format: p.Format, idx: map[string]int{}, delim: ','}
	if d.format == "" {
		d.format = JSON
	}
	if p.Delimiter != "" {
		r, n := utf8.DecodeRuneInString(p.Delimiter)
		if n != len(p.Delimiter) || r == '"' || r == '\n' || r == '\r' {
			return nil, fmt.Errorf("delimiter: must be one character other than a quote or a line break, got %q", p.Delimiter)
		}
		d.delim = r
	}
	for i, f := range p.Fields {
		k := record.KindString
		if f.Type != "" {
			var err error
			if k, err = record.ParseKind(f.Type); err != nil {
				return nil, fmt.Errorf("fields[%d].type: %v", i, err)
			}
		}
		d.idx[f.Name] = len(d.payload)
		d.payload = append(d.payload, record.Field{Name: f.Name, Kind: k, Nullable: true})
	}
	switch d.format {
	case Raw:
		if len(p.Fields) > 0 {
			return nil, errors.New("fields: not used with format raw (the payload arrives in the field value)")
		}
		d.payload = []record.Field{{Name: ValueFieldName, Kind: record.KindString, Nullable: true}}
	case JSON, NDJSON:
		if len(p.Fields) == 0 {
			d.whole = true
			d.payload = []record.Field{{Name: ValueFieldName, Kind: record.KindJSON, Nullable: true}}
		}
	case CSV:
		if len(p.Fields) == 0 {
			return nil, errors.New("fields: required with format csv (the columns, in order)")
		}
	default:
		return nil, fmt.Errorf("format: must be json, ndjson, csv or raw, got %q", d.format)
	}
	all := append(append([]record.Field(nil), d.payload...), meta...)
	s, err := record.NewSchema(all...)
	if err != nil {
		return nil, fmt.Errorf("fields: %v (the metadata fields are %s)", err, fieldNames(meta))
	}
	d.schema = s
	if (d.format == JSON || d.format == NDJSON) && !d.whole {
		ps, err := record.NewSchema(d.payload...)
		if err != nil {
			return nil, fmt.Errorf("fields: %v", err)
		}
		d.conv = jsonrec.NewConverter(ps)
	}
	return d, nil
}

func fieldNames(fs []record.Field) string {
	n := make([]string, len(fs))
	for i, f := range fs {
		n[i] = f.Name
	}
	return strings.Join(n, ", ")
}

// Schema is the schema of the rows the decoder makes.
func (d *Decoder) Schema() *record.Schema { return d.schema }

// PayloadFields is the number of payload fields (the metadata fields follow them).
func (d *Decoder) PayloadFields() int { return len(d.payload) }

// Add decodes one message's payload into rows of b. pos is the message's position (offset or stream
// sequence) and source names where it came from (topic/partition, stream); both go into rejects.
// meta fills a row's metadata fields (row[PayloadFields():]). It returns the number of rows added.
func (d *Decoder) Add(b *record.Builder, payload []byte, pos int64, source string, meta func(record.Row)) int {
	return d.AddFrom(b, payload, pos, func() string { return source }, meta)
}

// AddFrom is Add with the message's source given by a function that is called only for a reject,
// so that a reader need not build a name for every message.
func (d *Decoder) AddFrom(b *record.Builder, payload []byte, pos int64, source func() string, meta func(record.Row)) int {
	b.AddBytes(int64(len(payload)))
	switch d.format {
	case Raw:
		r := b.Row(pos)
		r[0] = record.String(string(payload))
		meta(r[len(d.payload):])
		return 1
	case JSON:
		return d.addJSON(b, bytes.TrimSpace(payload), pos, source, meta)
	case NDJSON:
		n := 0
		for line := range bytes.SplitSeq(payload, []byte("\n")) {
			if line = bytes.TrimSpace(line); len(line) == 0 {
				continue
			}
			n += d.addJSON(b, line, pos, source, meta)
		}
		return n
	}
	return d.addCSV(b, payload, pos, source, meta)
}

func reject(b *record.Builder, pos int64, source func() string, field, reason string, raw []byte) {
	const maxRaw = 4096
	if len(raw) > maxRaw {
		raw = raw[:maxRaw]
	}
	b.Reject(record.Reject{Source: source(), Pos: pos, Field: field, Reason: reason, Raw: strings.ToValidUTF8(string(raw), "\uFFFD")})
}

func (d *Decoder) addJSON(b *record.Builder, obj []byte, pos int64, source func() string, meta func(record.Row)) int {
	if d.whole {
		if len(obj) == 0 || !json.Valid(obj) {
			reject(b, pos, source, "", "payload is not valid JSON", obj)
			return 0
		}
		r := b.Row(pos)
		r[0] = record.JSON(string(obj))
		meta(r[1:])
		return 1
	}
	if !json.Valid(obj) || len(obj) == 0 || obj[0] != '{' {
		reason := "payload is not a JSON object"
		var m map[string]json.RawMessage
		if err := json.Unmarshal(obj, &m); err != nil {
			reason += ": " + err.Error()
		}
		reject(b, pos, source, "", reason, obj)
		return 0
	}
	if b.Len() == 0 && d.used {
		d.conv.NewBatch() // the rows of the batches taken keep the previous arena
	}
	d.used = true
	r := b.Row(pos)
	field, reason, err := d.conv.Row(obj, r[:len(d.payload)])
	if err != nil {
		reason = err.Error()
	}
	if reason != "" {
		b.Unrow()
		reject(b, pos, source, field, reason, obj)
		return 0
	}
	meta(r[len(d.payload):])
	return 1
}

func (d *Decoder) addCSV(b *record.Builder, payload []byte, pos int64, source func() string, meta func(record.Row)) int {
	cr := csv.NewReader(bytes.NewReader(payload))
	cr.Comma = d.delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	n := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return n
		}
		if err != nil {
			reject(b, pos, source, "", "payload is not valid CSV: "+err.Error(), payload)
			return n
		}
		if len(rec) != len(d.payload) {
			reject(b, pos, source, "", fmt.Sprintf("%d columns, want %d (%s)", len(rec), len(d.payload), fieldNames(d.payload)), payload)
			continue
		}
		r := b.Row(pos)
		ok := true
		for i, f := range d.payload {
			v, err := record.Parse(rec[i], f.Kind)
			if err != nil {
				b.Unrow()
				reject(b, pos, source, f.Name, err.Error(), payload)
				ok = false
				break
			}
			r[i] = v
		}
		if ok {
			meta(r[len(d.payload):])
			n++
		}
	}
}

// Encoder turns rows into payloads.
type Encoder struct {
	format string
	schema *record.Schema
	names  [][]byte // quoted JSON keys
	value  int      // raw: the value field's index
	delim  byte
}

// NewEncoder checks the payload configuration of a sink against the schema it writes.
func NewEncoder(p Payload, s *record.Schema) (*Encoder, error) {
	e := &Encoder{format: p.Format, schema: s, delim: ','}
	if e.format == "" {
		e.format = JSON
	}
	if p.Delimiter != "" {
		if len(p.Delimiter) != 1 || p.Delimiter[0] == '"' || p.Delimiter[0] == '\n' {
			return nil, fmt.Errorf("delimiter: must be one ASCII character other than a quote or a line break, got %q", p.Delimiter)
		}
		e.delim = p.Delimiter[0]
	}
	for _, f := range s.Fields {
		e.names = append(e.names, record.AppendJSONString(nil, f.Name))
	}
	if e.format == Raw {
		vf := p.ValueField
		if vf == "" {
			vf = ValueFieldName
		}
		if e.value = s.Index(vf); e.value < 0 {
			return nil, fmt.Errorf("value_field: the input has no field %q (fields: %s)", vf, strings.Join(s.Names(), ", "))
		}
	}
	return e, nil
}

// Append appends row's payload to dst.
func (e *Encoder) Append(dst []byte, row record.Row) []byte {
	switch e.format {
	case Raw:
		return row[e.value].AppendText(dst)
	case CSV:
		for i, v := range row {
			if i > 0 {
				dst = append(dst, e.delim)
			}
			dst = appendCSVField(dst, v.AppendFileText(nil), e.delim)
		}
		return dst
	}
	dst = append(dst, '{')
	for i, v := range row {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, e.names[i]...)
		dst = append(dst, ':')
		dst = v.AppendJSON(dst)
	}
	dst = append(dst, '}')
	if e.format == NDJSON {
		dst = append(dst, '\n')
	}
	return dst
}

func appendCSVField(dst, f []byte, delim byte) []byte {
	if !bytes.ContainsAny(f, "\"\r\n") && bytes.IndexByte(f, delim) < 0 && (len(f) == 0 || (f[0] != ' ' && f[0] != '\t')) {
		return append(dst, f...)
	}
	dst = append(dst, '"')
	for _, c := range f {
		if c == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}
