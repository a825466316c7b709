package api

import (
	"context"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/dataaggregator/aggregator/examples"
)

// Pipeline templates: the example pipelines of examples/ (embedded in the
// binary), each with the sample data files it reads, so that the builder's
// "New pipeline" flow can start from one. The UI uploads the sample files
// (POST /api/v1/files) and points the sources at the uploads.

// PipelineTemplate is one example pipeline.
type PipelineTemplate struct {
	Name        string         `json:"name" doc:"The example's file name without .yaml"`
	Description string         `json:"description" doc:"The example's leading comment"`
	Spec        string         `json:"spec" doc:"The pipeline spec as YAML, comments kept"`
	Files       []TemplateFile `json:"files" doc:"Sample data files the spec reads (paths relative to the example)"`
}

// TemplateFile is a sample data file of a template.
type TemplateFile struct {
	Path    string `json:"path" doc:"As the spec names it, e.g. data/orders.csv"`
	Content string `json:"content"`
}

func (s *Server) listPipelineTemplates(context.Context, *struct{}) (*struct{ Body []PipelineTemplate }, error) {
	out, err := loadTemplates(examples.FS)
	if err != nil {
		return nil, err
	}
	return &struct{ Body []PipelineTemplate }{Body: out}, nil
}

// loadTemplates reads every *.yaml of fsys, in name order.
func loadTemplates(fsys fs.FS) ([]PipelineTemplate, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	data, err := fs.Glob(fsys, "data/*")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]PipelineTemplate, 0, len(names))
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		spec := string(b)
		t := PipelineTemplate{Name: strings.TrimSuffix(path.Base(name), ".yaml"), Description: leadingComment(spec), Spec: spec, Files: []TemplateFile{}}
		for _, d := range data {
			if !strings.Contains(spec, d) {
				continue
			}
			c, err := fs.ReadFile(fsys, d)
			if err != nil {
				return nil, err
			}
			t.Files = append(t.Files, TemplateFile{Path: d, Content: string(c)})
		}
		out = append(out, t)
	}
	return out, nil
}

// leadingComment is the text of the comment lines that open a YAML file, up
// to the first indented line (a command to run it) or the first non-comment;
// a last sentence introducing that command ("Run it from anywhere:") is left out.
func leadingComment(src string) string {
	var words []string
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimRight(line, "\r")
		if !strings.HasPrefix(line, "#") {
			break
		}
		text := strings.TrimPrefix(line, "#")
		if strings.HasPrefix(text, "  ") || strings.HasPrefix(text, "\t") {
			break
		}
		if text = strings.TrimSpace(text); text != "" {
			words = append(words, text)
		}
	}
	d := strings.Join(words, " ")
	if strings.HasSuffix(d, ":") {
		if i := strings.LastIndex(strings.TrimSuffix(d, ":"), ". "); i >= 0 {
			d = d[:i+1]
		}
	}
	return d
}
