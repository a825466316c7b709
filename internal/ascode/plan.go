package ascode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/aymanbagabas/go-udiff"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/pipeline"
)

// Action is what apply does to one object.
type Action string

// Actions.
const (
	Create    Action = "create"
	Update    Action = "update"
	Delete    Action = "delete"
	Unchanged Action = "unchanged"
)

// Change is one object of a plan.
type Change struct {
	Action Action
	Kind   Kind
	Name   string
	Path   string // the file ("" for a deletion)
	ID     string // the server object (updates, deletions, unchanged)
	// Diff is a unified diff from the server's object to the file's (updates).
	Diff string
	// Notes say what the reader should know: drift, secrets sent or kept.
	Notes []string

	send Object // what apply sends (config with ${VARIABLES} expanded)
	mark bool   // apply marks the object as managed from Path
}

// Plan is what apply would do, in the order it does it.
type Plan struct {
	Changes []Change
	// Pruned is false when objects missing from the directory are only listed, not deleted.
	Pruned bool
}

// Count returns how many changes have action a.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Validator checks objects against the connector and transformation types and plans pipelines;
// the command line gives one backed by the registries it was built with.
type Validator interface {
	// Connector and Transformation return configspec.Errors (or another error) for a bad config.
	Connector(typ string, config map[string]any) error
	Transformation(typ string, config map[string]any) error
	// Pipeline returns pipeline.Problems for a spec that does not plan.
	Pipeline(ctx context.Context, spec *pipeline.Spec, r pipeline.Resolver) error
}

// Options of MakePlan.
type Options struct {
	// Prune deletes the server's objects that no file names.
	Prune bool
	// Lookup reads the environment for ${NAME} in connector and transformation configs.
	Lookup func(string) (string, bool)
	// UpdateSecrets sends secret values of unchanged connectors too (a rotated password).
	UpdateSecrets bool
	Validator     Validator
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// MakePlan compares the directory's objects with the server's and says what apply would do. A
// file whose object cannot be applied (a bad config, an unset variable, a pipeline that does not
// plan) is a problem; every problem is returned at once, as Problems, and then nothing is planned.
func MakePlan(ctx context.Context, files, server []Object, o Options) (*Plan, error) {
	if o.Lookup == nil {
		o.Lookup = func(string) (string, bool) { return "", false }
	}
	byName := map[Kind]map[string]*Object{}
	for _, k := range Kinds {
		byName[k] = map[string]*Object{}
	}
	for i := range server {
		byName[server[i].Kind][strings.ToLower(server[i].Name)] = &server[i]
	}
	p := &Plan{Pruned: o.Prune}
	var ps Problems
	expanded := map[string]Object{} // kind/name -> what apply sends, for the resolver
	inFiles := map[Kind]map[string]bool{}
	for _, k := range Kinds {
		inFiles[k] = map[string]bool{}
	}
	var pipelines []*Object
	for i := range files {
		f := &files[i]
		inFiles[f.Kind][strings.ToLower(f.Name)] = true
		cur := byName[f.Kind][strings.ToLower(f.Name)]
		if f.Kind == KindPipeline {
			pipelines = append(pipelines, f)
			continue
		}
		c, fps := planObject(f, cur, o)
		if len(fps) > 0 {
			ps = append(ps, fps...)
			// Pipelines naming it are still checked against it, without a second problem.
			expanded[string(f.Kind)+"/"+strings.ToLower(f.Name)] = Object{Type: f.Type, Config: f.Config}
			continue
		}
		expanded[string(f.Kind)+"/"+strings.ToLower(f.Name)] = c.send
		p.Changes = append(p.Changes, c)
	}
	// Pipelines: validated against the registries with the directory's connectors and
	// transformations (or the server's), in an order where each follows those it runs after.
	res := &resolver{expanded: expanded, server: byName}
	order, cycle := orderPipelines(pipelines)
	if cycle != nil {
		ps = append(ps, cycle.problem("triggers.after", "the pipelines' triggers.after form a cycle"))
	}
	for _, f := range order {
		if o.Validator != nil {
			if err := o.Validator.Pipeline(ctx, f.spec, res); err != nil {
				ps = append(ps, fromPipelineProblems(f.Path, err)...)
				continue
			}
		}
		p.Changes = append(p.Changes, planPipeline(f, byName[KindPipeline][strings.ToLower(f.Name)]))
	}
	if len(ps) > 0 {
		return nil, ps
	}
	// Server objects no file names: deleted with Prune, pipelines first.
	for _, k := range []Kind{KindPipeline, KindTransformation, KindConnector} {
		var gone []*Object
		for _, s := range byName[k] {
			if !inFiles[k][strings.ToLower(s.Name)] {
				gone = append(gone, s)
			}
		}
		sort.Slice(gone, func(i, j int) bool { return strings.ToLower(gone[i].Name) < strings.ToLower(gone[j].Name) })
		for _, s := range gone {
			c := Change{Action: Delete, Kind: k, Name: s.Name, ID: s.ID}
			if !o.Prune {
				c.Notes = append(c.Notes, "not in the directory; apply --prune deletes it")
			}
			p.Changes = append(p.Changes, c)
		}
	}
	return p, nil
}

// planObject compares a connector or transformation file with the server's object.
func planObject(f, cur *Object, o Options) (Change, Problems) {
	c := Change{Kind: f.Kind, Name: f.Name, Path: f.Path}
	var ps Problems
	var notes []string
	secretsInFile := false
	// send: the config with variables expanded; a secret left unset on an existing object is
	// sent as Redacted (the server keeps its value). cmp: the same, with every secret the server
	// shows as Redacted replaced by Redacted (secrets are never compared).
	var walk func(v, server any, path string) (send, cmp any)
	walk = func(v, server any, path string) (any, any) {
		switch x := v.(type) {
		case string:
			serverSecret := server == configspec.Redacted
			var unset []string
			for _, m := range varRef.FindAllStringSubmatch(x, -1) {
				if _, ok := o.Lookup(m[1]); !ok && m[2] == "" {
					unset = append(unset, m[1])
				}
			}
			if len(unset) > 0 {
				if serverSecret {
					return configspec.Redacted, configspec.Redacted
				}
				why := "it is not set in the environment"
				if cur == nil {
					why += " (a new " + string(f.Kind) + " needs every value)"
				}
				ps = append(ps, f.problem(path, fmt.Sprintf("${%s}: %s", strings.Join(unset, "}, ${"), why)))
				return x, x
			}
			out, err := pipeline.ExpandString(x, o.Lookup)
			if err != nil {
				ps = append(ps, f.problem(path, err.Error()))
				return x, x
			}
			if serverSecret {
				if !varRef.MatchString(x) {
					secretsInFile = true
				}
				return out, configspec.Redacted
			}
			return out, out
		case map[string]any:
			sm, _ := server.(map[string]any)
			send, cmp := make(map[string]any, len(x)), make(map[string]any, len(x))
			for k, e := range x {
				send[k], cmp[k] = walk(e, sm[k], joinPath(path, k))
			}
			return send, cmp
		case []any:
			sl, _ := server.([]any)
			send, cmp := make([]any, len(x)), make([]any, len(x))
			for i, e := range x {
				var se any
				if i < len(sl) {
					se = sl[i]
				}
				send[i], cmp[i] = walk(e, se, fmt.Sprintf("%s[%d]", path, i))
			}
			return send, cmp
		}
		return v, v
	}
	var serverCfg map[string]any
	if cur != nil {
		serverCfg = cur.Config
	}
	sendCfg, cmpCfg := walk(orEmpty(f.Config), serverCfg, "config")
	c.send = Object{Kind: f.Kind, Name: f.Name, Type: f.Type, Description: f.Description, Config: sendCfg.(map[string]any), Path: f.Path}
	if len(ps) > 0 {
		return c, ps
	}
	if o.Validator != nil {
		var err error
		if f.Kind == KindConnector {
			err = o.Validator.Connector(f.Type, c.send.Config)
		} else {
			err = o.Validator.Transformation(f.Type, c.send.Config)
		}
		var ce configspec.Errors
		switch {
		case errors.As(err, &ce):
			for _, e := range ce {
				ps = append(ps, f.problem(joinPath("config", e.Path), e.Message))
			}
		case err != nil:
			ps = append(ps, f.problem("", err.Error()))
		}
		if len(ps) > 0 {
			return c, ps
		}
	}
	if secretsInFile {
		notes = append(notes, "a secret is written in the file: prefer ${VARIABLE} and set it where apply runs")
	}
	if cur == nil {
		c.Action, c.mark = Create, true
		c.Notes = notes
		return c, nil
	}
	c.ID = cur.ID
	want := renderObject(Object{Name: f.Name, Type: f.Type, Description: f.Description, Config: cmpCfg.(map[string]any)})
	have := renderObject(*cur)
	switch {
	case want != have:
		c.Action, c.mark = Update, true
		c.Diff = udiff.Unified("server: "+string(f.Kind)+" "+cur.Name, f.Path, have, want)
	case o.UpdateSecrets && hasRedacted(cur.Config):
		c.Action, c.mark = Update, true
		notes = append(notes, "secrets are sent again (--update-secrets)")
	default:
		c.Action = Unchanged
		c.mark = needsMark(cur, f.Path)
	}
	if c.Action == Update && hasRedacted(cur.Config) && !o.UpdateSecrets {
		notes = append(notes, "secret values are not compared: those the file or the environment gives are sent with this update, the others are kept")
	}
	c.Notes = append(notes, driftNote(cur)...)
	return c, nil
}

func planPipeline(f, cur *Object) Change {
	c := Change{Kind: KindPipeline, Name: f.Name, Path: f.Path, send: Object{Kind: KindPipeline, Name: f.Name, Text: f.Text, Path: f.Path}}
	if cur == nil {
		c.Action, c.mark = Create, true
		return c
	}
	c.ID = cur.ID
	want, have := NormalizeText(f.Text), NormalizeText(cur.Text)
	if want != have {
		c.Action, c.mark = Update, true
		c.Diff = udiff.Unified("server: pipeline "+cur.Name, f.Path, have, want)
	} else {
		c.Action, c.mark = Unchanged, needsMark(cur, f.Path)
	}
	c.Notes = driftNote(cur)
	return c
}

// needsMark: an unchanged object is marked again when it was not managed from this file, or had
// drifted (and has come back to what the file says).
func needsMark(cur *Object, path string) bool {
	return cur.Managed == nil || cur.Managed.Path != path || cur.Managed.Drifted
}

func driftNote(cur *Object) []string {
	if cur.Managed != nil && cur.Managed.Drifted {
		return []string{"changed in the web app or the API since the last apply: apply replaces that change (aggregator export writes it to the file instead)"}
	}
	return nil
}

func hasRedacted(m map[string]any) bool {
	found := false
	configspec.EachString(m, func(s string) { found = found || s == configspec.Redacted })
	return found
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// orderPipelines sorts pipeline files so that each comes after those of the directory it runs
// after (triggers.after), by name otherwise; cycle is a pipeline on a cycle, if any.
func orderPipelines(ps []*Object) (order []*Object, cycle *Object) {
	sort.Slice(ps, func(i, j int) bool { return strings.ToLower(ps[i].Name) < strings.ToLower(ps[j].Name) })
	byName := map[string]*Object{}
	for _, p := range ps {
		byName[strings.ToLower(p.Name)] = p
	}
	state := map[*Object]int{} // 1 visiting, 2 done
	var visit func(p *Object) bool
	visit = func(p *Object) bool {
		switch state[p] {
		case 1:
			cycle = p
			return false
		case 2:
			return true
		}
		state[p] = 1
		for _, a := range p.after {
			if up, ok := byName[strings.ToLower(a)]; ok && !visit(up) {
				return false
			}
		}
		state[p] = 2
		order = append(order, p)
		return true
	}
	for _, p := range ps {
		if !visit(p) {
			return nil, cycle
		}
	}
	return order, nil
}

// resolver resolves a pipeline's saved connectors and transformations to the directory's (as
// apply will send them) or else the server's.
type resolver struct {
	expanded map[string]Object
	server   map[Kind]map[string]*Object
}

func (r *resolver) find(k Kind, name string) (pipeline.Saved, error) {
	if o, ok := r.expanded[string(k)+"/"+strings.ToLower(name)]; ok {
		return pipeline.Saved{Type: o.Type, Config: o.Config}, nil
	}
	if o, ok := r.server[k][strings.ToLower(name)]; ok {
		return pipeline.Saved{Type: o.Type, Config: o.Config}, nil
	}
	return pipeline.Saved{}, fmt.Errorf("no saved %s is named %q, in the directory (%s/) or on the server", k, name, k.Dir())
}

func (r *resolver) Connector(_ context.Context, name string) (pipeline.Saved, error) {
	return r.find(KindConnector, name)
}

func (r *resolver) Transformation(_ context.Context, name string) (pipeline.Saved, error) {
	return r.find(KindTransformation, name)
}

// renderObject is a connector's or transformation's YAML form, as export writes it (keys sorted).
func renderObject(o Object) string {
	b, err := marshalObject(o)
	if err != nil {
		// Values come from YAML or JSON; fall back to JSON, which every such value has.
		j, _ := json.MarshalIndent(o, "", "  ")
		return string(j)
	}
	return string(b)
}

// Sorted returns the changes of one action.
func (p *Plan) Sorted(a Action) []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Action == a {
			out = append(out, c)
		}
	}
	return slices.Clip(out)
}
