package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/schemachange"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// Saved is a saved connector or transformation: a type and its config.
type Saved struct {
	Type   string
	Config map[string]any
	// SaveCredentials persists credentials a connector refreshed (a rotated OAuth refresh token)
	// into the saved connector, by the secret field's dotted path; nil when it cannot be done.
	SaveCredentials func(ctx context.Context, fields map[string]string) error
}

// Resolver finds saved connectors and transformations by name. The server provides one backed by
// its store; the CLI has none.
type Resolver interface {
	Connector(ctx context.Context, name string) (Saved, error)
	Transformation(ctx context.Context, name string) (Saved, error)
}

// Env is what validation checks a spec against.
type Env struct {
	Connectors *connector.Registry
	Transforms *transform.Registry
	// Resolver resolves `connector:` and `transformation:` references; nil means there are no saved
	// ones (the CLI), and such references are problems that say so.
	Resolver Resolver
}

// NodeKind says what a plan node is.
type NodeKind string

// Node kinds.
const (
	KindSource      NodeKind = "source"
	KindTransform   NodeKind = "transform"
	KindDestination NodeKind = "destination"
)

// Node is one resolved node of a plan.
type Node struct {
	ID   string
	Kind NodeKind
	// Path is where the node is in the spec: "sources[0]", "transforms[2]".
	Path string
	// Type is the connector or transformation type after resolving saved references; Config its
	// config (a saved connector's config when the spec named one).
	Type   string
	Config map[string]any
	Inputs []*Node
	// Outputs are the nodes reading this one, in spec order.
	Outputs []*Node

	// Sources and destinations.
	ConnectorSpec connector.Spec
	Source        connector.Source
	Destination   connector.Destination
	Stream        string
	Sync          Sync
	Overrides     map[string]record.Kind
	Write         Write
	// SaveCredentials is the saved connector's credential hook (Saved.SaveCredentials) when the
	// node names one; the engine gives it to the connector as connector.Env.SaveCredentials.
	SaveCredentials func(ctx context.Context, fields map[string]string) error

	// Transforms. Definition.New builds a fresh node for each run.
	Definition transform.Definition
}

// Plan is a validated pipeline ready to run: nodes in topological order (every node after its inputs).
type Plan struct {
	Spec         *Spec
	Nodes        []*Node
	Sources      []*Node
	Transforms   []*Node
	Destinations []*Node
	// Schedule is the parsed cron expression and its location; nil when the spec has none.
	Schedule *Cron
	Location *time.Location
	byID     map[string]*Node
}

// Node returns the node with the id, or nil.
func (p *Plan) Node(id string) *Node { return p.byID[id] }

// OnReject is the spec's reject policy with its default (dead_letter) applied.
func (p *Plan) OnReject() OnReject {
	if p.Spec.ErrorPolicy.OnReject == "" {
		return DeadLetter
	}
	return p.Spec.ErrorPolicy.OnReject
}

// Validate checks the spec against env and returns its plan, or every problem found (as Problems),
// each with its path: shape, ids, types, connector and transformation configs (transforms are built,
// which compiles their expressions), inputs, cycles, write and sync modes, schedule and error policy.
func Validate(ctx context.Context, s *Spec, env Env) (*Plan, error) {
	v := &validator{c: collector{spec: s}, env: env, ctx: ctx, plan: &Plan{Spec: s, byID: map[string]*Node{}}}
	v.run()
	if err := v.c.err(); err != nil {
		return nil, err
	}
	return v.plan, nil
}

type validator struct {
	c    collector
	env  Env
	ctx  context.Context
	plan *Plan
	// inputs by node id, as written, with the path of each list
	inputs map[string][]string
}

func (v *validator) run() {
	s := v.plan.Spec
	if s.Version != Version {
		if s.Version == 0 {
			v.c.add("version", "required: write `version: %d` at the top", Version)
		} else {
			v.c.add("version", "unsupported version %d (this release reads version %d)", s.Version, Version)
		}
	}
	if s.Name == "" {
		v.c.add("name", "required: a name for the pipeline (letters, digits, _ . -)")
	} else if !idPattern.MatchString(s.Name) {
		v.c.add("name", "%q: use letters, digits, _ . and - (at most 128, starting with a letter or digit)", s.Name)
	}
	if len(s.Sources) == 0 {
		v.c.add("sources", "required: at least one source")
	}
	if len(s.Destinations) == 0 {
		v.c.add("destinations", "required: at least one destination")
	}
	v.inputs = map[string][]string{}
	seen := map[string]string{}
	id := func(path, id string) bool {
		switch {
		case id == "":
			v.c.add(path+".id", "required")
			return false
		case !idPattern.MatchString(id):
			v.c.add(path+".id", "%q: use letters, digits, _ . and - (starting with a letter or digit)", id)
			return false
		}
		if prev, dup := seen[id]; dup {
			v.c.add(path+".id", "duplicate id %q (also %s)", id, prev)
			return false
		}
		seen[id] = path
		return true
	}
	for i := range s.Sources {
		path := fmt.Sprintf("sources[%d]", i)
		n := v.source(path, &s.Sources[i])
		if id(path, s.Sources[i].ID) {
			v.add(n)
		}
		v.plan.Sources = append(v.plan.Sources, n)
	}
	for i := range s.Transforms {
		path := fmt.Sprintf("transforms[%d]", i)
		n := v.transform(path, &s.Transforms[i])
		if id(path, s.Transforms[i].ID) {
			v.add(n)
			v.inputs[n.ID] = s.Transforms[i].Inputs
		}
		v.plan.Transforms = append(v.plan.Transforms, n)
	}
	for i := range s.Destinations {
		path := fmt.Sprintf("destinations[%d]", i)
		n := v.destination(path, &s.Destinations[i])
		if id(path, s.Destinations[i].ID) {
			v.add(n)
			v.inputs[n.ID] = s.Destinations[i].Inputs
		}
		v.plan.Destinations = append(v.plan.Destinations, n)
	}
	v.wire()
	v.schedule()
	v.errorPolicy()
	v.policy()
	v.partition()
	v.deployment()
}

func (v *validator) add(n *Node) { v.plan.byID[n.ID] = n }

// resolveConnector returns the type and config of a source or destination.
func (v *validator) resolveConnector(n *Node, path, typ, saved string, config map[string]any) (string, map[string]any, bool) {
	switch {
	case typ != "" && saved != "":
		v.c.add(path, "set either type (with config) or connector (a saved connector), not both")
		return "", nil, false
	case saved != "":
		if v.env.Resolver == nil {
			v.c.add(path+".connector", "saved connector %q cannot be used here: saved connectors live on the server (aggregator serve); without a server write type and config instead", saved)
			return "", nil, false
		}
		sv, err := v.env.Resolver.Connector(v.ctx, saved)
		if err != nil {
			v.c.add(path+".connector", "saved connector %q: %v", saved, err)
			return "", nil, false
		}
		n.SaveCredentials = sv.SaveCredentials
		return sv.Type, sv.Config, true
	case typ == "":
		v.c.add(path+".type", "required: a connector type (known: %s), or connector: <saved connector name>", strings.Join(v.env.Connectors.Names(), ", "))
		return "", nil, false
	}
	return typ, config, true
}

func (v *validator) source(path string, s *Source) *Node {
	n := &Node{ID: s.ID, Kind: KindSource, Path: path, Stream: s.Stream, Sync: s.Sync}
	if n.Sync.Mode == "" {
		n.Sync.Mode = connector.FullRefresh
	}
	typ, config, ok := v.resolveConnector(n, path, s.Type, s.Connector, s.Config)
	if ok {
		n.Type, n.Config = typ, config
		src, spec, err := v.env.Connectors.Source(typ)
		if err != nil {
			v.c.add(path+".type", "%v", err)
		} else {
			n.Source, n.ConnectorSpec = src, spec
			if s.Connector != "" {
				n.Config = v.withSettings(path, spec, config, s.Config)
			}
			v.connectorConfig(path, s.Connector != "", spec, n.Config, s.Config)
		}
	}
	switch n.Sync.Mode {
	case connector.FullRefresh:
		if s.Sync.CursorField != "" {
			v.c.add(path+".sync.cursor_field", "only used with mode: incremental")
		}
	case connector.Incremental:
		if s.Sync.CursorField == "" {
			v.c.add(path+".sync.cursor_field", "required with mode: incremental (the field that orders new rows, e.g. updated_at)")
		}
		if n.Source != nil && !n.ConnectorSpec.Incremental {
			v.c.add(path+".sync.mode", "connector type %q cannot read incrementally; use full_refresh", n.Type)
		}
	default:
		v.c.add(path+".sync.mode", "must be full_refresh or incremental, got %q", s.Sync.Mode)
	}
	if len(s.Types) > 0 {
		n.Overrides = make(map[string]record.Kind, len(s.Types))
		for _, f := range sortedKeys(s.Types) {
			k, err := record.ParseKind(s.Types[f])
			if err != nil {
				v.c.add(path+".types."+f, "%v", err)
				continue
			}
			n.Overrides[f] = k
		}
	}
	return n
}

// withSettings lays the settings a pipeline writes beside `connector:` over the saved connector's
// config. Only the parameters the connector type marks PerPipeline (what to read or write, and how:
// table, query, schema, partition...) may be set there; a connection setting or a secret is
// refused, so a pipeline cannot send a saved connector's credentials to another address.
func (v *validator) withSettings(path string, spec connector.Spec, saved, settings map[string]any) map[string]any {
	if len(settings) == 0 {
		return saved
	}
	allowed := spec.Config.PerPipelineNames()
	merged := make(map[string]any, len(saved)+len(settings))
	for k, val := range saved {
		merged[k] = val
	}
	for _, k := range sortedKeys(settings) {
		if !contains(allowed, k) {
			if len(allowed) == 0 {
				v.c.add(path+".config."+k, "connector type %q takes no settings beside a saved connector: its config is the saved connector's", spec.Name)
			} else {
				v.c.add(path+".config."+k, "%q cannot be set beside a saved connector: it is a connection setting or a secret, kept in the saved connector (a pipeline may set %s)", k, strings.Join(allowed, ", "))
			}
			continue
		}
		merged[k] = settings[k]
	}
	return merged
}

// connectorConfig validates a source's or destination's config. With a saved connector, a problem
// of a setting the pipeline wrote beside it (settings) is reported at that setting, any other at the
// connector.
func (v *validator) connectorConfig(path string, saved bool, spec connector.Spec, config, settings map[string]any) {
	if config == nil {
		config = map[string]any{}
	}
	errs := spec.Config.Validate(config)
	if len(errs) == 0 {
		return
	}
	if saved {
		for _, e := range errs {
			if _, ok := settings[strings.SplitN(strings.SplitN(e.Path, ".", 2)[0], "[", 2)[0]]; ok {
				v.c.add(path+".config."+e.Path, "%s", e.Message)
				continue
			}
			v.c.add(path+".connector", "saved connector config: %s", e.Error())
		}
		return
	}
	for _, e := range errs.Prefix(path + ".config") {
		v.c.add(e.Path, "%s", e.Message)
	}
}

func (v *validator) transform(path string, t *Transform) *Node {
	n := &Node{ID: t.ID, Kind: KindTransform, Path: path, Type: t.Type, Config: t.Config}
	switch {
	case t.Type != "" && t.Transformation != "":
		v.c.add(path, "set either type (with config) or transformation (a saved transformation), not both")
		return n
	case t.Transformation != "":
		if t.Config != nil {
			v.c.add(path+".config", "a saved transformation brings its own config; remove config or use type instead")
		}
		if v.env.Resolver == nil {
			v.c.add(path+".transformation", "saved transformation %q cannot be used here: saved transformations live on the server (aggregator serve); without a server write type and config instead", t.Transformation)
			return n
		}
		sv, err := v.env.Resolver.Transformation(v.ctx, t.Transformation)
		if err != nil {
			v.c.add(path+".transformation", "saved transformation %q: %v", t.Transformation, err)
			return n
		}
		n.Type, n.Config = sv.Type, sv.Config
	case t.Type == "":
		v.c.add(path+".type", "required: a transformation type (known: %s), or transformation: <saved name>", strings.Join(v.env.Transforms.Names(), ", "))
		return n
	}
	def, err := v.env.Transforms.Get(n.Type)
	if err != nil && t.Transformation == "" && v.env.Resolver != nil {
		// `type: <name>` may also name a saved transformation.
		if sv, rerr := v.env.Resolver.Transformation(v.ctx, n.Type); rerr == nil {
			if t.Config != nil {
				v.c.add(path+".config", "%q is a saved transformation, which brings its own config; remove config", n.Type)
			}
			n.Type, n.Config = sv.Type, sv.Config
			def, err = v.env.Transforms.Get(n.Type)
		}
	}
	if err != nil {
		v.c.add(path+".type", "%v", err)
		return n
	}
	n.Definition = def
	config := n.Config
	if config == nil {
		config = map[string]any{}
	}
	if _, err := def.New(config); err != nil {
		where := path + ".config"
		if t.Transformation != "" {
			where = path + ".transformation"
		}
		v.c.addErr(where, err)
	}
	if len(t.Inputs) < def.Spec.MinInputs {
		v.c.add(path+".inputs", "%s needs at least %d input(s), got %d", n.Type, max(def.Spec.MinInputs, 1), len(t.Inputs))
	} else if len(t.Inputs) == 0 {
		v.c.add(path+".inputs", "required: the ids of the nodes this one reads")
	}
	if def.Spec.MaxInputs > 0 && len(t.Inputs) > def.Spec.MaxInputs {
		v.c.add(path+".inputs", "%s takes at most %d input(s), got %d", n.Type, def.Spec.MaxInputs, len(t.Inputs))
	}
	return n
}

func (v *validator) destination(path string, d *Destination) *Node {
	n := &Node{ID: d.ID, Kind: KindDestination, Path: path, Stream: d.Stream, Write: d.Write}
	if n.Write.Mode == "" {
		n.Write.Mode = connector.Append
	}
	typ, config, ok := v.resolveConnector(n, path, d.Type, d.Connector, d.Config)
	if ok {
		n.Type, n.Config = typ, config
		dst, spec, err := v.env.Connectors.Destination(typ)
		if err != nil {
			v.c.add(path+".type", "%v", err)
		} else {
			n.Destination, n.ConnectorSpec = dst, spec
			if d.Connector != "" {
				n.Config = v.withSettings(path, spec, config, d.Config)
			}
			v.connectorConfig(path, d.Connector != "", spec, n.Config, d.Config)
		}
	}
	switch n.Write.Mode {
	case connector.Append, connector.Overwrite, connector.Upsert:
		if n.Destination != nil && len(n.ConnectorSpec.WriteModes) > 0 && !containsMode(n.ConnectorSpec.WriteModes, n.Write.Mode) {
			v.c.add(path+".write.mode", "connector type %q does not support %s (supported: %s)", n.Type, n.Write.Mode, joinModes(n.ConnectorSpec.WriteModes))
		}
	default:
		v.c.add(path+".write.mode", "must be append, overwrite or upsert, got %q", d.Write.Mode)
	}
	if n.Write.Mode == connector.Upsert && len(d.Write.Key) == 0 {
		v.c.add(path+".write.key", "required with mode: upsert (the fields that identify a row, e.g. [id])")
	}
	for i, k := range d.Write.Key {
		if strings.TrimSpace(k) == "" {
			v.c.add(fmt.Sprintf("%s.write.key[%d]", path, i), "empty field name")
		}
	}
	switch p := d.Write.SchemaChanges; {
	case !p.Valid():
		v.c.add(path+".write.schema_changes", "must be evolve, fail, quarantine or review, got %q", p)
	case p.OrDefault() != schemachange.Evolve && n.Destination != nil:
		if _, ok := n.Destination.(connector.TargetInspector); !ok {
			v.c.add(path+".write.schema_changes", "connector type %q does not support schema-change policies (only evolve); they need a destination that describes its table (postgres, mysql)", n.Type)
		}
	}
	if len(d.Inputs) == 0 {
		v.c.add(path+".inputs", "required: the ids of the nodes whose records this destination writes")
	}
	return n
}

func containsMode(ms []connector.WriteMode, m connector.WriteMode) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

func joinModes(ms []connector.WriteMode) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// wire links inputs, finds cycles and unused nodes, and orders the plan.
func (v *validator) wire() {
	p := v.plan
	all := append(append(append([]*Node{}, p.Sources...), p.Transforms...), p.Destinations...)
	for _, n := range all {
		if n.ID == "" || p.byID[n.ID] != n {
			continue
		}
		seen := map[string]bool{}
		for i, in := range v.inputs[n.ID] {
			ipath := fmt.Sprintf("%s.inputs[%d]", n.Path, i)
			src := p.byID[in]
			switch {
			case in == n.ID:
				v.c.add(ipath, "%q reads itself", in)
			case src == nil:
				v.c.add(ipath, "unknown input %q (ids are: %s)", in, strings.Join(knownIDs(p.byID), ", "))
			case src.Kind == KindDestination:
				v.c.add(ipath, "%q is a destination; destinations have no output", in)
			case seen[in]:
				v.c.add(ipath, "input %q listed twice", in)
			default:
				seen[in] = true
				n.Inputs = append(n.Inputs, src)
				src.Outputs = append(src.Outputs, n)
			}
		}
	}
	// Kahn's algorithm; what is left sits on a cycle.
	indeg := map[*Node]int{}
	var order, queue []*Node
	for _, n := range all {
		if n.ID == "" || p.byID[n.ID] != n {
			continue
		}
		indeg[n] = len(n.Inputs)
		if len(n.Inputs) == 0 {
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		order = append(order, n)
		for _, o := range n.Outputs {
			indeg[o]--
			if indeg[o] == 0 {
				queue = append(queue, o)
			}
		}
	}
	if len(order) < len(indeg) {
		rank := map[*Node]int{}
		for i, n := range all {
			rank[n] = i
		}
		reported := map[*Node]bool{}
		for _, n := range all {
			if indeg[n] == 0 || reported[n] {
				continue
			}
			cycle := findCycle(n, indeg)
			if cycle == nil || reported[cycle[0]] {
				continue
			}
			first := 0 // start the cycle at the node written first, so the message is stable
			for i, c := range cycle {
				if rank[c] < rank[cycle[first]] {
					first = i
				}
			}
			cycle = append(cycle[first:], cycle[:first]...)
			names := make([]string, 0, len(cycle)+1)
			for _, c := range cycle {
				names = append(names, c.ID)
				reported[c] = true
			}
			names = append(names, cycle[0].ID)
			v.c.add(cycle[0].Path+".inputs", "cycle: %s", strings.Join(names, " -> "))
		}
	}
	for _, n := range all {
		if n.ID == "" || p.byID[n.ID] != n || n.Kind == KindDestination || len(n.Outputs) > 0 {
			continue
		}
		v.c.add(n.Path, "%q is not used: no transform or destination lists it in inputs", n.ID)
	}
	p.Nodes = order
}

// findCycle follows inputs from start among nodes left on cycles and returns one cycle in data-flow order.
func findCycle(start *Node, indeg map[*Node]int) []*Node {
	onPath := map[*Node]int{}
	var path []*Node
	n := start
	for n != nil {
		if i, ok := onPath[n]; ok {
			cyc := path[i:]
			// reverse: path follows inputs (upstream); report downstream order
			out := make([]*Node, len(cyc))
			for j := range cyc {
				out[j] = cyc[len(cyc)-1-j]
			}
			return out
		}
		onPath[n] = len(path)
		path = append(path, n)
		var next *Node
		for _, in := range n.Inputs {
			if indeg[in] > 0 {
				next = in
				break
			}
		}
		n = next
	}
	return nil
}

func knownIDs(m map[string]*Node) []string {
	out := make([]string, 0, len(m))
	for id, n := range m {
		if n.Kind != KindDestination {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (v *validator) schedule() {
	s := v.plan.Spec.Schedule
	if s == nil {
		return
	}
	if strings.TrimSpace(s.Cron) == "" {
		v.c.add("schedule.cron", "required: a cron expression such as \"0 * * * *\" or @daily")
	} else if c, err := ParseCron(s.Cron); err != nil {
		v.c.add("schedule.cron", "%v", err)
	} else {
		v.plan.Schedule = c
	}
	switch s.Misfire {
	case "", MisfireSkip, MisfireRunOnce:
	default:
		v.c.add("schedule.misfire", "must be skip or run_once, got %q", s.Misfire)
	}
	loc, err := LoadTimezone(s.Timezone)
	if err != nil {
		v.c.add("schedule.timezone", "%v", err)
		return
	}
	v.plan.Location = loc
}

func (v *validator) errorPolicy() {
	ep := v.plan.Spec.ErrorPolicy
	switch ep.OnReject {
	case "", DeadLetter, Drop, Fail:
	default:
		v.c.add("error_policy.on_reject", "must be dead_letter, drop or fail, got %q", ep.OnReject)
	}
	if r := ep.MaxRejectRatio; r != nil && (*r < 0 || *r > 1 || *r != *r) {
		v.c.add("error_policy.max_reject_ratio", "must be between 0 and 1 (a share of rows read), got %v", *r)
	}
}
