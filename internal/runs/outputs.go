package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
)

// Output is the file one file destination of a run wrote.
type Output struct {
	// Node is the destination's node id.
	Node string `json:"node"`
	// Name is the file's name (its last path element).
	Name string `json:"name"`
	// Path is where the file is, relative to the output directory (DATA_DIR/files); empty when the
	// destination wrote outside it (an absolute path in FILE_ROOTS), which is then not downloadable.
	Path string `json:"path"`
	// Bytes is the file's size when the run finished; Rows the rows the destination wrote.
	Bytes int64 `json:"bytes"`
	Rows  int64 `json:"rows"`

	abs    string // the absolute path, never shown
	typ    string
	config map[string]any
}

// outputRecord is an Output as the store keeps it (with the absolute path).
type outputRecord struct {
	Node  string `json:"node"`
	Name  string `json:"name"`
	Path  string `json:"path"`
	Abs   string `json:"abs"`
	Bytes int64  `json:"bytes"`
	Rows  int64  `json:"rows"`
	// Type and Config are the destination's connector type and its config without secrets: what
	// reads the file back for an export in another format.
	Type   string         `json:"type,omitempty"`
	Config map[string]any `json:"config,omitempty"`
}

// Errors of the outputs use cases.
var (
	// ErrNoOutput: the run has no output for that node (unknown node, not a file destination, or the
	// run did not succeed).
	ErrNoOutput = errors.New("no output")
	// ErrOutputOutside: the output lies outside the output directory and is not served.
	ErrOutputOutside = errors.New("output is outside the output directory")
)

// collectOutputs lists what the plan's file destinations wrote: each destination whose connector
// takes a path, resolved as its writer resolved it, with the file's size and the rows written.
func (s *Service) collectOutputs(plan *pipeline.Plan, res *engine.Result) []outputRecord {
	rows := map[string]int64{}
	for _, n := range res.Nodes {
		rows[n.ID] = n.Out
	}
	var out []outputRecord
	for _, n := range plan.Destinations {
		if !takesPath(n.ConnectorSpec) {
			continue
		}
		abs, ok, err := files.OutputPath(s.env, n.Config)
		if !ok || err != nil {
			continue
		}
		st, err := os.Stat(abs)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		cfg := make(map[string]any, len(n.Config))
		for k, v := range n.Config {
			cfg[k] = v
		}
		for _, k := range n.ConnectorSpec.Config.SecretNames() {
			delete(cfg, k)
		}
		out = append(out, outputRecord{Node: n.ID, Name: filepath.Base(abs), Path: s.relToOutputDir(abs), Abs: abs,
			Bytes: st.Size(), Rows: rows[n.ID], Type: n.ConnectorSpec.Name, Config: cfg})
	}
	return out
}

func takesPath(spec connector.Spec) bool {
	for _, p := range spec.Config.Params {
		if p.Name == "path" {
			return true
		}
	}
	return false
}

// outputDir is the output directory, absolute with symlinks resolved ("" when not configured).
func (s *Service) outputDir() string {
	if s.env.OutputDir == "" {
		return ""
	}
	abs, err := filepath.Abs(s.env.OutputDir)
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return filepath.Clean(abs)
}

// relToOutputDir is abs relative to the output directory, or "" when it is not under it.
func (s *Service) relToOutputDir(abs string) string {
	dir := s.outputDir()
	if dir == "" {
		return ""
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return ""
	}
	rel, err := filepath.Rel(dir, real)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return ""
	}
	return filepath.ToSlash(rel)
}

func (s *Service) outputRecords(ctx context.Context, runID string) ([]outputRecord, error) {
	run, err := s.st.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	var recs []outputRecord
	if len(run.Outputs) > 0 {
		if err := json.Unmarshal(run.Outputs, &recs); err != nil {
			return nil, fmt.Errorf("run %s outputs: %w", runID, err)
		}
	}
	return recs, nil
}

// Outputs lists the files a run's file destinations wrote (recorded when it succeeded; none
// before). A run that does not exist is store.ErrNotFound.
func (s *Service) Outputs(ctx context.Context, runID string) ([]Output, error) {
	recs, err := s.outputRecords(ctx, runID)
	if err != nil {
		return nil, err
	}
	out := make([]Output, len(recs))
	for i, r := range recs {
		out[i] = Output{Node: r.Node, Name: r.Name, Path: r.Path, Bytes: r.Bytes, Rows: r.Rows, abs: r.Abs, typ: r.Type, config: r.Config}
	}
	return out, nil
}

// OpenOutput opens the file a run's destination node wrote, for download. It is ErrNoOutput (with
// the node named) when the run has no output for node, and ErrOutputOutside when the file, with its
// symlinks resolved, is not under the output directory (DATA_DIR/files): nothing else is served.
func (s *Service) OpenOutput(ctx context.Context, runID, node string) (Output, *os.File, error) {
	list, err := s.Outputs(ctx, runID)
	if err != nil {
		return Output{}, nil, err
	}
	for _, o := range list {
		if o.Node != node {
			continue
		}
		real, err := filepath.EvalSymlinks(o.abs)
		if err == nil && (o.Path == "" || s.relToOutputDir(real) != o.Path) {
			return Output{}, nil, fmt.Errorf("run %s, node %q: %w", runID, node, ErrOutputOutside)
		}
		var f *os.File
		if err == nil {
			f, err = os.Open(real)
		}
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return Output{}, nil, fmt.Errorf("run %s, node %q: the file %s was removed since the run: %w", runID, node, o.Path, ErrNoOutput)
			}
			return Output{}, nil, err
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			f.Close()
			return Output{}, nil, fmt.Errorf("run %s, node %q: %s is not a regular file: %w", runID, node, o.Path, ErrNoOutput)
		}
		o.Bytes = st.Size()
		return o, f, nil
	}
	return Output{}, nil, fmt.Errorf("run %s has no output for node %q: %w", runID, node, ErrNoOutput)
}

// encodeOutputs is the store's JSON of the outputs (nil when there are none).
func encodeOutputs(recs []outputRecord) json.RawMessage {
	if len(recs) == 0 {
		return nil
	}
	b, _ := json.Marshal(recs)
	return b
}

// typeByExt is the file connector that reads an output by its extension, for outputs recorded
// without their connector type.
var typeByExt = map[string]string{".csv": "csv", ".tsv": "tsv", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson",
	".xml": "xml", ".xlsx": "excel", ".parquet": "parquet"}

// ReadOutput opens the file a run's destination node wrote (checked as OpenOutput checks it) for
// reading as records, through the destination's own connector and config (its secrets were never
// kept: an encrypted workbook does not read back). The caller closes the reader.
func (s *Service) ReadOutput(ctx context.Context, runID, node string) (Output, connector.Reader, error) {
	o, f, err := s.OpenOutput(ctx, runID, node)
	if err != nil {
		return Output{}, nil, err
	}
	real := f.Name()
	f.Close()
	typ, cfg := o.typ, map[string]any{}
	for k, v := range o.config {
		cfg[k] = v
	}
	if typ == "" {
		typ = typeByExt[strings.ToLower(filepath.Ext(strings.TrimSuffix(o.Name, ".gz")))]
	}
	src, spec, err := s.conns.Source(typ)
	if err != nil || typ == "" {
		return Output{}, nil, fmt.Errorf("run %s, node %q: %s cannot be read back for an export: %w", runID, node, o.Name, ErrNoOutput)
	}
	cfg["path"] = filepath.Base(real)
	delete(cfg, "upload")
	if _, ok := cfg["infer_rows"]; !ok {
		for _, p := range spec.Config.Params {
			if p.Name == "infer_rows" {
				cfg["infer_rows"] = 1000 // typed columns in the export, as the file's sample says
			}
		}
	}
	env := s.env
	env.FileRoots = []string{filepath.Dir(real)}
	r, err := src.Open(ctx, env, cfg, connector.ReadRequest{BatchSize: 1024})
	if err != nil {
		return Output{}, nil, fmt.Errorf("run %s, node %q: read %s: %w", runID, node, o.Name, err)
	}
	return o, r, nil
}
