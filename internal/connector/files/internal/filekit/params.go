package filekit

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Source is the part of a file connector's config every format has; connectors embed it in their
// Config and declare its parameters with BindLocation, BindInferRows and BindTypes.
type Source struct {
	Path      string
	Upload    string
	InferRows int
	Types     map[string]string
}

// Location returns the configured path and upload id.
func (s *Source) Location() (path, upload string) { return s.Path, s.Upload }

func (s *Source) source() *Source { return s }

// Resolve is a reader's first step: the source's file (see Input) and its type overrides (the types
// option merged with the engine's, see Overrides).
func (s *Source) Resolve(ctx context.Context, env connector.Env, req connector.ReadRequest) (path, name string, overrides map[string]record.Kind, err error) {
	if path, name, err = Input(ctx, env, s.Path, s.Upload); err != nil {
		return "", "", nil, err
	}
	if overrides, err = Overrides(s.Types, req.Overrides); err != nil {
		return "", "", nil, err
	}
	return path, name, overrides, nil
}

// DefaultMaxRecordBytes is the default max_record_bytes: the largest single record a reader holds.
const DefaultMaxRecordBytes = 16 << 20

// DefaultInferRows is the default infer_rows.
const DefaultInferRows = 1000

// AppendOrOverwrite are the write modes of a file written as a stream.
func AppendOrOverwrite() []connector.WriteMode {
	return []connector.WriteMode{connector.Append, connector.Overwrite}
}

// ConnectorSpec is the spec of a file connector: category "file", a source and a destination with
// the given write modes and config (built with configspec.Describe).
func ConnectorSpec(name, title, description string, modes []connector.WriteMode, config configspec.Spec) connector.Spec {
	return connector.Spec{
		Name:        name,
		Title:       title,
		Description: description,
		Category:    "file",
		Source:      true,
		Destination: true,
		WriteModes:  modes,
		Config:      config,
	}
}

// BindLocation declares the "path" and "upload" parameters. noun names what the file is ("File",
// "Workbook"); gzip says that the format decompresses gzip input.
func (s *Source) BindLocation(b *configspec.Builder, noun, example string, gzip bool) {
	d := noun + " path; a relative path is looked up in the allowed file roots in order (a source takes the first root that has it), an absolute one must lie within a root."
	if gzip {
		d += " A .gz file (or gzip content) is decompressed when read."
	}
	b.String(&s.Path, "path").Doc(d).Example(example)
	b.String(&s.Upload, "upload").Doc("Read an uploaded " + strings.ToLower(noun) + " by its id instead of a path (source only).")
}

// BindInferRows declares the "infer_rows" parameter (default DefaultInferRows, at least min);
// description says what the sample is and what min means for the format.
func (s *Source) BindInferRows(b *configspec.Builder, min int, description string) {
	b.Int(&s.InferRows, "infer_rows").Default(DefaultInferRows).Min(float64(min)).Doc(description)
}

// BindTypes declares the "types" parameter: an object of field name to type name.
func (s *Source) BindTypes(b *configspec.Builder, description string, examples ...any) {
	b.StringMap(&s.Types, "types").Doc(description).Example(examples...)
}

// BindMaxRecordBytes declares the "max_record_bytes" parameter bound to p (default
// DefaultMaxRecordBytes, at least 1 KiB); description says what happens to a larger record.
func BindMaxRecordBytes(b *configspec.Builder, p *int, description string) {
	b.Int(p, "max_record_bytes").Default(DefaultMaxRecordBytes).Min(1024).Doc(description)
}

// TypeErrors checks the type names of a "types" option, one error per bad name, in name order.
func TypeErrors(types map[string]string) configspec.Errors {
	var errs configspec.Errors
	for _, n := range sortedKeys(types) {
		if _, err := record.ParseKind(types[n]); err != nil {
			errs = append(errs, configspec.FieldError{Path: "types." + n, Message: err.Error()})
		}
	}
	return errs
}

// CheckTypes returns a ConfigError naming the first field (in name order) whose type name is unknown.
func CheckTypes(types map[string]string) error {
	for _, n := range sortedKeys(types) {
		if _, err := record.ParseKind(types[n]); err != nil {
			return connector.ConfigError(fmt.Errorf("types.%s: %w", n, err))
		}
	}
	return nil
}

// DecodeConfig decodes raw into a new T with the connector's spec and checks the type names of its
// types option. T embeds Source.
func DecodeConfig[T any, P interface {
	*T
	source() *Source
}](spec connector.Spec, raw map[string]any) (P, error) {
	cfg := P(new(T))
	if err := connector.DecodeConfig(spec, raw, cfg); err != nil {
		return nil, err
	}
	if err := CheckTypes(cfg.source().Types); err != nil {
		return nil, err
	}
	return cfg, nil
}

func sortedKeys(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
