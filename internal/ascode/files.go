package ascode

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/dataaggregator/aggregator/internal/pipeline"
)

// Kind is what an object is.
type Kind string

// The kinds of object a directory holds, each in its own sub-directory.
const (
	KindConnector      Kind = "connector"
	KindTransformation Kind = "transformation"
	KindPipeline       Kind = "pipeline"
)

// Kinds in the order apply creates them (a pipeline names connectors and transformations).
var Kinds = []Kind{KindConnector, KindTransformation, KindPipeline}

// Dir is the sub-directory of a kind: connectors, transformations, pipelines.
func (k Kind) Dir() string { return string(k) + "s" }

// Limits of a directory.
const (
	MaxFileSize = pipeline.MaxSpecSize
	MaxFiles    = 10000
)

// Object is a pipeline, saved connector or saved transformation, as a file says or as a server
// holds it.
type Object struct {
	Kind Kind
	Name string
	// Path is the file, relative to the directory, with forward slashes (files only).
	Path string
	// Pipelines: Text is the spec as written.
	Text string
	// Connectors and transformations.
	Type        string
	Description string
	Config      map[string]any
	// Server objects: the id, and the mark of the last apply (nil: not managed from a file).
	ID      string
	Managed *Managed

	doc   *pipeline.Document // files: where each path was written
	spec  *pipeline.Spec     // pipeline files: the parsed spec
	after []string           // pipelines: triggers.after
}

// Managed is a server object's mark of the last apply.
type Managed struct {
	Path    string
	Drifted bool
}

// Problem is something wrong with a file, at its line and column when known.
type Problem struct {
	File         string
	Line, Column int
	Path         string // where in the document: config.host
	Message      string
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	}
	if p.Path != "" {
		return loc + ": " + p.Path + ": " + p.Message
	}
	return loc + ": " + p.Message
}

// Problems is every problem found, as one error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problemsOf turns a pipeline or configspec problem list into file problems.
func (o *Object) problem(path, msg string) Problem {
	p := Problem{File: o.Path, Path: path, Message: msg}
	if o.doc != nil {
		if pos, ok := o.doc.PositionOf(path); ok {
			p.Line, p.Column = pos.Line, pos.Column
		}
	}
	return p
}

// Load reads every object of a directory: connectors/*.yaml, transformations/*.yaml and
// pipelines/*.yaml (.yml too). Every problem of every file is returned at once, as Problems:
// syntax errors, unknown or missing keys, names used twice.
func Load(dir string) ([]Object, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	var objs []Object
	var ps Problems
	files := 0
	for _, k := range Kinds {
		entries, err := os.ReadDir(filepath.Join(dir, k.Dir()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		seen := map[string]string{}
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
				continue
			}
			if files++; files > MaxFiles {
				return nil, fmt.Errorf("%s holds more than %d files", dir, MaxFiles)
			}
			rel := k.Dir() + "/" + e.Name()
			o, fps := loadFile(filepath.Join(dir, k.Dir(), e.Name()), rel, k)
			if len(fps) > 0 {
				ps = append(ps, fps...)
				continue
			}
			key := strings.ToLower(o.Name)
			if first, dup := seen[key]; dup {
				ps = append(ps, o.problem("name", fmt.Sprintf("the %s %q is also defined in %s", k, o.Name, first)))
				continue
			}
			seen[key] = rel
			objs = append(objs, o)
		}
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return objs, nil
}

func loadFile(full, rel string, k Kind) (Object, Problems) {
	o := Object{Kind: k, Path: rel}
	fail := func(msg string) (Object, Problems) { return o, Problems{{File: rel, Message: msg}} }
	st, err := os.Stat(full)
	if err != nil {
		return fail(err.Error())
	}
	if st.Size() > MaxFileSize {
		return fail(fmt.Sprintf("the file is %d bytes; at most %d", st.Size(), MaxFileSize))
	}
	data, err := os.ReadFile(full)
	if err != nil {
		return fail(err.Error())
	}
	if k == KindPipeline {
		return loadPipeline(o, data)
	}
	doc, err := pipeline.DecodeDocument(data, MaxFileSize, "one "+string(k), "a "+string(k)+" file names it: `name: ...`")
	if err != nil {
		return o, fromPipelineProblems(rel, err)
	}
	o.doc = doc
	m, ok := doc.Value.(map[string]any)
	if !ok {
		return o, Problems{o.problem("", "a "+string(k)+" file is a mapping of name, type, description and config")}
	}
	var ps Problems
	str := func(key string, required bool) string {
		v, present := m[key]
		s, isStr := v.(string)
		switch {
		case !present && required:
			ps = append(ps, Problem{File: o.Path, Path: key, Message: "is required"})
		case present && !isStr:
			ps = append(ps, o.problem(key, "must be a string"))
		case required && strings.TrimSpace(s) == "":
			ps = append(ps, o.problem(key, "must not be empty"))
		}
		return s
	}
	o.Name = str("name", true)
	o.Type = str("type", true)
	o.Description = str("description", false)
	if v, present := m["config"]; present && v != nil {
		cfg, isMap := v.(map[string]any)
		if !isMap {
			ps = append(ps, o.problem("config", "must be a mapping"))
		}
		o.Config = cfg
	}
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if !slices.Contains([]string{"name", "type", "description", "config"}, key) {
			ps = append(ps, o.problem(key, "unknown key (a "+string(k)+" file has name, type, description and config)"))
		}
	}
	return o, ps
}

func loadPipeline(o Object, data []byte) (Object, Problems) {
	spec, err := pipeline.Parse(data)
	if err != nil {
		return o, fromPipelineProblems(o.Path, err)
	}
	o.spec, o.Name, o.Text = spec, spec.Name, string(data)
	// Positions for validation problems come from the spec itself.
	o.doc, _ = pipeline.DecodeDocument(data, MaxFileSize, "a pipeline spec", "")
	if spec.Triggers != nil {
		o.after = spec.Triggers.After
	}
	return o, nil
}

func fromPipelineProblems(file string, err error) Problems {
	pps, ok := pipeline.AsProblems(err)
	if !ok {
		return Problems{{File: file, Message: err.Error()}}
	}
	out := make(Problems, len(pps))
	for i, p := range pps {
		out[i] = Problem{File: file, Line: p.Line, Column: p.Column, Path: p.Path, Message: p.Message}
	}
	return out
}
