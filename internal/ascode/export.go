package ascode

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/dataaggregator/aggregator/internal/configspec"
)

// objectFile is the layout of a connector or transformation file.
type objectFile struct {
	Name        string         `yaml:"name"`
	Type        string         `yaml:"type"`
	Description string         `yaml:"description,omitempty"`
	Config      map[string]any `yaml:"config,omitempty"`
}

func marshalObject(o Object) ([]byte, error) {
	var cfg map[string]any
	if len(o.Config) > 0 {
		cfg = o.Config
	}
	return yaml.MarshalWithOptions(objectFile{Name: o.Name, Type: o.Type, Description: o.Description, Config: cfg},
		yaml.Indent(2), yaml.IndentSequence(true), yaml.UseLiteralStyleIfMultiline(true))
}

// ExportReport says what export wrote.
type ExportReport struct {
	Written []string // files, relative to the directory
	// Stale are files of the directory whose objects the server does not hold (left alone).
	Stale []string
	// Secrets are the ${VARIABLES} connector files name for their secret values.
	Secrets []string
}

const connectorHeader = "# Secret values are ${VARIABLES}: aggregator apply reads them from its environment\n" +
	"# (an unset one keeps the server's value of an existing connector).\n"

// Export writes every object of the server into dir, one file each (docs/pipelines-as-code.md):
// pipelines as their spec text, connectors and transformations as name, type, description and
// config with keys sorted; a connector's secret values become ${VARIABLE} placeholders (the name
// an existing file gave the placeholder is kept). An object keeps the file it was applied from.
func Export(ctx context.Context, srv Server, dir string) (ExportReport, error) {
	var rep ExportReport
	existing := map[string]Object{} // path -> the file there now, when it loads
	if objs, err := Load(dir); err == nil {
		for _, o := range objs {
			existing[o.Path] = o
		}
	}
	for _, k := range Kinds {
		objs, err := srv.Objects(ctx, k)
		if err != nil {
			return rep, err
		}
		if err := os.MkdirAll(filepath.Join(dir, k.Dir()), 0o755); err != nil {
			return rep, err
		}
		sort.Slice(objs, func(i, j int) bool { return strings.ToLower(objs[i].Name) < strings.ToLower(objs[j].Name) })
		used := map[string]bool{}
		for _, o := range objs {
			if o.Managed != nil && strings.HasPrefix(o.Managed.Path, k.Dir()+"/") && !used[strings.ToLower(o.Managed.Path)] {
				used[strings.ToLower(o.Managed.Path)] = true
			}
		}
		for _, o := range objs {
			rel := ""
			if o.Managed != nil && strings.HasPrefix(o.Managed.Path, k.Dir()+"/") && !strings.Contains(o.Managed.Path[len(k.Dir())+1:], "/") {
				rel = o.Managed.Path
			} else {
				base := Slug(o.Name)
				rel = k.Dir() + "/" + base + ".yaml"
				for n := 2; used[strings.ToLower(rel)]; n++ {
					rel = fmt.Sprintf("%s/%s-%d.yaml", k.Dir(), base, n)
				}
				used[strings.ToLower(rel)] = true
			}
			var data []byte
			switch k {
			case KindPipeline:
				data = []byte(NormalizeText(o.Text))
			default:
				cfg, vars := placeholders(o, existing[rel])
				rep.Secrets = append(rep.Secrets, vars...)
				o.Config = cfg
				b, err := marshalObject(o)
				if err != nil {
					return rep, fmt.Errorf("%s %s: %w", k, o.Name, err)
				}
				if len(vars) > 0 {
					b = append([]byte(connectorHeader), b...)
				}
				data = b
			}
			if err := writeFileAtomic(filepath.Join(dir, filepath.FromSlash(rel)), data); err != nil {
				return rep, err
			}
			rep.Written = append(rep.Written, rel)
		}
	}
	written := map[string]bool{}
	for _, w := range rep.Written {
		written[w] = true
	}
	for p := range existing {
		if !written[p] {
			rep.Stale = append(rep.Stale, p)
		}
	}
	sort.Strings(rep.Stale)
	sort.Strings(rep.Secrets)
	return rep, nil
}

// placeholders replaces every secret value (shown as Redacted by the server) with a ${VARIABLE}:
// the one the previous file had at that path, or NAME_PATH in upper case.
func placeholders(o Object, prev Object) (map[string]any, []string) {
	var vars []string
	var walk func(v, prev any, path []string) any
	walk = func(v, prevV any, path []string) any {
		switch x := v.(type) {
		case string:
			if x != configspec.Redacted {
				return x
			}
			if p, ok := prevV.(string); ok {
				if m := varRef.FindStringSubmatch(p); m != nil && m[0] == p {
					vars = append(vars, m[1])
					return p
				}
			}
			name := envName(append([]string{o.Name}, path...))
			vars = append(vars, name)
			return "${" + name + "}"
		case map[string]any:
			pm, _ := prevV.(map[string]any)
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = walk(e, pm[k], append(path[:len(path):len(path)], k))
			}
			return out
		case []any:
			pl, _ := prevV.([]any)
			out := make([]any, len(x))
			for i, e := range x {
				var pe any
				if i < len(pl) {
					pe = pl[i]
				}
				out[i] = walk(e, pe, append(path[:len(path):len(path)], fmt.Sprint(i)))
			}
			return out
		}
		return v
	}
	cfg, _ := walk(orEmpty(o.Config), orEmpty(prev.Config), nil).(map[string]any)
	return cfg, vars
}

var notWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

func envName(parts []string) string {
	s := strings.Trim(notWord.ReplaceAllString(strings.Join(parts, "_"), "_"), "_")
	s = strings.ToUpper(s)
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "X_" + s
	}
	return s
}

// Slug is a file name for an object's name: lower case letters, digits, '-' and '_'.
func Slug(name string) string {
	s := strings.Trim(notWord.ReplaceAllStringFunc(strings.ToLower(name), func(m string) string {
		if m == "_" {
			return "_"
		}
		return "-"
	}), "-_")
	if s == "" {
		s = "unnamed"
	}
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// writeFileAtomic writes through a temporary file and a rename, so that an interrupted export
// never leaves half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WritePlan prints a plan as plan and apply show it.
func WritePlan(w io.Writer, p *Plan, verbose bool) {
	sym := map[Action]string{Create: "+", Update: "~", Delete: "-", Unchanged: "="}
	for _, c := range p.Changes {
		if c.Action == Unchanged && !verbose && !c.mark {
			continue
		}
		where := ""
		if c.Path != "" {
			where = " (" + c.Path + ")"
		}
		verb := string(c.Action)
		switch {
		case c.Action == Delete && !p.Pruned:
			verb = "only on the server"
		case c.Action == Unchanged && c.mark:
			verb = "unchanged; marked as managed from its file"
		}
		fmt.Fprintf(w, "%s %s %s%s: %s\n", sym[c.Action], c.Kind, c.Name, where, verb)
		for _, n := range c.Notes {
			fmt.Fprintf(w, "    note: %s\n", n)
		}
		if c.Diff != "" {
			for _, line := range strings.Split(strings.TrimRight(c.Diff, "\n"), "\n") {
				fmt.Fprintf(w, "    %s\n", line)
			}
		}
	}
	del := p.Count(Delete)
	delText := fmt.Sprintf("%d to delete", del)
	if !p.Pruned {
		delText = fmt.Sprintf("%d only on the server (kept; --prune deletes them)", del)
	}
	fmt.Fprintf(w, "Plan: %d to create, %d to update, %s, %d unchanged.\n", p.Count(Create), p.Count(Update), delText, p.Count(Unchanged))
}
