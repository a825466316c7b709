package pipeline

import (
	"fmt"
	"strings"
)

// Triggers says what starts the pipeline's runs besides a person, a program with a token, the
// webhook and the schedule (the spec's `triggers:`).
type Triggers struct {
	// After names saved pipelines: when a run of one of them succeeds, this pipeline runs once
	// (trigger "dependency"). Names are resolved when the pipeline is saved: an unknown name and a
	// cycle (a after b after a, or a after itself) are refused then.
	After []string `json:"after,omitempty"`
}

// MaxAfter bounds triggers.after.
const MaxAfter = 50

func (d *decoder) triggers(m map[string]any, s *Spec) {
	tv, has := m["triggers"]
	if !has || tv == nil {
		return
	}
	tm, ok := d.object(tv, "triggers", "after")
	if !ok {
		return
	}
	after := d.strList(tm, "after", "triggers")
	if len(after) > MaxAfter {
		d.c.add("triggers.after", "names at most %d pipelines, got %d", MaxAfter, len(after))
	}
	seen := map[string]int{}
	for i, name := range after {
		key := strings.ToLower(strings.TrimSpace(name))
		switch j, dup := seen[key]; {
		case key == "":
			d.c.add(fmt.Sprintf("triggers.after[%d]", i), "must name a pipeline, got an empty string")
		case dup:
			d.c.add(fmt.Sprintf("triggers.after[%d]", i), "names pipeline %q again (as triggers.after[%d])", name, j)
		default:
			seen[key] = i
		}
	}
	s.Triggers = &Triggers{After: after}
}

// AfterNames are the pipelines the spec runs after (nil when none).
func (s *Spec) AfterNames() []string {
	if s == nil || s.Triggers == nil {
		return nil
	}
	return s.Triggers.After
}
