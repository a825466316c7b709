package pipeline

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/schemachange"
)

// MaxSpecSize bounds a spec document; pipelines are small, and a bound keeps the parser's memory small.
const MaxSpecSize = 4 << 20

// Parse reads a pipeline spec from YAML or JSON (JSON is YAML). Decoding is strict: unknown keys,
// duplicate keys, wrong types and a missing or unsupported version are errors. Every problem found is
// returned at once, as Problems, each with its path and its line and column. Parse checks the
// document's shape only; Validate checks it against the registries.
func Parse(data []byte) (*Spec, error) {
	doc, err := DecodeDocument(data, MaxSpecSize, "a pipeline spec", "a pipeline spec starts with `version: 1`")
	if err != nil {
		return nil, err
	}
	spec := &Spec{pos: doc.pos}
	d := &decoder{c: collector{spec: spec}}
	d.spec(doc.Value, spec)
	if err := d.c.err(); err != nil {
		return nil, err
	}
	return spec, nil
}

// Document is one YAML or JSON document decoded into Go values (maps, lists, strings, numbers,
// booleans, nil), with where each path of it was written.
type Document struct {
	Value any
	pos   map[string]Position
}

// PositionOf returns where the value at path (a.b[2].c) was written, falling back to its closest
// written parent.
func (d *Document) PositionOf(path string) (Position, bool) {
	return positionOf(d.pos, path)
}

// DecodeDocument reads one YAML or JSON document of at most max bytes; what names it in messages
// ("a pipeline spec") and hint says what an empty one should start with. Duplicate keys and syntax
// errors are Problems with their line and column; a stream of several documents is refused.
func DecodeDocument(data []byte, max int, what, hint string) (*Document, error) {
	if len(data) > max {
		return nil, Problems{{Message: fmt.Sprintf("document is %d bytes; %s may be at most %d", len(data), what, max)}}
	}
	if strings.TrimSpace(string(data)) == "" {
		return nil, Problems{{Message: "empty document: " + hint}}
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Problems{yamlProblem(err)}
	}
	var body ast.Node
	docs := 0
	for _, d := range file.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if _, isComment := d.Body.(*ast.CommentGroupNode); isComment {
			continue
		}
		docs++
		if body == nil {
			body = d.Body
		}
	}
	switch {
	case docs == 0:
		return nil, Problems{{Message: "empty document: " + hint}}
	case docs > 1:
		return nil, Problems{{Message: fmt.Sprintf("%d YAML documents in one file; a file holds %s", docs, what)}}
	}
	var raw any
	if err := yaml.NodeToValue(body, &raw); err != nil {
		return nil, Problems{yamlProblem(err)}
	}
	doc := &Document{Value: raw, pos: map[string]Position{}}
	walkPositions(body, "", doc.pos, 0)
	return doc, nil
}

// ParseValue reads a spec already decoded from JSON into Go values (the API's request bodies), with
// the same strict checks as Parse but without line numbers.
func ParseValue(raw map[string]any) (*Spec, error) {
	spec := &Spec{}
	d := &decoder{c: collector{spec: spec}}
	d.spec(raw, spec)
	if err := d.c.err(); err != nil {
		return nil, err
	}
	return spec, nil
}

func yamlProblem(err error) Problem {
	var ye yaml.Error
	if errors.As(err, &ye) {
		p := Problem{Message: "not valid YAML or JSON: " + ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Column = tk.Position.Line, tk.Position.Column
		}
		return p
	}
	return Problem{Message: "not valid YAML or JSON: " + err.Error()}
}

// walkPositions records where each path's value starts.
func walkPositions(n ast.Node, path string, pos map[string]Position, depth int) {
	if n == nil || depth > 64 {
		return
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		if _, seen := pos[path]; !seen {
			pos[path] = Position{Line: tk.Position.Line, Column: tk.Position.Column}
		}
	}
	switch t := n.(type) {
	case *ast.DocumentNode:
		walkPositions(t.Body, path, pos, depth+1)
	case *ast.TagNode:
		walkPositions(t.Value, path, pos, depth+1)
	case *ast.AnchorNode:
		walkPositions(t.Value, path, pos, depth+1)
	case *ast.MappingNode:
		for _, mv := range t.Values {
			walkPair(mv, path, pos, depth)
		}
	case *ast.MappingValueNode:
		walkPair(t, path, pos, depth)
	case *ast.SequenceNode:
		for i, v := range t.Values {
			walkPositions(v, fmt.Sprintf("%s[%d]", path, i), pos, depth+1)
		}
	}
}

func walkPair(mv *ast.MappingValueNode, path string, pos map[string]Position, depth int) {
	if mv == nil || mv.Key == nil {
		return
	}
	key := mv.Key.String()
	if s, ok := mv.Key.(*ast.StringNode); ok {
		key = s.Value
	}
	child := joinKey(path, key)
	// A key's problems (unknown field) point at the key itself.
	if tk := mv.Key.GetToken(); tk != nil && tk.Position != nil {
		pos[child] = Position{Line: tk.Position.Line, Column: tk.Position.Column}
	}
	walkPositions(mv.Value, child, pos, depth+1)
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// decoder turns the generic document into a Spec, strictly, collecting every problem.
type decoder struct {
	c collector
}

// object checks that v is a mapping with only the allowed keys and returns it.
func (d *decoder) object(v any, path string, allowed ...string) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		d.c.add(path, "must be a mapping (key: value), got %s", describe(v))
		return nil, false
	}
	var unknown []string
	for k := range m {
		if !contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		d.c.add(joinKey(path, k), "unknown field %q (allowed: %s)", k, strings.Join(allowed, ", "))
	}
	return m, true
}

func (d *decoder) str(m map[string]any, key, path string) string {
	v, ok := m[key]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.c.add(joinKey(path, key), "must be a string, got %s", describe(v))
		return ""
	}
	return s
}

func (d *decoder) strList(m map[string]any, key, path string) []string {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	p := joinKey(path, key)
	if s, ok := v.(string); ok { // inputs: orders is a list of one
		return []string{s}
	}
	l, ok := v.([]any)
	if !ok {
		d.c.add(p, "must be a list of strings, got %s", describe(v))
		return nil
	}
	out := make([]string, 0, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			d.c.add(fmt.Sprintf("%s[%d]", p, i), "must be a string, got %s", describe(e))
			continue
		}
		out = append(out, s)
	}
	return out
}

func (d *decoder) config(m map[string]any, key, path string) map[string]any {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	c, ok := v.(map[string]any)
	if !ok {
		d.c.add(joinKey(path, key), "must be a mapping, got %s", describe(v))
		return nil
	}
	return c
}

func (d *decoder) list(m map[string]any, key, path string) []any {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		d.c.add(joinKey(path, key), "must be a list, got %s", describe(v))
		return nil
	}
	return l
}

func (d *decoder) spec(v any, s *Spec) {
	m, ok := d.object(v, "", "version", "name", "description", "sources", "transforms", "destinations", "schedule", "error_policy", "policy", "triggers", "parallelism", "resources")
	if !ok {
		return
	}
	switch ver, has := m["version"]; {
	case !has || ver == nil:
		d.c.add("version", "required: write `version: %d` at the top", Version)
	default:
		n, ok := wholeNumber(ver)
		if !ok || n != Version {
			d.c.add("version", "unsupported version %v (this release reads version %d)", ver, Version)
		}
		s.Version = int(n)
	}
	s.Name = d.str(m, "name", "")
	s.Description = d.str(m, "description", "")
	for i, e := range d.list(m, "sources", "") {
		p := fmt.Sprintf("sources[%d]", i)
		sm, ok := d.object(e, p, "id", "type", "connector", "config", "stream", "sync", "types")
		if !ok {
			s.Sources = append(s.Sources, Source{})
			continue
		}
		if _, has := sm["inputs"]; has { // say why, instead of the generic unknown-field message
			for j := range d.c.probs {
				if d.c.probs[j].Path == p+".inputs" {
					d.c.probs[j].Message = "a source has no inputs; it reads from its connector"
				}
			}
		}
		src := Source{
			ID: d.str(sm, "id", p), Type: d.str(sm, "type", p), Connector: d.str(sm, "connector", p),
			Config: d.config(sm, "config", p), Stream: d.str(sm, "stream", p),
		}
		if sv, has := sm["sync"]; has && sv != nil {
			if sy, ok := d.object(sv, p+".sync", "mode", "cursor_field"); ok {
				src.Sync.Mode = connector.SyncMode(d.str(sy, "mode", p+".sync"))
				src.Sync.CursorField = d.str(sy, "cursor_field", p+".sync")
			}
		}
		if tv, has := sm["types"]; has && tv != nil {
			if tm, ok := tv.(map[string]any); ok {
				src.Types = make(map[string]string, len(tm))
				for k := range tm {
					src.Types[k] = d.str(tm, k, p+".types")
				}
			} else {
				d.c.add(p+".types", "must be a mapping of field name to type, got %s", describe(tv))
			}
		}
		s.Sources = append(s.Sources, src)
	}
	for i, e := range d.list(m, "transforms", "") {
		p := fmt.Sprintf("transforms[%d]", i)
		tm, ok := d.object(e, p, "id", "type", "transformation", "inputs", "config")
		if !ok {
			s.Transforms = append(s.Transforms, Transform{})
			continue
		}
		s.Transforms = append(s.Transforms, Transform{
			ID: d.str(tm, "id", p), Type: d.str(tm, "type", p), Transformation: d.str(tm, "transformation", p),
			Inputs: d.strList(tm, "inputs", p), Config: d.config(tm, "config", p),
		})
	}
	for i, e := range d.list(m, "destinations", "") {
		p := fmt.Sprintf("destinations[%d]", i)
		dm, ok := d.object(e, p, "id", "type", "connector", "inputs", "config", "stream", "write")
		if !ok {
			s.Destinations = append(s.Destinations, Destination{})
			continue
		}
		dst := Destination{
			ID: d.str(dm, "id", p), Type: d.str(dm, "type", p), Connector: d.str(dm, "connector", p),
			Inputs: d.strList(dm, "inputs", p), Config: d.config(dm, "config", p), Stream: d.str(dm, "stream", p),
		}
		if wv, has := dm["write"]; has && wv != nil {
			if wm, ok := d.object(wv, p+".write", "mode", "key", "schema_changes"); ok {
				dst.Write.Mode = connector.WriteMode(d.str(wm, "mode", p+".write"))
				dst.Write.Key = d.strList(wm, "key", p+".write")
				dst.Write.SchemaChanges = schemachange.Policy(d.str(wm, "schema_changes", p+".write"))
			}
		}
		s.Destinations = append(s.Destinations, dst)
	}
	if sv, has := m["schedule"]; has && sv != nil {
		if sm, ok := d.object(sv, "schedule", "cron", "timezone", "misfire"); ok {
			s.Schedule = &Schedule{Cron: d.str(sm, "cron", "schedule"), Timezone: d.str(sm, "timezone", "schedule"),
				Misfire: Misfire(d.str(sm, "misfire", "schedule"))}
		}
	}
	d.policy(m, s)
	d.triggers(m, s)
	if pv, has := m["parallelism"]; has && pv != nil {
		n, ok := wholeNumber(pv)
		switch {
		case !ok:
			d.c.add("parallelism", "must be a whole number from 1 to %d, got %s", MaxParallelism, describe(pv))
		case n < 1 || n > MaxParallelism:
			d.c.add("parallelism", "must be from 1 to %d, got %d", MaxParallelism, n)
		default:
			s.Parallelism = int(n)
		}
	}
	if rv, has := m["resources"]; has && rv != nil {
		if rm, ok := d.object(rv, "resources", "memory_mb"); ok {
			if mv, has := rm["memory_mb"]; has && mv != nil {
				n, ok := wholeNumber(mv)
				switch {
				case !ok:
					d.c.add("resources.memory_mb", "must be a whole number of MiB from %d to %d, got %s", MinMemoryMB, MaxMemoryMB, describe(mv))
				case n < MinMemoryMB || n > MaxMemoryMB:
					d.c.add("resources.memory_mb", "must be from %d to %d MiB, got %d", MinMemoryMB, MaxMemoryMB, n)
				default:
					s.Resources = &Resources{MemoryMB: n}
				}
			}
		}
	}
	if ev, has := m["error_policy"]; has && ev != nil {
		if em, ok := d.object(ev, "error_policy", "on_reject", "max_reject_ratio"); ok {
			s.ErrorPolicy.OnReject = OnReject(d.str(em, "on_reject", "error_policy"))
			if rv, has := em["max_reject_ratio"]; has && rv != nil {
				f, ok := configspec.AsNumber(rv)
				if !ok {
					d.c.add("error_policy.max_reject_ratio", "must be a number between 0 and 1, got %s", describe(rv))
				} else {
					s.ErrorPolicy.MaxRejectRatio = &f
				}
			}
		}
	}
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

func wholeNumber(v any) (int64, bool) {
	f, ok := configspec.AsNumber(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "nothing (null)"
	case string:
		return "the string " + strconv.Quote(t)
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	if _, ok := configspec.AsNumber(v); ok {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
