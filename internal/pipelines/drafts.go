package pipelines

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/store"
)

// A spec with errors can be saved only as a draft (Create and Update with draft set): the version
// is stored with its problems, and a draft version cannot run (Runnable). Saving a valid spec makes
// the pipeline runnable again.

// DraftProblem is a problem of a draft, with the node it is about (its id, when the spec names one)
// and the field within that node ("config.rules[0].regex"), so that an editor can point at both.
type DraftProblem struct {
	pipeline.Problem
	Node  string `json:"node,omitempty"`
	Field string `json:"field,omitempty"`
}

// DraftError refuses to run a draft version; it lists the problems to fix.
type DraftError struct {
	PipelineID string
	Version    int
	Problems   []DraftProblem
}

func (e *DraftError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
		if p.Node != "" {
			parts[i] = "node " + p.Node + ": " + parts[i]
		}
	}
	return fmt.Sprintf("version %d of pipeline %s is a draft and cannot run: %d problem(s): %s; fix them and save the pipeline",
		e.Version, e.PipelineID, len(e.Problems), strings.Join(parts, "; "))
}

// Runnable returns a *DraftError when v is a draft version.
func Runnable(v store.PipelineVersion) error {
	ps, err := DraftProblems(v)
	if err != nil {
		return err
	}
	if ps == nil {
		return nil
	}
	return &DraftError{PipelineID: v.PipelineID, Version: v.Version, Problems: ps}
}

// DraftProblems are the problems of a draft version (nil for a valid version).
func DraftProblems(v store.PipelineVersion) ([]DraftProblem, error) {
	if len(v.Problems) == 0 || string(v.Problems) == "null" {
		return nil, nil
	}
	var ps []DraftProblem
	if err := json.Unmarshal(v.Problems, &ps); err != nil {
		return nil, fmt.Errorf("the problems of draft version %d are unreadable: %w", v.Version, err)
	}
	if ps == nil {
		ps = []DraftProblem{}
	}
	return ps, nil
}

// looseSpec is what a draft needs from a spec that does not parse: its name and node ids.
type looseSpec struct {
	Name         string      `yaml:"name"`
	Sources      []looseNode `yaml:"sources"`
	Transforms   []looseNode `yaml:"transforms"`
	Destinations []looseNode `yaml:"destinations"`
}

type looseNode struct {
	ID string `yaml:"id"`
}

func parseLoose(raw []byte) looseSpec {
	var l looseSpec
	_ = yaml.Unmarshal(raw, &l) // best effort: a document that is not YAML at all has no name or ids
	return l
}

var nodePath = regexp.MustCompile(`^(sources|transforms|destinations)\[(\d+)\](?:\.(.*))?$`)

// locate adds to each problem the id of the node its path points into, and the rest of the path.
func locate(raw []byte, ps pipeline.Problems) []DraftProblem {
	l := parseLoose(raw)
	out := make([]DraftProblem, len(ps))
	for i, p := range ps {
		out[i] = DraftProblem{Problem: p}
		m := nodePath.FindStringSubmatch(p.Path)
		if m == nil {
			continue
		}
		idx, _ := strconv.Atoi(m[2])
		list := map[string][]looseNode{"sources": l.Sources, "transforms": l.Transforms, "destinations": l.Destinations}[m[1]]
		if idx < len(list) && list[idx].ID != "" {
			out[i].Node = list[idx].ID
		} else {
			out[i].Node = m[1] + "[" + m[2] + "]"
		}
		out[i].Field = m[3]
	}
	return out
}

// draftSave is what a save stores when the spec has problems and a draft was asked for: the name
// (from the spec, else fallback) and the problems as JSON. It returns the problems error unchanged
// when the spec cannot be a draft: no draft asked, an error that is not problems, or no name.
func draftSave(raw []byte, err error, draft bool, fallbackName string) (name string, problems []DraftProblem, enc json.RawMessage, _ error) {
	ps, ok := pipeline.AsProblems(err)
	if !draft || !ok {
		return "", nil, nil, err
	}
	name = strings.TrimSpace(parseLoose(raw).Name)
	if name == "" {
		name = fallbackName
	}
	if name == "" {
		return "", nil, nil, err
	}
	problems = locate(raw, ps)
	enc, jerr := json.Marshal(problems)
	if jerr != nil {
		return "", nil, nil, jerr
	}
	return name, problems, enc, nil
}
