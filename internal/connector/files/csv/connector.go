package csv

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filekit"
)

// Config is a CSV connector's configuration (see Spec for each field's meaning).
type Config struct {
	filekit.Source
	Delimiter      string
	Quote          string
	Header         bool
	Columns        []string
	Encoding       string
	BOM            bool
	NullValues     []string
	MaxRecordBytes int
}

// Connector is the CSV (or TSV) file connector, a source and a destination: filekit's file connector
// (Check, Discover, Open, OpenWriter) over the delimited text format.
type Connector struct {
	*filekit.Connector[*settings]
	name, title, delim string
}

// New returns the CSV connector (type "csv", delimiter ",").
func New() *Connector { return newConnector("csv", "CSV file", ",") }

// NewTSV returns the TSV connector (type "tsv"): the CSV connector with a tab delimiter by default.
func NewTSV() *Connector { return newConnector("tsv", "TSV file", "\t") }

func newConnector(name, title, delim string) *Connector {
	c := &Connector{name: name, title: title, delim: delim}
	c.Connector = filekit.NewConnectorWith[*settings](format{c}, c.decode)
	return c
}

var (
	_ connector.Source          = (*Connector)(nil)
	_ connector.Destination     = (*Connector)(nil)
	_ connector.Checker         = (*Connector)(nil)
	_ connector.Discoverer      = (*Connector)(nil)
	_ filekit.Format[*settings] = format{}
)

// DefaultMaxRecordBytes caps one record (a line, or several for quoted newlines).
const DefaultMaxRecordBytes = filekit.DefaultMaxRecordBytes

// Spec describes the connector and its configuration.
func (c *Connector) Spec() connector.Spec {
	return filekit.ConnectorSpec(c.name, c.title,
		"Reads and writes delimited text files (local path or upload; gzip input detected), with type inference, null tokens, UTF-8, Latin-1 or Windows-1252.",
		filekit.AppendOrOverwrite(),
		configspec.Describe(func(cfg *Config, b *configspec.Builder) {
			cfg.BindLocation(b, "File", "data/orders.csv", true)
			b.String(&cfg.Delimiter, "delimiter").Default(c.delim).Doc("Field delimiter: one character (use \"\\t\" for tab).")
			b.String(&cfg.Quote, "quote").Default(`"`).Doc("Quote character; empty disables quoting. A quote inside a quoted field is doubled.")
			b.Bool(&cfg.Header, "header").Default(true).Doc("The first line holds the column names (read), and is written (write).")
			b.Strings(&cfg.Columns, "columns").Doc("Column names: required names when header is false; with a header they rename its columns in order.")
			b.String(&cfg.Encoding, "encoding").Default("utf-8").Enum("utf-8", "latin-1", "windows-1252").Doc("Text encoding of the file. Invalid UTF-8 rejects the row; Latin-1 (ISO-8859-1) and Windows-1252 are converted to UTF-8 when read and back when written (a character they cannot hold rejects the row).")
			b.Bool(&cfg.BOM, "bom").Default(false).Doc("Write a UTF-8 byte order mark at the start of a new file. A BOM is always skipped when reading.")
			cfg.BindInferRows(b, 0, "Number of rows sampled to infer each column's type (bool, int, float, date, timestamp, else string); 0 reads every column as string.")
			cfg.BindTypes(b, "Per-column type overrides, e.g. {zip: string, amount: decimal}. Types: bool, int, float, decimal, string, bytes (base64), date, timestamp, json.", map[string]any{"amount": "decimal", "zip": "string"})
			b.Strings(&cfg.NullValues, "null_values").Default([]string{""}).Doc("Unquoted field values read as NULL (default: only the empty field); the first is written for NULL. A quoted empty field (\"\") is an empty string, never NULL.")
			filekit.BindMaxRecordBytes(b, &cfg.MaxRecordBytes, "Largest record (line) accepted; a longer one is rejected as a row without being held in memory.")
		}))
}

// settings is a decoded, checked config.
type settings struct {
	Config
	comma, quote byte
	cs           *charset        // nil: UTF-8
	nulls        map[string]bool // every null token
	nullEmpty    bool            // "" is a null token
	nullOther    map[string]bool // the non-empty null tokens
}

func (c *Connector) decode(raw map[string]any) (*settings, error) {
	var cfg Config
	if err := connector.DecodeConfig(c.Spec(), raw, &cfg); err != nil {
		return nil, err
	}
	s := &settings{Config: cfg, cs: newCharset(cfg.Encoding)}
	var errs configspec.Errors
	d := cfg.Delimiter
	if d == `\t` || d == "tab" {
		d = "\t"
	}
	if len(d) != 1 || d[0] >= utf8.RuneSelf || d[0] == '\n' || d[0] == '\r' {
		errs = append(errs, configspec.FieldError{Path: "delimiter", Message: fmt.Sprintf("must be one ASCII character other than a newline, got %q", cfg.Delimiter)})
	} else {
		s.comma = d[0]
	}
	switch {
	case cfg.Quote == "":
	case len(cfg.Quote) == 1 && cfg.Quote[0] < utf8.RuneSelf && cfg.Quote[0] != '\n' && cfg.Quote != d:
		s.quote = cfg.Quote[0]
	default:
		errs = append(errs, configspec.FieldError{Path: "quote", Message: fmt.Sprintf("must be empty or one ASCII character other than the delimiter, got %q", cfg.Quote)})
	}
	errs = append(errs, filekit.TypeErrors(cfg.Types)...)
	s.nulls = make(map[string]bool, len(cfg.NullValues))
	for _, v := range cfg.NullValues {
		s.nulls[v] = true
		if v == "" {
			s.nullEmpty = true
		} else {
			if s.nullOther == nil {
				s.nullOther = map[string]bool{}
			}
			s.nullOther[v] = true
		}
	}
	if cfg.MaxRecordBytes <= 0 {
		s.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if len(errs) > 0 {
		return nil, connector.ConfigError(errs)
	}
	return s, nil
}

// format is the delimited text format of a connector (its spec says the default delimiter).
type format struct{ c *Connector }

func (f format) Spec() connector.Spec                         { return f.c.Spec() }
func (f format) Decode(raw map[string]any) (*settings, error) { return f.c.decode(raw) }

// Reader reads the header and the inference sample (then seeks to the checkpoint, if any).
func (f format) Reader(ctx context.Context, env connector.Env, s *settings, req connector.ReadRequest) (connector.Reader, error) {
	r, err := f.c.open(ctx, env, s, req)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Writer starts writing the file.
func (f format) Writer(ctx context.Context, env connector.Env, s *settings, req connector.WriteRequest) (connector.Writer, error) {
	path, err := filekit.Destination(env, s.Path, s.Upload)
	if err != nil {
		return nil, err
	}
	return newWriter(s, path, req)
}
